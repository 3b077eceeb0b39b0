// `restic backup --json` of a folder, or of the stdout of a command restic
// runs (--stdin-from-command: a block volume's QCOW2 image, stored as one
// file). Status lines become progress, the summary becomes the BackupSummary.
// Exit code 3 (some files could not be read) still wrote a snapshot: it is a
// success, with a warning in the log. The snapshot carries the time the data
// was captured (--time, read in the UTC restic runs in), not the upload's.
import type { BackupSummary } from '../../api/index.ts';
import type { FolderBackup, ProgressReporter, StreamBackup } from '../engine.ts';
import type { Outcome } from '../failure.ts';
import { resticError, type RepositoryNames } from './failure.ts';
import { lineForLog, someOf } from './output.ts';
import type { ResticSteps } from './repository.ts';

const partialSuccess = 3;

/** restic's names for the levels: its fast one is `auto`. */
const compressionNames = { fast: 'auto', off: 'off', max: 'max' } as const;

function snapshotArgs(backup: FolderBackup | StreamBackup): { host: string[]; time: string[]; tags: string[] } {
  return {
    host: [
      '--host',
      backup.host,
      '--compression',
      compressionNames[backup.compression],
      ...(backup.verifyBeforeUpload ? [] : ['--no-extra-verify']),
    ],
    time: backup.time === undefined ? [] : ['--time', backup.time],
    tags: backup.tags.flatMap((tag) => ['--tag', tag]),
  };
}

export function folderBackupArgs(backup: FolderBackup): string[] {
  const { host, time, tags } = snapshotArgs(backup);
  const detection = backup.changeDetection === 'mtime-size' ? ['--ignore-inode', '--ignore-ctime'] : [];
  const parent =
    backup.parent === undefined ? [] : backup.parent.kind === 'none' ? ['--force'] : ['--parent', backup.parent.id];
  return ['backup', '--json', ...host, ...time, ...detection, ...parent, ...tags, backup.path];
}

export function streamBackupArgs(backup: StreamBackup): string[] {
  const { host, time, tags } = snapshotArgs(backup);
  return [
    'backup',
    '--json',
    ...host,
    ...time,
    ...tags,
    '--stdin-filename',
    backup.fileName,
    '--stdin-from-command',
    '--',
    ...backup.command,
  ];
}

/** Runs `restic backup --json ...` to its summary; exit code 3 (some files unreadable) is a success with a warning. */
export async function resticBackup(
  args: string[],
  steps: ResticSteps,
  names: RepositoryNames,
  progress: ProgressReporter,
): Promise<Outcome<BackupSummary>> {
  const unreadable: string[] = [];
  let summary: BackupSummary | undefined;
  const exit = await steps.restic(args, {
    onLine: (line) => {
      switch (line.kind) {
        case 'status':
          progress.report(line.progress);
          break;
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
  progress.done();

  const finished = exit.exitCode === 0 || exit.exitCode === partialSuccess;
  // The repository opened a moment ago: silence now is a stall, not the network.
  if (!finished) return { ok: false, error: resticError(exit, { ...names, reached: true }) };
  if (summary === undefined) {
    return {
      ok: false,
      error: {
        type: 'error',
        code: 'EngineFailed',
        message: 'restic backup ended without a summary: no snapshot was recorded',
      },
    };
  }
  if (exit.exitCode === partialSuccess) {
    steps.warn(
      `snapshot ${summary.snapshotId.slice(0, 8)} is missing what restic could not read (${unreadable.length} errors): ${someOf(unreadable)}`,
    );
  }
  return { ok: true, value: summary };
}
