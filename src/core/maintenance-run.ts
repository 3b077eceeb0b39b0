// What a RepositoryMaintenance does next, decided from what is observed (pure,
// `now` passed in). It waits until no backup writes to its repository, starts
// (the controller fixes the forget set at that moment), runs one mover Job,
// and records the result. A failed maintenance is not retried: the next slot
// runs again, and the failure is in the status, the metrics and an Event.
import { durationMs, type MaintenanceReason, type MoverResult, type RepositoryMaintenance } from '../api/index.ts';
import { moverFailure, type MoverOutcome } from './mover-failure.ts';

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
  | { kind: 'start' }
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
    return { kind: 'start' };
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
  return { kind: 'fail', ...moverFailure(o.job) };
}
