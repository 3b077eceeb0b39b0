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

/** nextRun without its memory of answers. */
function workOutNextRun(schedule: Schedule, volumeKey: string, at: number): number | undefined {
  const offset = spreadOffsetMs(volumeKey, durationMs(schedule.spreadWindow));
  // A cron time up to one offset before `after` may still have its run ahead.
  const times = cron(schedule);
  let base = times.after(at - offset);
  while (base !== undefined && base + offset <= at) base = times.after(base);
  return base === undefined ? undefined : base + offset;
}

/**
 * A cron expression's times, a stretch of consecutive ones remembered: 10,000 volumes whose
 * offsets spread them over one window ask for the same few times, and croner is slow to ask.
 */
class CronTimes {
  readonly #cron: Cron;
  /** Every cron time in (#from, last of #times] is in #times, in order; #exhausted: none after them at all. */
  #from = Number.POSITIVE_INFINITY;
  #times: number[] = [];
  #exhausted = false;

  constructor(expression: Cron) {
    this.#cron = expression;
  }

  /** The first cron time strictly after `t`. */
  after(t: number): number | undefined {
    const last = this.#times.at(-1);
    const covered = t >= this.#from && ((last !== undefined && t < last) || this.#exhausted);
    if (!covered) this.#enumerate(t);
    let lo = 0;
    let hi = this.#times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#times[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return this.#times[lo];
  }

  #enumerate(t: number): void {
    this.#from = t;
    this.#times = [];
    let next = this.#cron.nextRun(new Date(t));
    while (next !== null && this.#times.length < remembered) {
      this.#times.push(next.getTime());
      next = this.#cron.nextRun(next);
    }
    this.#exhausted = next === null;
  }
}

/** Cron times remembered per expression. */
const remembered = 64;
/** Bounds what nextRun and cron remember; past it they start over. */
const maxRemembered = 100_000;
const answers = new Map<string, { from: number; next: number | undefined }>();
const crons = new Map<string, CronTimes>();

function cron(schedule: Schedule): CronTimes {
  const key = `${schedule.cron}\0${schedule.timeZone}`;
  let found = crons.get(key);
  if (found === undefined) {
    found = new CronTimes(new Cron(schedule.cron, { timezone: schedule.timeZone, paused: true, legacyMode: true }));
    if (crons.size >= maxRemembered) crons.clear();
    crons.set(key, found);
  }
  return found;
}
