// What a RepositoryMaintenance does next, decided from what is observed (pure,
// `now` passed in). It waits until no backup writes to its repository, starts
// (the controller fixes the forget set at that moment), runs one mover Job,
// and records the result. A mover that fails (a repository locked by a backup
// that died, the network) is retried like a backup: with backoff, within the
// default retry limit and deadline; while it waits to retry it holds no
// backups back. A failure that retrying cannot mend (no repository, a bad
// spec, a missing Secret, damage a check found) ends the run at once.
import { durationMs, type MaintenanceReason, type MoverResult, type RepositoryMaintenance } from '../api/index.ts';
import { moverFailure, type MoverFailure, type MoverOutcome } from './mover-failure.ts';
import { defaultRetry, retryOrGiveUp, runDeadline } from './run-retry.ts';

export interface MaintenanceObservation {
  now: Date;
  maintenance: RepositoryMaintenance;
  /** Why it cannot run at all (unknown repository, invalid spec), if so. */
  blocker: { reason: MaintenanceReason; message: string } | undefined;
  /** Backups writing to the repository now ("ns/name" of one of them), if any. */
  backupsActive: string | undefined;
  /** Another maintenance of the same repository that goes first (running, or older and pending), if any. */
  otherMaintenance: string | undefined;
  job: MoverOutcome | undefined;
}

export type MaintenanceStep =
  | { kind: 'wait'; reason: MaintenanceReason; message: string; recheckMs: number }
  /** attempt: the attempt this start begins (1 for the first). */
  | { kind: 'start'; attempt: number }
  /** The attempt failed: its Job goes, and the run waits until `at` to start again. */
  | { kind: 'retry'; attempt: number; at: Date; message: string }
  | { kind: 'create-job' }
  | { kind: 'succeed'; result: Extract<MoverResult, { type: 'maintenance' }> }
  | { kind: 'fail'; reason: MaintenanceReason; message: string }
  | { kind: 'clean-up' };

export const maintenanceDeadline = '12h';

export function nextMaintenanceStep(o: MaintenanceObservation): MaintenanceStep {
  const phase = o.maintenance.status?.phase ?? 'Pending';
  if (phase === 'Succeeded' || phase === 'Failed') return { kind: 'clean-up' };
  if (o.blocker !== undefined) return { kind: 'fail', ...o.blocker };
  if (phase === 'Pending') {
    const status = o.maintenance.status;
    const retryAt = Date.parse(status?.nextAttemptTime ?? '');
    if (!Number.isNaN(retryAt) && retryAt > o.now.getTime())
      return {
        kind: 'wait',
        reason: 'RetryScheduled',
        message: status?.message ?? `retrying at ${status?.nextAttemptTime}`,
        recheckMs: retryAt - o.now.getTime(),
      };
    // restic takes an exclusive lock to prune: one maintenance of a repository at a time, oldest first.
    if (o.otherMaintenance !== undefined)
      return {
        kind: 'wait',
        reason: 'OtherMaintenance',
        message: `waiting for ${o.otherMaintenance} to finish`,
        recheckMs: 5000,
      };
    if (o.backupsActive !== undefined)
      return {
        kind: 'wait',
        reason: 'BackupsRunning',
        message: `waiting for backups, restores and downloads using the repository to finish (${o.backupsActive}); new ones wait for this maintenance`,
        recheckMs: 5000,
      };
    return { kind: 'start', attempt: (status?.attempt ?? 0) + 1 };
  }
  const started = Date.parse(o.maintenance.status?.startTime ?? '');
  if (!Number.isNaN(started) && o.now.getTime() - started > durationMs(maintenanceDeadline))
    return { kind: 'fail', reason: 'DeadlineExceeded', message: `did not finish within ${maintenanceDeadline}` };
  if (o.job === undefined) return { kind: 'create-job' };
  if (!o.job.finished)
    return {
      kind: 'wait',
      reason: 'MoverRunning',
      message: 'the mover is maintaining the repository',
      recheckMs: 10_000,
    };
  const result = o.job.result;
  if (result?.type === 'maintenance') return { kind: 'succeed', result };
  return retryOrFail(o, moverFailure(o.job));
}

/** Retry settings of maintenance: those of a backup without a policy (7 attempts within 4 h). */
export const maintenanceRetry = defaultRetry;

function retryOrFail(o: MaintenanceObservation, failure: MoverFailure): MaintenanceStep {
  const attempt = o.maintenance.status?.attempt ?? 1;
  const verdict = retryOrGiveUp({
    now: o.now,
    attempt,
    settings: maintenanceRetry,
    deadline: runDeadline(o.maintenance.metadata.creationTimestamp, maintenanceRetry),
    message: failure.message,
  });
  if (verdict.kind === 'fail') return { kind: 'fail', reason: failure.reason, message: verdict.message };
  return {
    kind: 'retry',
    attempt,
    at: verdict.at,
    message: `attempt ${attempt} failed: ${failure.reason}: ${failure.message}; retrying at ${verdict.at.toISOString()}`,
  };
}
