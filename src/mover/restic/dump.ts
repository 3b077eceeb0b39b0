// `restic dump`: one file of a snapshot, written to a file (`--target`, a
// download) or streamed from restic's stdout (a block volume's image).
import type { Readable } from 'node:stream';
import type { SnapshotSource } from '../engine.ts';
import type { Outcome } from '../failure.ts';
import { inSnapshot } from '../snapshot-paths.ts';
import { isDamagedData, retryCannotHelp, type RepositoryNames } from './failure.ts';
import type { ResticSteps } from './repository.ts';
import { snapshotError } from './snapshot-lookup.ts';

export async function dumpFile(
  steps: ResticSteps,
  names: RepositoryNames,
  dump: { source: SnapshotSource; snapshotId: string; path: string; file: string },
): Promise<Outcome<void>> {
  const full = inSnapshot(dump.source.snapshotPath, dump.path);
  const exit = await steps.restic(['dump', '--target', dump.file, dump.snapshotId, full], {
    stopWhen: retryCannotHelp,
  });
  if (exit.exitCode !== 0 || exit.stopped !== undefined) {
    return { ok: false, error: snapshotError(exit, names, dump.source) };
  }
  return { ok: true, value: undefined };
}

/** The file's bytes to consume; a failure says what restic (or consume) last said, for the caller to place. */
export async function dumpStream<T>(
  steps: ResticSteps,
  snapshotId: string,
  path: string,
  consume: (bytes: Readable) => Promise<T>,
): Promise<Outcome<T>> {
  let consumed: { value: T } | undefined;
  const exit = await steps.restic(['dump', snapshotId, path], {
    onStdout: async (stdout) => {
      consumed = { value: await consume(stdout) };
    },
  });
  if (exit.exitCode !== 0 || consumed === undefined) {
    const said = exit.messages.slice(-3).join('; ') || `restic dump exited ${String(exit.exitCode)}`;
    // Data that fails its checks is named as such: a drill's verdict depends on telling it from an outage.
    return {
      ok: false,
      error: { type: 'error', code: isDamagedData(said) ? 'Unverified' : 'EngineFailed', message: said },
    };
  }
  return { ok: true, value: consumed.value };
}
