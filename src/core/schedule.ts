// When a protected volume's next run is due: the policy's cron in its time
// zone, plus a stable per-volume offset inside the spread window, so a
// thousand volumes on one policy do not start in the same second and a
// volume keeps its slot across restarts. `now` is always passed in.
import { Cron } from 'croner';
import { createHash } from 'node:crypto';
import { durationMs, type BackupPolicySpec } from '../api/index.ts';

export type ScheduleCheck = { ok: true } | { ok: false; field: string; error: string };

type Schedule = BackupPolicySpec['schedule'];

/** What the API server's pattern cannot see: real ranges, day/month names, and that the zone exists. */
export function checkSchedule(schedule: Schedule): ScheduleCheck {
  try {
    new Intl.DateTimeFormat('en', { timeZone: schedule.timeZone });
  } catch {
    return { ok: false, field: 'spec.schedule.timeZone', error: `unknown time zone "${schedule.timeZone}"` };
  }
  try {
    cron(schedule);
  } catch (error) {
    return {
      ok: false,
      field: 'spec.schedule.cron',
      error: `"${schedule.cron}": ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return { ok: true };
}

/** A stable offset in [0, window) for one volume: the same key always lands in the same slot. */
export function spreadOffsetMs(volumeKey: string, windowMs: number): number {
  if (windowMs <= 0) return 0;
  const digest = createHash('sha256').update(volumeKey).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(windowMs));
}

/** The first run strictly after `after`: a cron time plus the volume's offset. */
export function nextRun(schedule: Schedule, volumeKey: string, after: Date): Date | undefined {
  const at = after.getTime();
  const key = `${schedule.cron}\0${schedule.timeZone}\0${schedule.spreadWindow}\0${volumeKey}`;
  // The run after `from` is also the run after any time from `from` until it: asked again each
  // pass for 10,000 volumes, the answer is read, not worked out again.
  const known = answers.get(key);
  if (known !== undefined && known.from <= at && (known.next === undefined || at < known.next))
    return known.next === undefined ? undefined : new Date(known.next);
  const next = workOutNextRun(schedule, volumeKey, at);
  if (answers.size >= maxRemembered) answers.clear();
  // The same answer from an earlier time (the scheduler asks from the last slot, coverage from now): one wider span.
  const from = known !== undefined && known.next === next ? Math.min(known.from, at) : at;
  answers.set(key, { from, next });
  return next === undefined ? undefined : new Date(next);
}

/** nextRun without its memory: exported for the test that proves the memory changes no answer. */
export function workOutNextRun(schedule: Schedule, volumeKey: string, at: number): number | undefined {
  const offset = spreadOffsetMs(volumeKey, durationMs(schedule.spreadWindow));
  // A cron time up to one offset before `after` may still have its run ahead.
  const times = cron(schedule);
  let base = times.nextRun(new Date(at - offset));
  while (base !== null && base.getTime() + offset <= at) base = times.nextRun(base);
  return base === null ? undefined : base.getTime() + offset;
}

/** Bounds what nextRun and cron remember; past it they start over. */
const maxRemembered = 100_000;
const answers = new Map<string, { from: number; next: number | undefined }>();
const crons = new Map<string, Cron>();

function cron(schedule: Schedule): Cron {
  const key = `${schedule.cron}\0${schedule.timeZone}`;
  let found = crons.get(key);
  if (found === undefined) {
    found = new Cron(schedule.cron, { timezone: schedule.timeZone, paused: true, legacyMode: true });
    if (crons.size >= maxRemembered) crons.clear();
    crons.set(key, found);
  }
  return found;
}
