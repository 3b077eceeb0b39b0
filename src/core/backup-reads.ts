// What every run that reads a backup (a restore, a download, later a drill)
// checks before it starts: its spec, its permission to read the source
// namespace, the backup it asks for, that backup's repository; and that no
// maintenance is changing the repository under it, and that a slot under the
// operator's limit on restores and downloads is free. Decided once here.
import type { ChosenBackup } from '../api/index.ts';
import type { BackupAnswer } from './backup-choice.ts';

export interface BackupReadFacts {
  /** Why the spec cannot be carried out as written (field and fix), if so. */
  invalid: string | undefined;
  /** Why this namespace may not read the source namespace's backups, if so. */
  forbidden: string | undefined;
  choice: BackupAnswer;
  repositoryFound: boolean;
}

export type BackupReadFailure = {
  kind: 'fail';
  reason: 'InvalidSpec' | 'Forbidden' | 'BackupNotFound' | 'RepositoryNotFound';
  message: string;
};

/** The backup the run may read, or why it never can (it fails at once: waiting cannot help). */
export function readableBackup(o: BackupReadFacts): BackupReadFailure | { kind: 'readable'; backup: ChosenBackup } {
  const fail = (reason: BackupReadFailure['reason'], message: string): BackupReadFailure => ({
    kind: 'fail',
    reason,
    message,
  });
  if (o.invalid !== undefined) return fail('InvalidSpec', o.invalid);
  if (o.forbidden !== undefined) return fail('Forbidden', o.forbidden);
  if (!o.choice.ok) return fail('BackupNotFound', o.choice.message);
  if (!o.repositoryFound)
    return fail(
      'RepositoryNotFound',
      `BackupRepository ${o.choice.backup.repository} of backup ${o.choice.backup.name} does not exist or is invalid`,
    );
  return { kind: 'readable', backup: o.choice.backup };
}

/** A run waits while maintenance of its repository is due or running: a prune may change what it reads or writes. */
export function maintenanceWait(maintenance: string) {
  return {
    kind: 'wait' as const,
    reason: 'MaintenanceWindow' as const,
    message: `waiting for the repository's maintenance to end (${maintenance})`,
    recheckMs: 10_000,
  };
}

/** Restores and downloads running or starting (besides the one deciding), and the operator's limit on them. */
export interface ReaderSlots {
  running: number;
  limit: number;
}

/**
 * A restore or download waits while the operator's limit of them run. They have a limit of their own,
 * apart from the backups': a person restoring never queues behind the nightly backups, nor they behind it.
 */
export function readerSlotWait(slots: ReaderSlots) {
  if (slots.running < slots.limit) return undefined;
  return {
    kind: 'wait' as const,
    reason: 'ConcurrencyLimit' as const,
    message: `waiting for a free slot: ${slots.running} restores and downloads are running, the operator's limit (--max-concurrent-restores)`,
    recheckMs: 10_000,
  };
}
