// `restic restore --json <snapshot>:<snapshotPath>` into the target folder,
// whose status lines become progress and whose summary becomes the counts.
//
// restic 0.18, as the mover uses it:
// - With `<snapshot>:<folder>`, --include patterns match paths relative to the
//   folder, so "/etc" selects the volume's /etc and all below it (not /etc2).
// - A path the snapshot does not have restores nothing and exits 0, so the
//   mover looks the paths up (`restic ls`) before anything is written.
// - --delete removes what the target has and the snapshot does not, only
//   within the included paths; without it, extra files stay.
// - The snapshot's folder gives its contents, not its own owner, mode, times
//   and extended attributes. A whole volume is therefore restored from the
//   folder's parent, selecting the folder, into the target's parent, when the
//   target has the folder's name (the operator mounts it so): the folder's
//   own metadata comes with one restic start, and --delete stays within it
//   (the parent, a read-only mount point in the mover's Pod, is only read).
//   Otherwise the mover sets owner, mode and times after (restoresFolderItself).
// - An entry it cannot restore (a folder in the target where the snapshot has
//   a file) is logged and restic goes on, then exits 1.
// - --verify reads back each file it wrote and hashes it against the backup's
//   blobs after the summary; a difference is an error line naming the file
//   ("Invalid file size for <path>: expected 10, got 11", "Unexpected content
//   in <path>, starting at offset 0") and exit 1, and --json prints no count of
//   files verified. A damaged pack fails the restore before any verify:
//   "decrypting blob <data/e6b64fbf> from ebc55564 failed: ciphertext
//   verification failed" for the files it holds. Files already as the backup
//   has them (skipped) were hashed the same way before restic chose to skip
//   them.
import { posix } from 'node:path';
import type { FolderRestore, ProgressReporter, RestoreCounts } from '../engine.ts';
import type { Outcome } from '../failure.ts';
import { normalVolumePath } from '../snapshot-paths.ts';
import { retryCannotHelp, unverifiedError, type RepositoryNames } from './failure.ts';
import { lineForLog, someOf } from './output.ts';
import type { ResticSteps } from './repository.ts';
import { parseRestoreLine } from './restore-output.ts';
import { snapshotError } from './snapshot-lookup.ts';

/**
 * A restic --include pattern that selects exactly this volume path and what is
 * under it. With `<snapshot>:<snapshotPath>`, restic 0.18 matches patterns
 * against paths relative to snapshotPath, and a pattern starting with "/" is
 * anchored there. Patterns are Go's filepath.Match plus "**", so a name's
 * glob characters are escaped to stand for themselves.
 */
export function includePattern(path: string): string {
  return normalVolumePath(path).replace(/[\\*?[\]]/g, '\\$&');
}

/**
 * Whether the restore gives the target folder the snapshot folder's own metadata: a whole
 * volume, from a folder below the snapshot's root, into a target folder of the same name.
 */
export function restoresFolderItself(restore: FolderRestore): boolean {
  const folder = normalVolumePath(restore.source.snapshotPath);
  return (
    restore.paths.length === 0 &&
    folder !== '/' &&
    posix.isAbsolute(restore.targetPath) &&
    posix.basename(normalVolumePath(restore.targetPath)) === posix.basename(folder)
  );
}

/** The arguments of `restic restore`; paths as restorePaths gives them ([] for the whole volume). */
export function restoreArgs(restore: FolderRestore): string[] {
  const folder = normalVolumePath(restore.source.snapshotPath);
  const [from, target, includes] = restoresFolderItself(restore)
    ? [posix.dirname(folder), posix.dirname(normalVolumePath(restore.targetPath)), [`/${posix.basename(folder)}`]]
    : [folder, restore.targetPath, restore.paths];
  return [
    'restore',
    '--json',
    `${restore.source.snapshotId}:${from}`,
    '--target',
    target,
    '--sparse',
    ...includes.flatMap((path) => ['--include', includePattern(path)]),
    ...(restore.deleteExtra ? ['--delete'] : []),
    ...(restore.verify ? ['--verify'] : []),
  ];
}

export async function resticRestore(
  restore: FolderRestore,
  steps: ResticSteps,
  names: RepositoryNames,
  progress: ProgressReporter,
): Promise<Outcome<RestoreCounts>> {
  const failures: string[] = [];
  let summary: RestoreCounts | undefined;
  const exit = await steps.restic(restoreArgs(restore), {
    stopWhen: retryCannotHelp,
    onAnswer: (raw) => {
      const line = parseRestoreLine(raw);
      if (line?.kind === 'summary') summary = line.summary;
      if (line?.kind === 'status') progress.report(line.progress);
    },
    onLine: (line) => {
      if (line.kind === 'error') failures.push(lineForLog(line) ?? line.message);
    },
  });
  progress.done();

  if (exit.exitCode === 0 && exit.stopped === undefined && summary !== undefined) {
    if (!restore.verify) return { ok: true, value: summary };
    const bytes = summary.totalBytes + summary.bytesSkipped;
    return { ok: true, value: { ...summary, verified: { bytes, method: 'restic-verify' } } };
  }
  const unverified =
    restore.verify && exit.stopped === undefined ? unverifiedError(failures, exit.messages) : undefined;
  if (unverified !== undefined) return { ok: false, error: unverified };
  if (exit.exitCode === 1 && exit.stopped === undefined && failures.length > 0) {
    const hint = failures.some((f) => /directory not empty/.test(f))
      ? ': the target has folders where the backup has files; restore with deleteExtra to replace them'
      : '';
    return {
      ok: false,
      error: {
        type: 'error',
        code: 'EngineFailed',
        message: `restic restored the rest but not ${failures.length} entries (${someOf(failures)})${hint}`,
      },
    };
  }
  return { ok: false, error: snapshotError(exit, names, restore.source) };
}
