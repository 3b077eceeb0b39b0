// Restore benchmark: the 2 GiB tree of bench/backup-2g.ts backed up once into
// a fresh repository on radosgw, then restored by plain `restic restore` and
// by Safehold's mover (probe, open, unlock, restore --sparse, the root's
// metadata) into fresh empty folders. Page caches cannot be dropped here, so
// the runs alternate (plain, mover, plain, mover), all sharing the restic
// cache the backup filled, and each side counts its better run.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { timedMover } from './mover-run.ts';
import { backedUpTree, timed } from './restore-fixture.ts';

export interface RestoreBenchResult {
  treeBytes: number;
  files: number;
  /** The better of the runs of each. */
  plainResticSeconds: number;
  moverSeconds: number;
  ratio: number;
  runs: { plainResticSeconds: number[]; moverSeconds: number[] };
  method: string;
}

const rounds = 2;

export async function benchRestore(env: TestEnvironment, log: (line: string) => void): Promise<RestoreBenchResult> {
  const { scratch, tree, made, url, cacheDir, credentials, resticEnv, snapshotId, freshFolder } = await backedUpTree(
    env,
    'bench-restore',
    log,
  );
  const plain = async () => {
    const target = freshFolder();
    const seconds = await timed(() =>
      run(env.tools.restic, ['restore', snapshotId, '--target', target], { env: resticEnv, timeoutMs: 1_800_000 }),
    );
    rmSync(dirname(target), { recursive: true, force: true });
    return seconds;
  };
  const mover = async () => {
    const target = freshFolder();
    const task = {
      kind: 'restore',
      repository: { url, initialize: false },
      cacheDir,
      source: { snapshotId, snapshotPath: tree },
      targetPath: target,
    };
    const { seconds, result } = await timedMover(env, task, { credentials, scratch });
    if (result.type !== 'restored' || result.totalBytes < made.bytes) {
      throw new Error(`the mover did not restore the tree: ${JSON.stringify(result)}`);
    }
    rmSync(dirname(target), { recursive: true, force: true });
    return seconds;
  };

  const runs = { plainResticSeconds: [] as number[], moverSeconds: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    runs.plainResticSeconds.push(await plain());
    log(`round ${round}: plain restic restore ${runs.plainResticSeconds.at(-1)?.toFixed(1)} s`);
    runs.moverSeconds.push(await mover());
    log(`round ${round}: safehold mover restore ${runs.moverSeconds.at(-1)?.toFixed(1)} s`);
  }
  rmSync(scratch, { recursive: true, force: true });
  const plainResticSeconds = Math.min(...runs.plainResticSeconds);
  const moverSeconds = Math.min(...runs.moverSeconds);
  return {
    treeBytes: made.bytes,
    files: made.files,
    plainResticSeconds,
    moverSeconds,
    ratio: moverSeconds / plainResticSeconds,
    runs,
    method: `${rounds} rounds of plain \`restic restore <id> --target\` then the mover's restore task, each into a fresh empty folder, sharing the restic cache the backup filled; the better run of each`,
  };
}
