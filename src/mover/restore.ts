// One restore task: the target folder is there, the repository opens (a
// restore never creates one), then `restic restore --json
// <snapshot>:<snapshotPath>` into the target, whose status lines become
// throttled progress and whose summary becomes the result.
//
// restic 0.18, as the mover uses it:
// - With `<snapshot>:<folder>`, --include patterns match paths relative to the
//   folder, so "/etc" selects the volume's /etc and all below it (not /etc2).
// - A path the snapshot does not have restores nothing and exits 0, so the
//   paths are looked up (`restic ls`) before anything is written.
// - --delete removes what the target has and the snapshot does not, only
//   within the included paths; without it, extra files stay.
// - The snapshot's folder gives its contents, not its own owner, mode and
//   times: the mover sets those on the target after a whole-volume restore.
// - An entry it cannot restore (a folder in the target where the snapshot has
//   a file) is logged and restic goes on, then exits 1.
import type { MoverProgress, MoverResult, RestoreSummary, RestoreTask } from '../api/index.ts';
import { progressThrottle } from './progress-throttle.ts';
import { parseRestoreLine, type RestoreCounts } from './restic/restore-output.ts';
import { prepareRepository, repositoryNames, type RepositorySteps } from './restic/repository.ts';
import { retryCannotHelp, type RepositoryNames } from './restic/failure.ts';
import { lineForLog } from './restic/output.ts';
import { lookUp, nodeAt, snapshotError, type Step } from './restic/snapshot-lookup.ts';
import { includePattern, inSnapshot, normalVolumePath, restorePaths } from './snapshot-paths.ts';
import { checkTargetFolder, setFolderMetadata } from './target-folder.ts';

export interface RestoreSteps extends RepositorySteps {
  progress: (progress: MoverProgress) => void;
  log: (text: string) => void;
  warn: (text: string) => void;
  nowMs: () => number;
  progressIntervalMs: number;
}

const failuresShown = 5;

/** The arguments of `restic restore`; paths as restorePaths gives them ([] for the whole volume). */
export function restoreArgs(task: RestoreTask, paths: readonly string[]): string[] {
  return [
    'restore',
    '--json',
    `${task.source.snapshotId}:${normalVolumePath(task.source.snapshotPath)}`,
    '--target',
    task.targetPath,
    '--sparse',
    ...paths.flatMap((path) => ['--include', includePattern(path)]),
    ...(task.deleteExtra ? ['--delete'] : []),
  ];
}

export async function runRestore(task: RestoreTask, steps: RestoreSteps): Promise<MoverResult> {
  const started = steps.nowMs();
  const missing = await checkTargetFolder(task.targetPath);
  if (missing !== undefined) return missing;
  const names: RepositoryNames = {
    ...repositoryNames(task.repository),
    notCreated: "a restore never creates one: check the URL of the backup's repository",
  };
  const notReady = await prepareRepository({ ...task.repository, initialize: false }, steps, names);
  if (notReady !== undefined) return notReady;

  const paths = restorePaths(task.paths);
  const whole = paths.length === 0;
  const asked = new Set((whole ? ['/'] : paths).map((path) => inSnapshot(task.source.snapshotPath, path)));
  const lookup = lookUp(steps, names, task.source, whole ? ['/'] : paths, { keep: (node) => asked.has(node.path) });
  if (!whole) {
    // Before anything is written: a missing path fails the restore, not only its part.
    const found = await lookup;
    if (!found.ok) return found.error;
    const absent = paths.filter((path) => nodeAt(found.value, task.source, path) === undefined);
    if (absent.length > 0) {
      return {
        type: 'error',
        code: 'PathNotFound',
        message: `snapshot ${task.source.snapshotId} does not have ${absent.join(', ')}: nothing was restored`,
      };
    }
  }
  steps.log(
    `restoring ${whole ? 'the whole volume' : paths.join(', ')} of snapshot ${task.source.snapshotId} into ${task.targetPath}${task.deleteExtra ? ', deleting what the backup does not have' : ''}`,
  );
  // The whole volume: the listing of its root (for the root's owner, mode and times) runs beside the restore.
  const [restored, listed] = await Promise.all([runResticRestore(task, paths, steps, names), lookup]);
  if (!restored.ok) return restored.error;
  if (whole) {
    const root = listed.ok ? nodeAt(listed.value, task.source, '/') : undefined;
    const problems =
      root === undefined
        ? [
            `the owner, mode and times of the volume's root are not known: ${listed.ok ? 'restic ls did not list it' : listed.error.message}`,
          ]
        : await setFolderMetadata(task.targetPath, root);
    for (const problem of problems) steps.warn(problem);
  }
  const { filesDeleted, ...summary } = restored.value;
  return {
    ...summary,
    snapshotId: listed.ok ? listed.value.snapshotId : task.source.snapshotId,
    ...(task.deleteExtra ? { filesDeleted } : {}),
    durationSeconds: (steps.nowMs() - started) / 1000,
  } satisfies RestoreSummary;
}

async function runResticRestore(
  task: RestoreTask,
  paths: readonly string[],
  steps: RestoreSteps,
  names: RepositoryNames,
): Promise<Step<RestoreCounts>> {
  const throttle = progressThrottle(steps.progressIntervalMs);
  const failures: string[] = [];
  let summary: RestoreCounts | undefined;
  const exit = await steps.restic(restoreArgs(task, paths), {
    stopWhen: retryCannotHelp,
    onAnswer: (raw) => {
      const line = parseRestoreLine(raw);
      if (line?.kind === 'summary') summary = line.summary;
      if (line?.kind === 'status') {
        const shown = throttle.offer(line.progress, steps.nowMs());
        if (shown !== undefined) steps.progress(shown);
      }
    },
    onLine: (line) => {
      if (line.kind === 'error') failures.push(lineForLog(line) ?? line.message);
    },
  });
  const last = throttle.flush();
  if (last !== undefined) steps.progress(last);

  if (exit.exitCode === 0 && exit.stopped === undefined && summary !== undefined) return { ok: true, value: summary };
  if (exit.exitCode === 1 && exit.stopped === undefined && failures.length > 0) {
    const shown = failures.slice(0, failuresShown).join('; ');
    const more = failures.length > failuresShown ? ` and ${failures.length - failuresShown} more` : '';
    const hint = failures.some((f) => /directory not empty/.test(f))
      ? ': the target has folders where the backup has files; restore with deleteExtra to replace them'
      : '';
    return {
      ok: false,
      error: {
        type: 'error',
        code: 'ResticFailed',
        message: `restic restored the rest but not ${failures.length} entries (${shown}${more})${hint}`,
      },
    };
  }
  return { ok: false, error: snapshotError(exit, names, task.source) };
}
