// Benchmark for issue 4: a 2 GiB tree of large and small files backed up by
// Safehold's mover and by plain `restic backup`, each into a fresh repository
// on the same radosgw, in the same run; and the end-to-end time of a
// VolumeBackup of the same tree on a PVC (snapshot, clone, Job, mover).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { VolumeBackup } from '../src/api/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import { timedMover } from './mover-run.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { applyBenchSecrets, operatorArgv } from './operator-process.ts';

export interface BackupBenchResult {
  treeBytes: number;
  files: number;
  plainResticSeconds: number;
  moverSeconds: number;
  ratio: number;
  endToEndSeconds: number;
}

/** 6 files of 256 MiB and 20,480 files of 25 KiB: 2 GiB of incompressible data. */
export function makeTree(dir: string): { bytes: number; files: number } {
  rmSync(dir, { recursive: true, force: true });
  let bytes = 0;
  let files = 0;
  mkdirSync(join(dir, 'large'), { recursive: true });
  for (let i = 0; i < 6; i++) {
    const parts = Array.from({ length: 16 }, () => randomBytes(16 * 1024 * 1024));
    writeFileSync(join(dir, 'large', `blob-${i}.bin`), Buffer.concat(parts));
    bytes += 256 * 1024 * 1024;
    files++;
  }
  for (let d = 0; d < 64; d++) {
    const sub = join(dir, 'small', `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 320; f++) {
      writeFileSync(join(sub, `f${f}.dat`), randomBytes(25 * 1024));
      bytes += 25 * 1024;
      files++;
    }
  }
  return { bytes, files };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export async function benchBackup(
  env: TestEnvironment,
  client: KubeClient,
  log: (line: string) => void,
): Promise<BackupBenchResult> {
  const scratch = join(env.dir, 'bench-backup');
  const tree = join(scratch, 'tree');
  const tree2 = makeTree(tree);
  log(`tree: ${tree2.files} files, ${(tree2.bytes / 2 ** 30).toFixed(2)} GiB`);
  const stamp = Date.now();
  const s3 = env.ceph.s3;
  const credentials = {
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    RESTIC_PASSWORD: 'bench-password',
  };

  const plainRepo = `s3:${s3.endpoint}/bench-plain-${stamp}`;
  const plainEnv = {
    ...process.env,
    ...credentials,
    RESTIC_REPOSITORY: plainRepo,
    RESTIC_CACHE_DIR: join(scratch, 'cache-plain'),
  };
  const plainResticSeconds = await timed(async () => {
    await run(env.tools.restic, ['init'], { env: plainEnv });
    await run(env.tools.restic, ['backup', '--json', '--host', 'bench', tree], { env: plainEnv, timeoutMs: 1_800_000 });
  });
  log(`plain restic init + backup: ${plainResticSeconds.toFixed(1)} s`);

  const task = {
    kind: 'backup',
    repository: { url: `s3:${s3.endpoint}/bench-mover-${stamp}`, initialize: true },
    sourcePath: tree,
    host: 'bench',
    tags: ['bench'],
    cacheDir: join(scratch, 'cache-mover'),
    changeDetection: 'inode',
  };
  const { seconds: moverSeconds } = await timedMover(env, task, { credentials, scratch });
  log(`safehold mover (probe, init, unlock, backup): ${moverSeconds.toFixed(1)} s`);

  const endToEndSeconds = await endToEnd(env, client, tree, stamp, log);
  rmSync(scratch, { recursive: true, force: true });
  return {
    treeBytes: tree2.bytes,
    files: tree2.files,
    plainResticSeconds,
    moverSeconds,
    ratio: moverSeconds / plainResticSeconds,
    endToEndSeconds,
  };
}

/** A PVC holding the tree, backed up by a running operator: VolumeBackup created to Succeeded. */
async function endToEnd(
  env: TestEnvironment,
  client: KubeClient,
  tree: string,
  stamp: number,
  log: (line: string) => void,
): Promise<number> {
  const ns = `bench-e2e-${stamp}`;
  await client.create(kinds.namespace, { metadata: { name: ns, labels: { 'safehold.bench/e2e': String(stamp) } } });
  const ref = await applyBenchSecrets(env, client);
  await client.apply(
    kinds.backupRepository,
    {
      metadata: { name: 'bench-e2e' },
      spec: {
        s3: {
          endpoint: env.ceph.s3.endpoint,
          bucket: `bench-e2e-${stamp}`,
          accessKeyId: ref('bench-s3'),
          secretAccessKey: ref('bench-s3'),
        },
        password: ref('bench-password'),
      },
    } as KubeObject,
    { force: true },
  );
  await client.apply(
    kinds.backupPolicy,
    {
      metadata: { name: 'bench-e2e' },
      spec: {
        priority: 1000,
        selector: { namespaceSelector: { matchLabels: { 'safehold.bench/e2e': String(stamp) } } },
        repository: { name: 'bench-e2e' },
        method: 'snapshot',
      },
    } as KubeObject,
    { force: true },
  );
  await client.create(kinds.persistentVolumeClaim, {
    metadata: { name: 'tree', namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '4Gi' } } },
  } as KubeObject);
  let pv = '';
  while (pv === '') {
    const claim = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace: ns, name: 'tree' });
    if (claim.status?.phase === 'Bound') pv = claim.spec?.volumeName ?? '';
    else await sleep(200);
  }
  cpSync(tree, join(env.storage.root, 'volumes', pv), { recursive: true });
  const operator = spawn(process.execPath, operatorArgv(env, `bench-e2e-${stamp}`), { stdio: 'ignore' });
  try {
    await sleep(3000);
    const started = Date.now();
    const created = await client.create<KubeObject & { spec: object }>(kinds.volumeBackup, {
      metadata: { generateName: 'tree-', namespace: ns },
      spec: { pvc: 'tree' },
    });
    for (;;) {
      const backup = await client.get<VolumeBackup>(kinds.volumeBackup, {
        namespace: ns,
        name: created.metadata?.name ?? '',
      });
      if (backup.status?.phase === 'Succeeded') break;
      if (backup.status?.phase === 'Failed')
        throw new Error(`end-to-end backup failed: ${backup.status.message ?? ''}`);
      await sleep(250);
    }
    const seconds = (Date.now() - started) / 1000;
    log(`end to end (VolumeBackup created to Succeeded: snapshot, clone, Job, mover): ${seconds.toFixed(1)} s`);
    return seconds;
  } finally {
    operator.kill('SIGTERM');
    await client.delete(kinds.namespace, { name: ns }).catch(() => undefined);
    await client.delete(kinds.backupPolicy, { name: 'bench-e2e' }).catch(() => undefined);
  }
}
