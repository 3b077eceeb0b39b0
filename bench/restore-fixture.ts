// What the restore and drill benchmarks start from: the 2 GiB tree of
// bench/backup-2g.ts backed up once by plain restic into a fresh repository on
// radosgw, and fresh empty folders to restore it into, each named like the
// tree in a folder of its own (as a restore Job mounts its target volume).
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { makeTree } from './backup-2g.ts';

export interface BackedUpTree {
  scratch: string;
  tree: string;
  made: ReturnType<typeof makeTree>;
  url: string;
  cacheDir: string;
  credentials: Record<string, string>;
  resticEnv: NodeJS.ProcessEnv;
  snapshotId: string;
  /** A fresh empty folder named like the tree. */
  freshFolder: () => string;
}

export async function backedUpTree(
  env: TestEnvironment,
  name: string,
  log: (line: string) => void,
): Promise<BackedUpTree> {
  const scratch = join(env.dir, name);
  const tree = join(scratch, 'tree');
  const made = makeTree(tree);
  log(`tree: ${made.files} files, ${(made.bytes / 2 ** 30).toFixed(2)} GiB`);
  const s3 = env.ceph.s3;
  const credentials = {
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    RESTIC_PASSWORD: 'bench-password',
  };
  const url = `s3:${s3.endpoint}/${name}-${Date.now()}`;
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
  const freshFolder = () => {
    const folder = join(scratch, `target-${++folders}`, basename(tree));
    mkdirSync(folder, { recursive: true });
    return folder;
  };
  return { scratch, tree, made, url, cacheDir, credentials, resticEnv, snapshotId, freshFolder };
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}
