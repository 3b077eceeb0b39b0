// What a RestoreDrill does next, decided from what is observed: a pure
// function like nextRestoreStep. A drill settles on a backup, makes a scratch
// volume in Safehold's namespace, has a mover restore into it and read it
// back (verify), and compares what was read with what the backup recorded.
// Its verdict is Passed or Failed only when the drill could tell; a drill
// that could not run (no scratch volume, the repository unreachable, the
// backup pruned meanwhile) fails without a verdict, and the volume's last
// verdict stands.
import type {
  ChosenBackup,
  DrillReason,
  DrillVerdict,
  RestoreDrill,
  RestoreSummary,
  RunFailureReason,
} from '../api/index.ts';
import type { BackupAnswer } from './backup-choice.ts';
import { maintenanceWait, readableBackup, type ReaderSlots } from './backup-reads.ts';
import { moverFailure, type MoverOutcome } from './mover-failure.ts';

export interface DrillCounts {
  files?: number | undefined;
  bytes: number;
}

export interface DrillObservation {
  drill: RestoreDrill;
  now: Date;
  /** Why the spec cannot be carried out as written (field and fix), if so. */
  invalid: string | undefined;
  choice: BackupAnswer;
  repositoryFound: boolean;
  /** What the chosen backup recorded (VolumeBackup status), when known. */
  expected: DrillCounts | undefined;
  /** Maintenance of the repository is due or running. */
  maintenance: string | undefined;
  /** Drills running now, and the operator's limit on them. */
  slots: ReaderSlots;
  scratch: { phase: string | undefined } | undefined;
  /** The scratch PVC was created by this drill and exists in the API, but the cache does not show it yet. */
  scratchNotCachedYet: boolean;
  job: MoverOutcome | undefined;
}

export type DrillStep =
  | { kind: 'wait'; reason: DrillReason; message: string; recheckMs: number }
  | { kind: 'start'; backup: ChosenBackup; expected: DrillCounts | undefined }
  | { kind: 'create-scratch' }
  | { kind: 'create-job' }
  | { kind: 'finish'; verdict: DrillVerdict | undefined; reason: DrillReason; message: string; result?: RestoreSummary }
  | { kind: 'clean-up' };

/** How long a scratch volume may take to be provisioned and bound before the drill gives up on it. */
export const scratchPatienceMs = 10 * 60_000;

/**
 * Mover failures that say the backup itself is not what it should be: the drill's verdict is
 * Failed. Every other failure (unreachable, wrong key, killed, no scratch) only says the drill
 * could not run.
 */
const damageReasons: ReadonlySet<RunFailureReason | DrillReason> = new Set([
  'Unverified',
  'CountMismatch',
  'SnapshotNotFound',
  'RepositoryIncomplete',
  'PathNotFound',
]);

export function drillVerdictOf(reason: DrillReason): DrillVerdict | undefined {
  return damageReasons.has(reason) ? 'Failed' : undefined;
}

export function nextDrillStep(o: DrillObservation): DrillStep {
  switch (o.drill.status?.phase ?? 'Pending') {
    case 'Succeeded':
    case 'Failed':
      return { kind: 'clean-up' };
    case 'Running':
      return running(o);
    case 'Pending':
      return pending(o);
  }
}

function pending(o: DrillObservation): DrillStep {
  const read = readableBackup({ ...o, forbidden: undefined });
  if (read.kind === 'fail') return { kind: 'finish', verdict: undefined, reason: read.reason, message: read.message };
  if (o.maintenance !== undefined) return maintenanceWait(o.maintenance);
  if (o.slots.running >= o.slots.limit)
    return {
      kind: 'wait',
      reason: 'ConcurrencyLimit',
      message: `waiting: ${o.slots.running} restore drills are running, the operator's limit (--max-concurrent-drills)`,
      recheckMs: 30_000,
    };
  return { kind: 'start', backup: read.backup, expected: o.expected };
}

function running(o: DrillObservation): DrillStep {
  const status = o.drill.status ?? {};
  const scratch = status.scratch ?? '';
  const cannot = (reason: DrillReason, message: string): DrillStep => ({
    kind: 'finish',
    verdict: undefined,
    reason,
    message,
  });
  if (o.scratch === undefined) {
    if (o.scratchNotCachedYet)
      return { kind: 'wait', reason: 'ScratchPending', message: `waiting for scratch PVC ${scratch}`, recheckMs: 500 };
    if (o.job !== undefined) return cannot('ScratchFailed', `the scratch PVC ${scratch} disappeared during the drill`);
    return { kind: 'create-scratch' };
  }
  if (o.scratch.phase === 'Lost') return cannot('ScratchFailed', `the scratch PVC ${scratch} lost its volume`);
  if (o.job === undefined) {
    const started = Date.parse(status.startTime ?? '');
    if (o.scratch.phase !== 'Bound' && o.now.getTime() - started > scratchPatienceMs)
      return cannot(
        'ScratchFailed',
        `the scratch PVC ${scratch} was not provisioned within ${scratchPatienceMs / 60_000} minutes: check its StorageClass (spec.storageClassName, or the policy's drill.storageClassName) and its Events`,
      );
    return { kind: 'create-job' };
  }
  if (!o.job.finished)
    return {
      kind: 'wait',
      reason: o.scratch.phase === 'Bound' ? 'MoverRunning' : 'ScratchPending',
      message:
        o.scratch.phase === 'Bound'
          ? 'the mover is restoring the backup into the scratch volume and reading it back'
          : `waiting for scratch PVC ${scratch} to be bound`,
      recheckMs: 5000,
    };
  const result = o.job.result;
  if (result?.type === 'restored') return judge(status.expected, result);
  const failure = moverFailure(o.job);
  return { kind: 'finish', verdict: drillVerdictOf(failure.reason), ...failure };
}

/** The verdict of a restore that read back whole: what it read against what the backup recorded. */
export function judge(expected: DrillCounts | undefined, result: RestoreSummary): DrillStep {
  const verified = result.verified;
  if (verified === undefined)
    return {
      kind: 'finish',
      verdict: undefined,
      reason: 'MoverFailed',
      message: 'the mover restored the backup but did not read it back (an older mover image?)',
      result,
    };
  const differences = countDifferences(expected, result);
  if (differences.length > 0)
    return {
      kind: 'finish',
      verdict: 'Failed',
      reason: 'CountMismatch',
      message: `the backup restored and read back, but ${differences.join(' and ')}`,
      result,
    };
  const what =
    verified.method === 'device-compare'
      ? `${verified.bytes} bytes of the device read back equal to the image chain`
      : `${verified.files ?? result.totalFiles} files (${verified.bytes} bytes) read back equal to the backup's hashes`;
  return { kind: 'finish', verdict: 'Passed', reason: 'Verified', message: what, result };
}

/** Where the restore's counts differ from the backup's summary, in words; [] when they agree. */
export function countDifferences(expected: DrillCounts | undefined, result: RestoreSummary): string[] {
  if (expected === undefined) return [];
  const found = restoredCounts(result);
  const differences: string[] = [];
  if (found.bytes !== expected.bytes)
    differences.push(`it holds ${found.bytes} bytes where the backup recorded ${expected.bytes}`);
  if (expected.files !== undefined && found.files !== undefined && found.files !== expected.files)
    differences.push(`it holds ${found.files} files where the backup recorded ${expected.files}`);
  return differences;
}

/** What a restore wrote, in the units a backup's summary counts: a block volume's size, a folder's files and bytes. */
export function restoredCounts(result: RestoreSummary): DrillCounts {
  if (result.block !== undefined) return { bytes: result.block.virtualSize };
  return { files: result.verified?.files, bytes: result.verified?.bytes ?? result.totalBytes };
}
