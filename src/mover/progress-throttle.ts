// An engine may report progress many times a second; the mover prints at most
// one progress line per interval, and the last one it held back once the
// engine's command is done, so the log ends on the true final count.
import type { MoverProgress } from '../api/index.ts';
import type { ProgressReporter } from './engine.ts';

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

/** A ProgressReporter that prints through a throttle of `intervalMs`, and what it held back when done. */
export function throttledProgress(
  intervalMs: number,
  nowMs: () => number,
  print: (progress: MoverProgress) => void,
): ProgressReporter {
  const throttle = progressThrottle(intervalMs);
  return {
    report(progress) {
      const shown = throttle.offer(progress, nowMs());
      if (shown !== undefined) print(shown);
    },
    done() {
      const last = throttle.flush();
      if (last !== undefined) print(last);
    },
  };
}
