// What the shipped alerts need beyond each volume's decision, read from API
// objects so that a restarted operator exports the same series: how far apart
// a policy's runs are (so "stale" means runs missed, whatever the schedule),
// when a never-backed-up volume was created (its staleness counts from there),
// and whether a volume's most recent finished run failed, and why.
import type { BackupPolicy, BackupPolicySpec, VolumeBackup } from '../api/index.ts';
import type { CoverageRow } from './coverage.ts';
import { checkSchedule, nextRun } from './schedule.ts';

/** The runs looked at span at least this long, so a schedule that skips weekends is judged by its weekend gap. */
const horizonMs = 8 * 86_400_000;
/** A bound for schedules that run every minute: their gaps are alike anyway. */
const maxRuns = 1000;

/**
 * The longest gap between consecutive runs of the schedule over the next eight days (at least one
 * gap), in seconds; undefined when the schedule is invalid or runs at most once more.
 */
export function scheduleIntervalSeconds(schedule: BackupPolicySpec['schedule'], now: Date): number | undefined {
  if (!checkSchedule(schedule).ok) return undefined;
  // Every volume of a policy has its own constant offset; any one key gives the same gaps.
  let run = nextRun(schedule, '', now);
  let longest = 0;
  for (let i = 0; run !== undefined && i < maxRuns; i++) {
    const next = nextRun(schedule, '', run);
    if (next === undefined) break;
    longest = Math.max(longest, next.getTime() - run.getTime());
    if (next.getTime() - now.getTime() >= horizonMs) break;
    run = next;
  }
  return longest === 0 ? undefined : longest / 1000;
}

/** Each policy's schedule interval in seconds (policies with no usable schedule are left out). */
export function policyIntervals(policies: readonly BackupPolicy[], now: Date): Map<string, number> {
  return scheduleIntervals(
    policies.map((p) => ({ name: p.metadata.name, schedule: p.spec.schedule })),
    now,
  );
}

/** Each named schedule's interval in seconds (a policy's, or an application dump's); unusable ones are left out. */
export function scheduleIntervals(
  named: readonly { name: string; schedule: BackupPolicySpec['schedule'] }[],
  now: Date,
): Map<string, number> {
  const intervals = new Map<string, number>();
  for (const { name, schedule } of named) {
    const seconds = scheduleIntervalSeconds(schedule, now);
    if (seconds !== undefined) intervals.set(name, seconds);
  }
  return intervals;
}

export interface RunOutcome {
  phase: 'Succeeded' | 'Failed';
  /** status.reason: why it failed (RetriesExhausted, RepositoryNotFound, ...), or Succeeded. */
  reason: string;
  finished: string;
}

/** Per "namespace/pvc", the most recent VolumeBackup that finished (Succeeded or Failed). */
export function latestOutcomes(backups: readonly VolumeBackup[]): Map<string, RunOutcome> {
  const latest = new Map<string, RunOutcome>();
  for (const backup of backups) {
    const phase = backup.status?.phase;
    if (phase !== 'Succeeded' && phase !== 'Failed') continue;
    const key = `${backup.metadata.namespace}/${backup.spec.pvc}`;
    // RFC 3339 in UTC compares as text; a run with no completion time counts from its creation.
    const finished = backup.status?.completionTime ?? backup.metadata.creationTimestamp ?? '';
    const seen = latest.get(key);
    if (seen !== undefined && seen.finished > finished) continue;
    latest.set(key, { phase, reason: backup.status?.reason ?? phase, finished });
  }
  return latest;
}

export interface VolumeHealth {
  namespace: string;
  pvc: string;
  policy: string;
  /** When the PVC was created (Unix seconds), for a volume with no good backup yet: staleness counts from it. */
  createdSeconds: number | undefined;
  lastRun: RunOutcome | undefined;
}

/**
 * One entry per protected volume. `createdAt` gives a claim's creationTimestamp by "namespace/pvc";
 * runs that finished before it belong to an earlier claim of the same name and are not its own.
 */
export function volumeHealth(
  rows: readonly CoverageRow[],
  outcomes: ReadonlyMap<string, RunOutcome>,
  createdAt: (key: string) => string | undefined,
): VolumeHealth[] {
  const health: VolumeHealth[] = [];
  for (const row of rows) {
    if (row.decision.state !== 'protected') continue;
    const key = `${row.namespace}/${row.name}`;
    const created = Date.parse(createdAt(key) ?? '');
    const backedUp = !Number.isNaN(Date.parse(row.lastBackup ?? ''));
    const lastRun = outcomes.get(key);
    const ours = lastRun !== undefined && (Number.isNaN(created) || Date.parse(lastRun.finished) >= created);
    health.push({
      namespace: row.namespace,
      pvc: row.name,
      policy: row.decision.policy,
      createdSeconds: backedUp || Number.isNaN(created) ? undefined : created / 1000,
      lastRun: ours ? lastRun : undefined,
    });
  }
  return health;
}
