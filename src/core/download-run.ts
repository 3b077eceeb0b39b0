// What a BackupDownload does next, decided from what is observed: before it
// starts, the same checks as a restore (spec, permission, backup, repository,
// maintenance); then one mover Job uploads the listing or the file to a
// staging object; then the status carries a presigned URL until it expires,
// when the staging object is deleted; a day after it ends, the BackupDownload
// itself is deleted. A deleted download is the run engine's: its finalizer
// removes the Job, the Secret and the staging object.
import type { BackupDownload, ChosenBackup, DownloadReason, DownloadSummary } from '../api/index.ts';
import type { BackupAnswer } from './backup-choice.ts';
import { maintenanceWait, readableBackup, readerSlotWait, type ReaderSlots } from './backup-reads.ts';
import { moverFailure, type MoverOutcome } from './mover-failure.ts';

export interface DownloadObservation {
  now: Date;
  download: BackupDownload;
  invalid: string | undefined;
  forbidden: string | undefined;
  choice: BackupAnswer;
  repositoryFound: boolean;
  maintenance: string | undefined;
  /** Restores and downloads running now, and the operator's limit on them. */
  readers: ReaderSlots;
  job: MoverOutcome | undefined;
}

export type DownloadStep =
  | { kind: 'wait'; reason: DownloadReason; message: string; recheckMs: number }
  | { kind: 'start'; backup: ChosenBackup }
  | { kind: 'create-job' }
  | { kind: 'succeed'; result: DownloadSummary }
  | { kind: 'fail'; reason: DownloadReason; message: string }
  | { kind: 'expire' }
  | { kind: 'remove' }
  | { kind: 'done'; recheckMs: number | undefined };

export const finishedKeptMs = 24 * 3600_000;

export function nextDownloadStep(o: DownloadObservation): DownloadStep {
  const status = o.download.status ?? {};
  switch (status.phase ?? 'Pending') {
    case 'Pending': {
      const read = readableBackup(o);
      if (read.kind === 'fail') return read;
      if (o.maintenance !== undefined) return maintenanceWait(o.maintenance);
      return readerSlotWait(o.readers) ?? { kind: 'start', backup: read.backup };
    }
    case 'Running':
      if (o.job === undefined) return { kind: 'create-job' };
      if (!o.job.finished)
        return { kind: 'wait', reason: 'MoverRunning', message: 'the mover is reading the backup', recheckMs: 2000 };
      if (o.job.result?.type === 'downloaded') return { kind: 'succeed', result: o.job.result };
      return { kind: 'fail', ...moverFailure(o.job) };
    case 'Succeeded': {
      const expires = Date.parse(status.expiresAt ?? '');
      if (Number.isNaN(expires) || expires <= o.now.getTime()) return { kind: 'expire' };
      return { kind: 'done', recheckMs: expires - o.now.getTime() };
    }
    case 'Failed':
    case 'Expired': {
      // A finished download is kept a day to read what happened, then deleted.
      const times = [status.completionTime, status.expiresAt]
        .map((t) => Date.parse(t ?? ''))
        .filter((t) => !Number.isNaN(t));
      if (times.length === 0) return { kind: 'done', recheckMs: undefined };
      const ended = Math.max(...times);
      const removeAt = ended + finishedKeptMs;
      if (removeAt <= o.now.getTime()) return { kind: 'remove' };
      return { kind: 'done', recheckMs: removeAt - o.now.getTime() };
    }
  }
}
