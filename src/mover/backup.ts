// One backup task: the source folder is there, the repository is ready, then
// `restic backup --json`, whose status lines become throttled progress and
// whose summary becomes the result. Exit code 3 (some files could not be
// read) still wrote a snapshot: it is a success, with a warning in the log.
// The snapshot carries the time the data was captured (--time), not the upload's.
import type { BackupSummary, BackupTask, MoverError, MoverProgress, MoverResult } from '../api/index.ts';
import { progressThrottle } from './progress-throttle.ts';
import { prepareRepository, repositoryNames, type RepositorySteps } from './restic/repository.ts';
import { resticError } from './restic/failure.ts';
import { lineForLog } from './restic/output.ts';
import { resticTime } from './snapshot-time.ts';
import { makeCephfsSnapshot } from './cephfs-snapshot.ts';
import { checkSourceFolder } from './source-folder.ts';

export interface BackupSteps extends RepositorySteps {
  progress: (progress: MoverProgress) => void;
  warn: (text: string) => void;
  nowMs: () => number;
  progressIntervalMs: number;
}

const partialSuccess = 3;
const unreadableShown = 5;

/** The arguments of `restic backup`; time is the snapshot's time as resticTime gives it. */
export function backupArgs(task: BackupTask, time?: string, path = task.sourcePath): string[] {
  const detection = task.changeDetection === 'mtime-size' ? ['--ignore-inode', '--ignore-ctime'] : [];
  return [
    'backup',
    '--json',
    '--host',
    task.host,
    ...(time === undefined ? [] : ['--time', time]),
    ...detection,
    ...task.tags.flatMap((tag) => ['--tag', tag]),
    path,
  ];
}

export async function runBackup(task: BackupTask, steps: BackupSteps): Promise<MoverResult> {
  const time = task.snapshotTime === undefined ? undefined : resticTime(task.snapshotTime);
  if (task.snapshotTime !== undefined && time === undefined) {
    return { type: 'error', code: 'InvalidTask', message: `snapshotTime ${task.snapshotTime} is not an RFC 3339 time` };
  }
  const missing = await checkSourceFolder(task.sourcePath);
  if (missing !== undefined) return missing;
  const notReady = await prepareRepository(task.repository, steps);
  if (notReady !== undefined) return notReady;
  if (task.cephfsSnapshot === undefined) return resticBackup(backupArgs(task, time), task.repository, steps);

  const snapshot = await makeCephfsSnapshot(task.sourcePath, task.cephfsSnapshot.name);
  if ('type' in snapshot) return snapshot;
  try {
    return await resticBackup(backupArgs(task, time, snapshot.path), task.repository, steps);
  } finally {
    await snapshot
      .remove()
      .catch((error: unknown) => steps.warn(`could not remove ${snapshot.path}: ${String(error)}`));
  }
}

/**
 * Runs `restic backup --json ...` to its summary: throttled progress on the way, exit code 3
 * (some files unreadable) a success with a warning, anything else the reason it failed.
 */
export async function resticBackup(
  args: string[],
  repository: BackupTask['repository'],
  steps: BackupSteps,
): Promise<BackupSummary | MoverError> {
  const throttle = progressThrottle(steps.progressIntervalMs);
  const unreadable: string[] = [];
  let summary: BackupSummary | undefined;
  const exit = await steps.restic(args, {
    onLine: (line) => {
      switch (line.kind) {
        case 'status': {
          const shown = throttle.offer(line.progress, steps.nowMs());
          if (shown !== undefined) steps.progress(shown);
          break;
        }
        case 'summary':
          summary = line.summary;
          break;
        case 'error':
          unreadable.push(lineForLog(line) ?? line.message);
          break;
        case 'exit-error':
        case 'text':
        case 'other':
          break;
      }
    },
  });
  const last = throttle.flush();
  if (last !== undefined) steps.progress(last);

  const finished = exit.exitCode === 0 || exit.exitCode === partialSuccess;
  // The repository opened a moment ago: silence now is a stall, not the network.
  if (!finished) return resticError(exit, { ...repositoryNames(repository), reached: true });
  if (summary === undefined) {
    return {
      type: 'error',
      code: 'ResticFailed',
      message: 'restic backup ended without a summary: no snapshot was recorded',
    };
  }
  if (exit.exitCode === partialSuccess) {
    const shown = unreadable.slice(0, unreadableShown).join('; ');
    const more = unreadable.length > unreadableShown ? ` and ${unreadable.length - unreadableShown} more` : '';
    steps.warn(
      `snapshot ${summary.snapshotId.slice(0, 8)} is missing what restic could not read (${unreadable.length} errors): ${shown}${more}`,
    );
  }
  return summary;
}
