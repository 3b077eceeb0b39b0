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
  const offset = spreadOffsetMs(volumeKey, durationMs(schedule.spreadWindow));
  // A cron time up to one offset before `after` may still have its run ahead.
  let base = cron(schedule).nextRun(new Date(after.getTime() - offset));
  while (base !== null && base.getTime() + offset <= after.getTime()) base = cron(schedule).nextRun(base);
  return base === null ? undefined : new Date(base.getTime() + offset);
}

function cron(schedule: Schedule): Cron {
  return new Cron(schedule.cron, { timezone: schedule.timeZone, paused: true, legacyMode: true });
}
