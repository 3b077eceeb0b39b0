// Every loop that follows an object until it ends (--wait, and ls and dump
// waiting for their download) has a deadline: past it the CLI stops and says
// which object it gave up on and how far it got, instead of polling forever.
import { InvalidArgumentError, Option } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { duration, durationMs } from '../api/index.ts';

/** --timeout <duration>, as milliseconds; a malformed one is refused naming the option. */
export function timeoutOption(description: string, defaultText: string): Option {
  return new Option('--timeout <duration>', `${description} (e.g. 90s, 30m, 2h)`)
    .default(durationMs(defaultText), defaultText)
    .argParser((text) => {
      if (!duration.safeParse(text).success || durationMs(text) === 0)
        throw new InvalidArgumentError(`"${text}" is not a duration such as 90s, 30m or 2h`);
      return durationMs(text);
    });
}

export class WaitTimedOut extends Error {
  override name = 'WaitTimedOut';
}

export interface WaitPlan<T> {
  /** The object, as people name it: "VolumeBackup team/data-manual-x7k2p". */
  what: string;
  timeoutMs: number;
  intervalMs: number;
  nowMs: () => number;
  get: () => Promise<T>;
  done: (current: T) => boolean;
  /** Where it stands, for the timeout error: "Running: the mover is copying the volume". */
  describe: (current: T) => string;
  onUpdate?: (current: T) => void;
}

/** The object once `done` says so; a WaitTimedOut naming it and its state when the timeout passes first. */
export async function waitFor<T>(plan: WaitPlan<T>): Promise<T> {
  const deadline = plan.nowMs() + plan.timeoutMs;
  for (;;) {
    const current = await plan.get();
    plan.onUpdate?.(current);
    if (plan.done(current)) return current;
    const left = deadline - plan.nowMs();
    if (left <= 0)
      throw new WaitTimedOut(
        `gave up waiting for ${plan.what} after ${formatMs(plan.timeoutMs)} (--timeout): it is ${plan.describe(current)}`,
      );
    await sleep(Math.min(plan.intervalMs, left));
  }
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
