// Reading a backup's entries before restoring or downloading them: `restic ls
// --json` of the paths asked for tells that the snapshot is there (and its
// full id), which of the paths it holds, and what each one is. A path that is
// not in the snapshot is no error to restic (ls prints nothing, restore
// restores nothing), so the mover has to look. `restic snapshots --json <id>`
// finds one snapshot with its paths and tags (a block image's parent).
import type { Listing, SnapshotEntry, SnapshotInfo, SnapshotSource } from '../engine.ts';
import type { Failure, Outcome } from '../failure.ts';
import { inSnapshot } from '../snapshot-paths.ts';
import { resticError, retryCannotHelp, type RepositoryNames } from './failure.ts';
import type { ResticExit } from './process.ts';
import type { ResticSteps } from './repository.ts';
import { parseLinkTargets, parseLsLine, snapshotEntryOf } from './snapshot-listing.ts';

/**
 * Lists the volume paths in the snapshot, each with its own entries (and all
 * below them when recursive). keep says which entries to hold on to: a
 * recursive listing of a large volume can be long.
 */
export async function lookUp(
  steps: ResticSteps,
  names: RepositoryNames,
  source: SnapshotSource,
  paths: readonly string[],
  options: { recursive?: boolean; keep?: (entry: SnapshotEntry) => boolean } = {},
): Promise<Outcome<Listing>> {
  let snapshotId: string | undefined;
  const entries: SnapshotEntry[] = [];
  const exit = await steps.restic(
    [
      'ls',
      '--json',
      ...(options.recursive === true ? ['--recursive'] : []),
      source.snapshotId,
      ...paths.map((path) => inSnapshot(source.snapshotPath, path)),
    ],
    {
      stopWhen: retryCannotHelp,
      onAnswer: (line) => {
        const parsed = parseLsLine(line);
        if (parsed?.kind === 'snapshot') snapshotId ??= parsed.id;
        if (parsed?.kind !== 'node') return;
        const entry = snapshotEntryOf(parsed.node);
        if (options.keep?.(entry) ?? true) entries.push(entry);
      },
    },
  );
  if (exit.exitCode !== 0 || exit.stopped !== undefined)
    return { ok: false, error: snapshotError(exit, names, source) };
  if (snapshotId === undefined) {
    return {
      ok: false,
      error: { type: 'error', code: 'EngineFailed', message: 'restic ls did not name the snapshot' },
    };
  }
  return { ok: true, value: { snapshotId, entries } };
}

/** The targets of the symlinks in one folder of the snapshot, by name (`restic cat tree`). */
export async function linkTargets(
  steps: ResticSteps,
  names: RepositoryNames,
  source: SnapshotSource,
  folder: string,
): Promise<Outcome<Map<string, string>>> {
  const answer: string[] = [];
  const exit = await steps.restic(['cat', 'tree', `${source.snapshotId}:${inSnapshot(source.snapshotPath, folder)}`], {
    stopWhen: retryCannotHelp,
    onAnswer: (line) => answer.push(line),
  });
  if (exit.exitCode !== 0 || exit.stopped !== undefined)
    return { ok: false, error: snapshotError(exit, names, source) };
  const targets = parseLinkTargets(answer.join('\n'));
  if (targets === undefined) {
    return {
      ok: false,
      error: { type: 'error', code: 'EngineFailed', message: 'restic cat tree did not print a tree' },
    };
  }
  return { ok: true, value: targets };
}

/** The snapshot with this id or prefix (`restic snapshots --json <id>`); undefined when restic lists none. */
export async function findSnapshot(
  steps: ResticSteps,
  names: RepositoryNames,
  id: string,
  named: boolean,
): Promise<Outcome<SnapshotInfo | undefined>> {
  let answer = '';
  const exit = await steps.restic(['snapshots', '--json', id], {
    stopWhen: retryCannotHelp,
    onAnswer: (line) => {
      answer += line;
    },
  });
  if (exit.exitCode !== 0) {
    const error = named ? snapshotError(exit, names, { snapshotId: id, snapshotPath: '/' }) : resticError(exit, names);
    return { ok: false, error };
  }
  const found = (JSON.parse(answer || '[]') as { id?: string; paths?: string[]; tags?: string[] }[])[0];
  if (found?.id === undefined) return { ok: true, value: undefined };
  return { ok: true, value: { id: found.id, paths: found.paths ?? [], tags: found.tags ?? [] } };
}

/** The latest snapshot of a host holding a path (`restic snapshots --json --latest 1 --host H --path P`). */
export async function latestSnapshot(
  steps: ResticSteps,
  names: RepositoryNames,
  filter: { host: string; path: string },
): Promise<Outcome<SnapshotInfo | undefined>> {
  let answer = '';
  const exit = await steps.restic(
    ['snapshots', '--json', '--latest', '1', '--host', filter.host, '--path', filter.path],
    {
      stopWhen: retryCannotHelp,
      onAnswer: (line) => {
        answer += line;
      },
    },
  );
  if (exit.exitCode !== 0) return { ok: false, error: resticError(exit, names) };
  const found = (JSON.parse(answer || '[]') as { id?: string; paths?: string[]; tags?: string[] }[]).at(-1);
  if (found?.id === undefined) return { ok: true, value: undefined };
  return { ok: true, value: { id: found.id, paths: found.paths ?? [], tags: found.tags ?? [] } };
}

const noSnapshot = /no matching ID found/i;
const ambiguous = /multiple (IDs|snapshots) with prefix/i;
// `<snapshot>:<folder>` with a folder the snapshot does not have: "path data/x: not found" or "...: not a directory".
const noFolder = /^(?:Fatal: )?path (.+): (not found|not a directory)$/im;

/** Why a restic command on a snapshot failed: the snapshot or its folder missing, else as resticError says. */
export function snapshotError(exit: ResticExit, names: RepositoryNames, source: SnapshotSource): Failure {
  if (exit.notReady !== undefined) return exit.notReady;
  const all = exit.messages.join('\n');
  const id = source.snapshotId;
  if (exit.stopped === undefined && noSnapshot.test(all)) {
    return {
      type: 'error',
      code: 'SnapshotNotFound',
      message: `there is no snapshot ${id} in ${names.url}: retention may have forgotten it, or the backup names another repository`,
    };
  }
  if (exit.stopped === undefined && ambiguous.test(all)) {
    return { type: 'error', code: 'InvalidTask', message: `${id} fits more than one snapshot: name it by its full id` };
  }
  const folder = noFolder.exec(all);
  if (exit.stopped === undefined && folder !== null) {
    return {
      type: 'error',
      code: 'PathNotFound',
      message: `snapshot ${id} has no folder ${source.snapshotPath} (/${folder[1] ?? ''} ${folder[2] ?? 'not found'}): the backup read the volume from another folder`,
    };
  }
  return resticError(exit, names);
}
