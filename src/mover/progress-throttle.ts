// restic may report progress many times a second; the mover prints at most one
// progress line per interval, and the last one it held back once restic is done,
// so the log ends on the true final count.
import type { MoverProgress } from '../api/index.ts';

export interface ProgressThrottle {
  /** The progress to print now, or undefined to hold it back. */
  offer(progress: MoverProgress, nowMs: number): MoverProgress | undefined;
  /** The last progress offered if it was held back. */
  flush(): MoverProgress | undefined;
}

export function progressThrottle(intervalMs: number): ProgressThrottle {
  let lastPrintedAt: number | undefined;
  let pending: MoverProgress | undefined;
  return {
    offer(progress, nowMs) {
      if (lastPrintedAt !== undefined && nowMs - lastPrintedAt < intervalMs) {
        pending = progress;
        return undefined;
      }
      lastPrintedAt = nowMs;
      pending = undefined;
      return progress;
    },
    flush() {
      const held = pending;
      pending = undefined;
      return held;
    },
  };
}
