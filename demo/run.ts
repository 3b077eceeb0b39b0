// `npm run demo`: Safehold's main job on this machine. Brings up the local
// cluster (real API server, Ceph radosgw as S3), makes a few namespaces with
// PVCs full of real files, installs Safehold's CRDs, a repository and a
// default policy, runs the operator, backs every protected volume up, and
// prints `safehold status`, for volumes and for the cluster's state.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { DumpRun, VolumeBackup } from '../src/api/index.ts';
import { bucketDumpName } from '../src/core/index.ts';
import { ignoreAlreadyExists, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { unverifiedCephKey } from '../testenv/ceph/cluster.ts';
import { connectTestClient } from '../testenv/client.ts';
import { installCrds } from '../testenv/crds.ts';
import { up } from '../testenv/environment.ts';
import { defaultEnvDir, repoRoot } from '../testenv/paths.ts';
import { imageOf } from '../testenv/storage/rbd-backend.ts';
import { RbdImageFiles } from '../testenv/storage/rbd-image-files.ts';
import { demoObjectStore } from './object-store.ts';

const say = (line: string) => console.log(`[demo] ${line}`);
const cli = join(repoRoot, 'src/bin/safehold.ts');

interface DemoVolume {
  namespace: string;
  name: string;
  annotation?: string;
  /** A Ceph-backed class (RBD or CephFS, shaped like ceph-csi's); the local dir class when absent. */
  storageClass?: string;
  /** Files of a Filesystem volume; for a Block volume, bytes at offsets ("1048576": bytes). */
  files: Record<string, string | Buffer>;
  block?: boolean;
}

const volumes: DemoVolume[] = [
  {
    namespace: 'demo-shop',
    name: 'postgres-data',
    files: {
      PG_VERSION: '16\n',
      'base/1/1259': randomBytes(256 * 1024),
      'base/1/2608': randomBytes(128 * 1024),
      'global/pg_control': randomBytes(8192),
    },
  },
  {
    namespace: 'demo-shop',
    name: 'uploads',
    files: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`img/${i}.jpg`, randomBytes(20_000 + i * 1000)])),
  },
  { namespace: 'demo-shop', name: 'cache', annotation: 'false', files: { 'cache.bin': randomBytes(64 * 1024) } },
  {
    namespace: 'demo-lab',
    name: 'notebooks',
    files: {
      'analysis.ipynb': '{"cells": []}\n',
      'data/results.csv': 'run,value\n1,0.5\n2,0.7\n',
      'README.md': '# lab notebooks\n',
    },
  },
  {
    namespace: 'demo-lab',
    name: 'vm-disk',
    storageClass: 'safehold-test-rbd',
    block: true,
    files: {
      '0': randomBytes(1024 * 1024),
      '536870912': randomBytes(3 * 1024 * 1024),
      '1000000000': randomBytes(4096),
    },
  },
  {
    namespace: 'demo-lab',
    name: 'shared',
    storageClass: 'safehold-test-cephfs',
    files: { 'datasets/a.csv': 'x,y\n1,2\n', 'datasets/b.bin': randomBytes(100_000) },
  },
  { namespace: 'demo-scratch', name: 'tmp', files: { 'scratch.txt': 'nobody needs this\n' } },
];

/** Where the demo writes a volume's contents: a folder, or the image file of an RBD block volume. */
async function contentsOf(pvName: string): Promise<string> {
  const pv = await client.get<PersistentVolume>(kinds.persistentVolume, { name: pvName });
  const csi = pv.spec?.csi;
  const attributes = csi?.volumeAttributes ?? {};
  if (csi?.driver === env.cephStorage.rbd.driver) {
    const files = new RbdImageFiles(env.cephStorage.rbd.fuseDir, env.ceph.confPath, env.cephStorage.rbd.pool);
    return files.ensure(imageOf({ volumeHandle: csi.volumeHandle, attributes }));
  }
  if (csi?.driver === env.cephStorage.cephfs.driver)
    return join(env.cephStorage.cephfs.mountDir, attributes.subvolumePath ?? '');
  return join(env.storage.root, 'volumes', pvName);
}

/** Each bucket's dump, once the discovery has covered the bucket, run once; resolves when all are stored. */
async function backUpBuckets(client: KubeClient, buckets: readonly string[]): Promise<void> {
  const started = Date.now();
  const runs: string[] = [];
  for (const bucket of buckets) {
    const dump = bucketDumpName(bucket);
    for (;;) {
      const made = await client.get(kinds.applicationDump, { namespace: 'safehold-system', name: dump }).then(
        () => true,
        () => false,
      );
      if (made) break;
      if (Date.now() - started > 120_000) throw new Error(`bucket ${bucket} was not covered within 2 minutes`);
      await sleep(500);
    }
    const created = await client.create<KubeObject>(kinds.dumpRun, {
      metadata: { generateName: `${dump}-demo-`, namespace: 'safehold-system' },
      spec: { dump },
    } as KubeObject);
    runs.push(created.metadata?.name ?? '');
  }
  say(`the discovery covered ${buckets.join(', ')} (read grants in their policies); backing them up`);
  for (;;) {
    const states = await Promise.all(
      runs.map((name) => client.get<DumpRun>(kinds.dumpRun, { namespace: 'safehold-system', name })),
    );
    const failed = states.find((r) => r.status?.phase === 'Failed');
    if (failed !== undefined)
      throw new Error(`bucket backup ${failed.metadata.name} failed: ${failed.status?.message ?? ''}`);
    if (states.every((r) => r.status?.phase === 'Succeeded')) break;
    if (Date.now() - started > 600_000) throw new Error('bucket backups did not finish within 10 minutes');
    await sleep(1000);
  }
  say(`buckets stored in ${((Date.now() - started) / 1000).toFixed(1)} s, each object as a file, with its manifest`);
}

async function bound(client: KubeClient, namespace: string, name: string): Promise<string> {
  for (;;) {
    const claim = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace, name });
    if (claim.status?.phase === 'Bound' && claim.spec?.volumeName !== undefined) return claim.spec.volumeName;
    await sleep(300);
  }
}

const env = await up(defaultEnvDir, say);
const client = connectTestClient(env.kubeconfig);
await installCrds(client);
say('Safehold CRDs installed');

for (const namespace of ['demo-shop', 'demo-lab', 'demo-scratch', 'safehold-system'])
  await ignoreAlreadyExists(() => client.create(kinds.namespace, { metadata: { name: namespace } }));
await client.mergePatch(
  kinds.namespace,
  { name: 'demo-scratch' },
  { metadata: { annotations: { 'safehold.io/backup': 'false' } } },
);
for (const volume of volumes) {
  await ignoreAlreadyExists(() =>
    client.create(kinds.persistentVolumeClaim, {
      metadata: {
        name: volume.name,
        namespace: volume.namespace,
        ...(volume.annotation === undefined ? {} : { annotations: { 'safehold.io/backup': volume.annotation } }),
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        ...(volume.storageClass === undefined ? {} : { storageClassName: volume.storageClass }),
        ...(volume.block === true ? { volumeMode: 'Block' } : {}),
      },
    } as KubeObject),
  );
  const root = await contentsOf(await bound(client, volume.namespace, volume.name));
  for (const [path, content] of Object.entries(volume.files)) {
    if (volume.block === true) {
      const device = await open(root, 'r+');
      await device.write(Buffer.from(content), 0, content.length, Number(path));
      await device.close();
      continue;
    }
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}
say(
  `${volumes.length} PVCs in demo-shop, demo-lab and demo-scratch (local, Ceph RBD block and CephFS), filled with data`,
);

await client.apply(
  kinds.secret,
  {
    metadata: { name: 'demo-s3', namespace: 'safehold-system' },
    stringData: {
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      userKey: unverifiedCephKey,
    },
  } as KubeObject,
  { force: true },
);
await client.apply(
  kinds.backupRepository,
  {
    metadata: { name: 'demo' },
    spec: {
      s3: {
        endpoint: env.ceph.s3.endpoint,
        bucket: 'safehold-demo',
        // One restic repository per namespace, each with its own key, generated by Safehold.
        prefix: 'tenants/{namespace}',
        accessKeyId: { namespace: 'safehold-system', name: 'demo-s3' },
        secretAccessKey: { namespace: 'safehold-system', name: 'demo-s3' },
      },
      // RBD block volumes are read from `rbd diff`: only what is allocated.
      ceph: { monitors: [env.ceph.monHost], user: 'admin', key: { namespace: 'safehold-system', name: 'demo-s3' } },
    },
  } as KubeObject,
  { force: true },
);
// The object store's users: an admin API reader and the backup reader, with nothing granted by hand.
const store = await demoObjectStore(env.ceph.confPath, env.ceph.s3.endpoint);
for (const [name, user] of [
  ['demo-store-admin', store.admin],
  ['demo-store-reader', store.reader],
] as const)
  await client.apply(
    kinds.secret,
    {
      metadata: { name, namespace: 'safehold-system' },
      stringData: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    } as KubeObject,
    { force: true },
  );
say(`radosgw user demo-apps owns buckets ${store.buckets.join(', ')}; demo-backup-reader may read none of them yet`);
await client.apply(
  kinds.backupPolicy,
  {
    metadata: { name: 'demo-default' },
    spec: {
      default: true,
      repository: { name: 'demo' },
      // The namespaces' API objects and the cluster-scoped ones too, as objects dumps on the policy's schedule.
      objects: { cluster: true },
      // Every bucket of the application's user, found through radosgw's admin API; demo-tmp left out.
      buckets: {
        endpoint: env.ceph.s3.endpoint,
        adminSecretRef: { name: 'demo-store-admin' },
        readerSecretRef: { name: 'demo-store-reader' },
        owners: [store.owner.uid],
        exclude: ['demo-tmp'],
        discoveryInterval: '10s',
      },
    },
  } as KubeObject,
  { force: true },
);
say('BackupRepository "demo" (radosgw bucket safehold-demo) and default BackupPolicy "demo-default" applied');

const operator = spawn(
  process.execPath,
  [
    cli,
    '--kubeconfig',
    env.kubeconfig,
    'operator',
    '--namespace',
    'safehold-system',
    '--lease-name',
    'safehold-demo',
    '--metrics-bind-address',
    '127.0.0.1:0',
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
// The operator logs JSON lines; the first says where it serves its metrics and dashboard.
const served = new Promise<string>((resolve) => {
  let pending = '';
  operator.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      const entry = JSON.parse(line) as { msg?: string; address?: string };
      if (entry.msg === 'serving metrics' && entry.address !== undefined) resolve(entry.address);
    }
  });
});
say(`operator started (pid ${operator.pid ?? '?'})`);
try {
  const started = Date.now();
  const names: { namespace: string; name: string }[] = [];
  for (const volume of volumes.filter((v) => v.namespace !== 'demo-scratch' && v.annotation === undefined)) {
    const created = await client.create<KubeObject & { spec: VolumeBackup['spec'] }>(kinds.volumeBackup, {
      metadata: { generateName: `${volume.name}-demo-`, namespace: volume.namespace },
      spec: { pvc: volume.name, trigger: 'manual' },
    });
    names.push({ namespace: volume.namespace, name: created.metadata?.name ?? '' });
  }
  say(`backing up ${names.length} protected volumes`);
  for (;;) {
    const runs = await Promise.all(names.map((n) => client.get<VolumeBackup>(kinds.volumeBackup, n)));
    const failed = runs.filter((r) => r.status?.phase === 'Failed');
    if (failed.length > 0)
      throw new Error(
        `backup failed: ${failed.map((f) => `${f.metadata.namespace}/${f.spec.pvc}: ${f.status?.message ?? ''}`).join('; ')}`,
      );
    if (runs.every((r) => r.status?.phase === 'Succeeded')) break;
    if (Date.now() - started > 600_000) throw new Error('backups did not finish within 10 minutes');
    await sleep(1000);
  }
  say(
    `all backups succeeded in ${((Date.now() - started) / 1000).toFixed(1)} s; restic repositories in s3://safehold-demo/tenants/<namespace>, one generated key each`,
  );
  const show = (args: string[]) => {
    console.log(`\n$ safehold ${args.join(' ')}`);
    return new Promise<void>((resolve) => {
      spawn(process.execPath, [cli, '--kubeconfig', env.kubeconfig, ...args], { stdio: 'inherit' }).on('exit', () =>
        resolve(),
      );
    });
  };
  await backUpBuckets(
    client,
    store.buckets.filter((b) => b !== 'demo-tmp'),
  );
  for (const namespace of ['demo-shop', 'demo-lab', 'demo-scratch']) await show(['status', '-n', namespace]);
  await show(['backups', '-n', 'demo-shop']);
  await show(['backups', '-n', 'demo-lab']);
  await show(['retention', 'preview', '-n', 'demo-shop']);
  // The cluster's state besides the volumes: each namespace's objects, the GitOps repositories, the cluster's.
  await show(['status', '--objects', '--all-namespaces']);
  const page = join(defaultEnvDir, 'demo-dashboard.html');
  writeFileSync(page, await (await fetch(`http://${await served}/`)).text());
  say(`the web dashboard as the operator served it (red and green, per namespace): ${page}`);
  say(`the cluster keeps running: export KUBECONFIG=${env.kubeconfig}; stop it with npm run env -- down`);
} finally {
  operator.kill('SIGTERM');
  client.close();
}
