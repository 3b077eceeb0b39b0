// Restore benchmark: the 2 GiB tree of bench/backup-2g.ts backed up once into
// a fresh repository on radosgw, then restored by plain `restic restore` and
// by Safehold's mover (probe, open, unlock, restore --sparse, the root's
// metadata) into fresh empty folders. Page caches cannot be dropped here, so
// the runs alternate (plain, mover, plain, mover), all sharing the restic
// cache the backup filled, and each side counts its better run.
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { makeTree } from './backup-2g.ts';
import { timedMover } from './mover-run.ts';

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

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export async function benchRestore(env: TestEnvironment, log: (line: string) => void): Promise<RestoreBenchResult> {
  const scratch = join(env.dir, 'bench-restore');
  const tree = join(scratch, 'tree');
  const made = makeTree(tree);
  log(`tree: ${made.files} files, ${(made.bytes / 2 ** 30).toFixed(2)} GiB`);
  const s3 = env.ceph.s3;
  const credentials = {
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    RESTIC_PASSWORD: 'bench-password',
  };
  const url = `s3:${s3.endpoint}/bench-restore-${Date.now()}`;
  const cacheDir = join(scratch, 'cache');
  const resticEnv = { ...process.env, ...credentials, RESTIC_REPOSITORY: url, RESTIC_CACHE_DIR: cacheDir };
  await run(env.tools.restic, ['init'], { env: resticEnv });
  const backup = await run(env.tools.restic, ['backup', '--json', '--host', 'bench', tree], {
    env: resticEnv,
    timeoutMs: 1_800_000,
  });
  const snapshotId = /"snapshot_id":"([0-9a-f]{64})"/.exec(backup.stdout)?.[1];
  if (snapshotId === undefined) throw new Error('restic backup printed no snapshot id');
  log(`backed up as snapshot ${snapshotId.slice(0, 8)} into ${url}`);

  let folders = 0;
  // Named like the tree, in a folder of its own: as a restore Job mounts the target volume.
  const freshFolder = () => {
    const folder = join(scratch, `target-${++folders}`, basename(tree));
    mkdirSync(folder, { recursive: true });
    return folder;
  };
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
