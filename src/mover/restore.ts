// One restore task: the target folder is there, the repository opens (a
// restore never creates one), the paths asked for are looked up before
// anything is written (a path the snapshot does not have fails the restore,
// not only its part), then the engine restores into the target, its progress
// throttled. A whole-volume restore gives the target folder the owner, mode
// and times of the volume's root too: the engine does when it can
// (restoresFolderItself), else the mover sets them from a listing of the root
// that runs beside the restore. A drill (verify) has the engine read every
// restored file back against the backup's hashes: the summary then says what
// was verified, and a difference or unreadable data fails as Unverified.
import type { MoverProgress, RestoreSummary, RestoreTask } from '../api/index.ts';
import type { Repository } from './engine.ts';
import type { Failure } from './failure.ts';
import { throttledProgress } from './progress-throttle.ts';
import { entryAt } from './snapshot-entries.ts';
import { inSnapshot, restorePaths } from './snapshot-paths.ts';
import { checkTargetFolder, setFolderMetadata } from './target-folder.ts';
import { countTree } from './tree-count.ts';

export interface RestoreSteps {
  repository: Repository;
  progress: (progress: MoverProgress) => void;
  log: (text: string) => void;
  warn: (text: string) => void;
  nowMs: () => number;
  progressIntervalMs: number;
}

export async function runRestore(task: RestoreTask, steps: RestoreSteps): Promise<RestoreSummary | Failure> {
  const started = steps.nowMs();
  const missing = await checkTargetFolder(task.targetPath);
  if (missing !== undefined) return missing;
  const { repository } = steps;
  const notCreated = "a restore never creates one: check the URL of the backup's repository";
  const notReady = await repository.prepare({ create: false, notCreated, onFirstUse: true });
  if (notReady !== undefined) return notReady;

  const paths = restorePaths(task.paths);
  const whole = paths.length === 0;
  const restore = {
    source: task.source,
    targetPath: task.targetPath,
    paths,
    deleteExtra: task.deleteExtra,
    verify: task.verify,
  };
  const rootByEngine = whole && repository.restoresFolderItself(restore);
  const asked = new Set((whole ? ['/'] : paths).map((path) => inSnapshot(task.source.snapshotPath, path)));
  const lookup = rootByEngine
    ? undefined
    : repository.ls(task.source, whole ? ['/'] : paths, { keep: (entry) => asked.has(entry.path) });
  if (!whole && lookup !== undefined) {
    // Before anything is written: a missing path fails the restore, not only its part.
    const found = await lookup;
    if (!found.ok) return found.error;
    const absent = paths.filter((path) => entryAt(found.value, task.source, path) === undefined);
    if (absent.length > 0) {
      return {
        type: 'error',
        code: 'PathNotFound',
        message: `snapshot ${task.source.snapshotId} does not have ${absent.join(', ')}: nothing was restored`,
      };
    }
  }
  steps.log(
    `restoring ${whole ? 'the whole volume' : paths.join(', ')} of snapshot ${task.source.snapshotId} into ${task.targetPath}${task.deleteExtra ? ', deleting what the backup does not have' : ''}${task.verify ? ', then reading every restored file back to verify it' : ''}`,
  );
  const progress = throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress);
  const [restored, listed] = await Promise.all([repository.restore(restore, progress), lookup]);
  if (!restored.ok) return restored.error;
  if (whole && listed !== undefined) {
    const root = listed.ok ? entryAt(listed.value, task.source, '/') : undefined;
    const problems =
      root === undefined
        ? [
            `the owner, mode and times of the volume's root are not known: ${listed.ok ? 'restic ls did not list it' : listed.error.message}`,
          ]
        : await setFolderMetadata(task.targetPath, root);
    for (const problem of problems) steps.warn(problem);
  }
  const { filesDeleted, verified, ...summary } = restored.value;
  // What the volume holds now, counted as a backup counts it, for the drill to compare with the backup's summary.
  const counted = verified !== undefined && whole ? await countTree(task.targetPath) : undefined;
  return {
    ...summary,
    ...(verified === undefined ? {} : { verified: counted === undefined ? verified : { ...verified, ...counted } }),
    snapshotId: listed?.ok === true ? listed.value.snapshotId : task.source.snapshotId,
    ...(task.deleteExtra ? { filesDeleted } : {}),
    durationSeconds: (steps.nowMs() - started) / 1000,
  } satisfies RestoreSummary;
}
