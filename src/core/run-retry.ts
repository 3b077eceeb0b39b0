// One retry discipline for every kind of run: a failed or blocked attempt is
// retried on a growing, capped delay while the retry limit and the deadline
// allow; the run then fails, saying which of the two ended it. Every blocked
// check counts as an attempt, so a run waiting on something that never comes
// ends at its limit instead of at its deadline, and it is looked at once per
// delay, not once per event.
import { durationMs, retry as retrySchema } from '../api/index.ts';

const firstRetryMs = 30_000;
const maxRetryMs = 30 * 60_000;

/** The retry settings of a run without a policy: the policy schema's defaults. */
export const defaultRetry = retrySchema.parse({});

export interface RetrySettings {
  limit: number;
  deadline: string;
}

/** The delay before retrying after attempt `attempt` (1-based): 30 s, 60 s, 2 min, ... at most 30 min. */
export function retryDelayMs(attempt: number): number {
  return Math.min(firstRetryMs * 2 ** Math.max(0, attempt - 1), maxRetryMs);
}

/** When a run created at `created` must have ended, in ms since the epoch. */
export function runDeadline(created: string | undefined, settings: RetrySettings): number | undefined {
  if (created === undefined) return undefined;
  return Date.parse(created) + durationMs(settings.deadline);
}

export type RetryVerdict = { kind: 'retry'; at: Date; attempt: number } | { kind: 'fail'; message: string };

/**
 * After attempt number `attempt` went wrong with `message`: when to try again, or why not.
 * `limit` retries follow the first attempt; a retry that would start after the deadline is not made.
 */
export function retryOrGiveUp(input: {
  now: Date;
  attempt: number;
  settings: RetrySettings;
  deadline: number | undefined;
  message: string;
}): RetryVerdict {
  const { now, attempt, settings, deadline, message } = input;
  if (attempt > settings.limit)
    return { kind: 'fail', message: `${message} (gave up after ${attempt} attempts, retry.limit ${settings.limit})` };
  const at = new Date(now.getTime() + retryDelayMs(Math.max(1, attempt)));
  if (deadline !== undefined && at.getTime() > deadline)
    return { kind: 'fail', message: `${message} (no time left before the deadline ${settings.deadline} to retry)` };
  return { kind: 'retry', at, attempt };
}
