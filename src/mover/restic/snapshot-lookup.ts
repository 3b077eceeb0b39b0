// Reading a backup's entries before restoring or downloading them: `restic ls
// --json` of the paths asked for tells that the snapshot is there (and its
// full id), which of the paths it holds, and what each one is. A path that is
// not in the snapshot is no error to restic (ls prints nothing, restore
// restores nothing), so the mover has to look.
import type { MoverError, RestoreTask } from '../../api/index.ts';
import type { RepositorySteps } from './repository.ts';
import { resticError, retryCannotHelp, type RepositoryNames } from './failure.ts';
import type { ResticExit } from './process.ts';
import { parseLinkTargets, parseLsLine, type SnapshotNode } from './snapshot-listing.ts';
import { inSnapshot } from '../snapshot-paths.ts';

export type SnapshotSource = RestoreTask['source'];
export type Step<T> = { ok: true; value: T } | { ok: false; error: MoverError };

export interface Lookup {
  /** The snapshot's full id. */
  snapshotId: string;
  /** The nodes restic printed, in its order (each path asked for first, then what is in it). */
  nodes: SnapshotNode[];
}

/**
 * Lists the volume paths in the snapshot, each with its own entries (and all
 * below them when recursive). keep says which nodes to hold on to: a
 * recursive listing of a large volume can be long.
 */
export async function lookUp(
  steps: RepositorySteps,
  names: RepositoryNames,
  source: SnapshotSource,
  paths: readonly string[],
  options: { recursive?: boolean; keep?: (node: SnapshotNode) => boolean } = {},
): Promise<Step<Lookup>> {
  let snapshotId: string | undefined;
  const nodes: SnapshotNode[] = [];
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
        if (parsed?.kind === 'node' && (options.keep?.(parsed.node) ?? true)) nodes.push(parsed.node);
      },
    },
  );
  if (exit.exitCode !== 0 || exit.stopped !== undefined)
    return { ok: false, error: snapshotError(exit, names, source) };
  if (snapshotId === undefined) {
    return {
      ok: false,
      error: { type: 'error', code: 'ResticFailed', message: 'restic ls did not name the snapshot' },
    };
  }
  return { ok: true, value: { snapshotId, nodes } };
}

/** The node restic printed for a volume path, if the snapshot has it. */
export function nodeAt(lookup: Lookup, source: SnapshotSource, path: string): SnapshotNode | undefined {
  const wanted = inSnapshot(source.snapshotPath, path);
  return lookup.nodes.find((node) => node.path === wanted);
}

/** The targets of the symlinks in one folder of the snapshot, by name (`restic cat tree`). */
export async function linkTargets(
  steps: RepositorySteps,
  names: RepositoryNames,
  source: SnapshotSource,
  folder: string,
): Promise<Step<Map<string, string>>> {
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
      error: { type: 'error', code: 'ResticFailed', message: 'restic cat tree did not print a tree' },
    };
  }
  return { ok: true, value: targets };
}

const noSnapshot = /no matching ID found/i;
const ambiguous = /multiple (IDs|snapshots) with prefix/i;
// `<snapshot>:<folder>` with a folder the snapshot does not have: "path data/x: not found" or "...: not a directory".
const noFolder = /^(?:Fatal: )?path (.+): (not found|not a directory)$/im;

/** Why a restic command on a snapshot failed: the snapshot or its folder missing, else as resticError says. */
export function snapshotError(exit: ResticExit, names: RepositoryNames, source: SnapshotSource): MoverError {
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
