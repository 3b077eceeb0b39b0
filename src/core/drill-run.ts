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
  DrillCommand,
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
  /** The policy's drill command, for a drill about to start. */
  command: DrillCommand | undefined;
  /** The drill command's Job, once made: whether it ended, and its container's exit code and last lines. */
  commandJob: CommandOutcome | undefined;
}

export interface CommandOutcome {
  finished: boolean;
  exitCode: number | undefined;
  /** The container's termination message (its last log lines when it failed), or why it ended without an exit code. */
  message: string | undefined;
}

export type DrillStep =
  | { kind: 'wait'; reason: DrillReason; message: string; recheckMs: number }
  | { kind: 'start'; backup: ChosenBackup; expected: DrillCounts | undefined; command: DrillCommand | undefined }
  | { kind: 'create-scratch' }
  | { kind: 'create-job' }
  /** Records what the read-back verified, then starts the command. */
  | { kind: 'create-command-job'; verified: RestoreSummary['verified'] }
  | {
      kind: 'finish';
      verdict: DrillVerdict | undefined;
      reason: DrillReason;
      message: string;
      result?: RestoreSummary;
      commandResult?: { exitCode: number; message?: string | undefined };
    }
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
  'CommandFailed',
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
  return { kind: 'start', backup: read.backup, expected: o.expected, command: o.command };
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
  // The read-back passed and is recorded; the drill command's Job decides now (the mover's Job may be gone by then).
  if (status.command !== undefined && status.verified !== undefined && o.commandJob !== undefined)
    return commandStep(o, status.command, {
      kind: 'finish',
      verdict: 'Passed',
      reason: 'Verified',
      message: readBack(status.verified),
    });
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
  if (result?.type === 'restored') {
    const judged = judge(status.expected, result);
    return judged.kind === 'finish' && judged.verdict === 'Passed' && status.command !== undefined
      ? commandStep(o, status.command, judged)
      : judged;
  }
  const failure = moverFailure(o.job);
  return { kind: 'finish', verdict: drillVerdictOf(failure.reason), ...failure };
}

/** After the read-back passed: the drill command runs on the scratch volume, and its exit code is the verdict. */
function commandStep(
  o: DrillObservation,
  command: DrillCommand,
  passed: Extract<DrillStep, { kind: 'finish' }>,
): DrillStep {
  const job = o.commandJob;
  if (job === undefined) return { kind: 'create-command-job', verified: passed.result?.verified };
  const what = `the drill command (${command.command.join(' ')})`;
  if (!job.finished)
    return { kind: 'wait', reason: 'CommandRunning', message: `${what} runs on the scratch volume`, recheckMs: 5000 };
  const said = job.message === undefined || job.message.trim() === '' ? '' : `: ${job.message.trim()}`;
  if (job.exitCode === 0)
    return { ...passed, message: `${passed.message}; ${what} exited 0`, commandResult: { exitCode: 0 } };
  if (job.exitCode === undefined)
    return { kind: 'finish', verdict: undefined, reason: 'MoverFailed', message: `${what} did not end${said}` };
  return {
    kind: 'finish',
    verdict: 'Failed',
    reason: 'CommandFailed',
    message: `the backup read back as recorded, but ${what} exited ${job.exitCode}${said}`,
    ...(passed.result === undefined ? {} : { result: passed.result }),
    commandResult: {
      exitCode: job.exitCode,
      ...(job.message === undefined ? {} : { message: job.message.slice(-1000) }),
    },
  };
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
  return { kind: 'finish', verdict: 'Passed', reason: 'Verified', message: readBack(verified), result };
}

/** What a passing read-back proved, in words. */
function readBack(verified: NonNullable<RestoreSummary['verified']>): string {
  return verified.method === 'device-compare'
    ? `${verified.bytes} bytes of the device read back equal to the image chain`
    : `${verified.files ?? '?'} files (${verified.bytes} bytes) read back equal to the backup's hashes`;
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
