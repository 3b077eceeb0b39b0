// The heart of Safehold: a protected volume is snapshotted, copied by a mover
// Job into a restic repository on radosgw, and the result is visible on the
// volume; failures retry and then say why; schedules run and catch up.
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../src/api/index.ts';
import { isAlreadyExists, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  GiveUp,
  testEnv,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import {
  backUpNow,
  installCrds,
  metricValue,
  safehold,
  startOperator,
  waitForRun,
  type RunningOperator,
} from './support/safehold.ts';

function treeDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile()) out[relative(root, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

function fillVolume(root: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const dir = join(root, `dir-${i % 5}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file-${i}.txt`), `file ${i} `.repeat(3000 + i));
  }
  writeFileSync(join(root, 'private.key'), 'only root may read this', { mode: 0o600 });
}

describe('backing up volumes', () => {
  let client: KubeClient;
  let operator: RunningOperator | undefined;
  let ns = '';
  const id = uniqueName('bk');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policyName = `policy-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'backup-test-'));

  const restic = async (args: string[]) => {
    const env = testEnv();
    return run(env.tools.restic, args, {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}/${ns}`,
        RESTIC_PASSWORD: 'test-repository-password',
        AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
        AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
        RESTIC_CACHE_DIR: join(work, 'cache'),
      },
      timeoutMs: 300_000,
    });
  };
  const getBackup = (name: string) => client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name });
  /** Temporary objects of this namespace's runs (`run` narrows to one), in the volume's namespace and in Safehold's. */
  const runObjects = async (run?: string) => {
    const runSelector = run === undefined ? 'safehold.io/run' : `safehold.io/run=${run}`;
    const ours = `${runSelector},safehold.io/namespace=${ns}`;
    const lists = await Promise.all([
      ...[kinds.persistentVolumeClaim, kinds.volumeSnapshot, kinds.secret, kinds.job].map(
        async (kind) =>
          [
            kind,
            await client.list<KubeObject>(kind, { namespace: ns, query: { labelSelector: runSelector } }),
          ] as const,
      ),
      ...[kinds.persistentVolumeClaim, kinds.secret, kinds.job].map(
        async (kind) =>
          [
            kind,
            await client.list<KubeObject>(kind, { namespace: 'safehold-system', query: { labelSelector: ours } }),
          ] as const,
      ),
      (async () =>
        [
          kinds.persistentVolume,
          await client.list<KubeObject>(kinds.persistentVolume, { query: { labelSelector: ours } }),
        ] as const)(),
    ]);
    return lists.flatMap(([kind, list]) =>
      list.items
        .filter((o) => o.metadata?.labels?.['safehold.io/kept'] !== 'true')
        .map((o) => `${kind.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`),
    );
  };
  const backupsOf = async (pvc: string) =>
    (await client.list<VolumeBackup>(kinds.volumeBackup, { namespace: ns })).items.filter((b) => b.spec.pvc === pvc);

  beforeAll(async () => {
    client = clientAs('admin');
    const env = testEnv();
    await installCrds(client);
    await client.create(kinds.namespace, { metadata: { name: 'safehold-system' } }).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
    await client.create(kinds.secret, {
      metadata: { name: `${id}-s3`, namespace: 'safehold-system' },
      stringData: { AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey, AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey },
    } as KubeObject);
    await client.create(kinds.secret, {
      metadata: { name: `${id}-password`, namespace: 'safehold-system' },
      stringData: { password: 'test-repository-password' },
    } as KubeObject);
    await client.create(kinds.backupRepository, {
      metadata: { name: repoName },
      spec: {
        s3: {
          endpoint: env.ceph.s3.endpoint,
          bucket,
          prefix: '{namespace}',
          accessKeyId: { namespace: 'safehold-system', name: `${id}-s3` },
          secretAccessKey: { namespace: 'safehold-system', name: `${id}-s3` },
        },
        password: { namespace: 'safehold-system', name: `${id}-password` },
      },
    } as KubeObject);
    ns = await createNamespace(client, 'backup');
    await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repoName },
        schedule: { cron: '0 3 * * *', timeZone: 'Europe/Zurich', spreadWindow: '30m' },
        retry: { limit: 1, deadline: '10m' },
      },
    } as KubeObject);
    operator = await startOperator('safehold-system', `backup-${id}`, `lease-${id}`);
  });

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policyName }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    if (ns !== '') await deleteNamespace(client, ns);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  it('backs a volume up from a snapshot, restorable byte for byte, and shows it on the volume', async () => {
    await createClaim(client, ns, 'data');
    const volume = await boundVolumePath(client, ns, 'data');
    fillVolume(volume, 40);

    const cli = await safehold(['backup', `${ns}/data`, '--wait']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/Succeeded: snapshot [0-9a-f]{64}/);

    const [backup] = await backupsOf('data');
    expect(backup?.status).toMatchObject({
      phase: 'Succeeded',
      method: 'snapshot',
      attempt: 1,
      policy: policyName,
      repository: repoName,
      files: { new: 41, total: 41 },
    });
    const snapshotId = backup?.status?.snapshotId ?? '';

    const claim = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace: ns, name: 'data' });
    const pv = await client.get<PersistentVolume>(kinds.persistentVolume, { name: claim.spec?.volumeName ?? '' });
    for (const object of [claim, pv]) {
      expect(object.metadata?.annotations).toMatchObject({
        'safehold.io/last-result': 'Succeeded',
        'safehold.io/last-snapshot': snapshotId,
      });
      expect(Date.parse(object.metadata?.annotations?.['safehold.io/last-backup'] ?? '')).toBeGreaterThan(
        Date.now() - 300_000,
      );
    }

    const snapshots = JSON.parse((await restic(['snapshots', '--json'])).stdout) as {
      id: string;
      hostname: string;
      tags: string[];
      paths: string[];
    }[];
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ id: snapshotId, hostname: `k8s-${ns}-nspvc-data`, paths: ['/data'] });
    expect(snapshots[0]?.tags).toEqual(
      expect.arrayContaining([
        `namespace=${ns}`,
        'pvc=data',
        `policy=${policyName}`,
        `run=${backup?.metadata.name ?? ''}`,
      ]),
    );

    const target = join(work, 'restore');
    await restic(['restore', snapshotId, '--target', target]);
    expect(treeDigest(join(target, 'data'))).toEqual(treeDigest(volume));
    expect(statSync(join(target, 'data', 'private.key')).mode & 0o777).toBe(0o600);
    await restic(['check']);

    // Nothing temporary is left behind.
    await waitFor('the run to be cleaned up', async () => {
      const b = await getBackup(backup?.metadata.name ?? '');
      return b.status?.conditions?.some((c) => c.type === 'CleanedUp' && c.status === 'True') === true;
    });
    await waitFor('the run objects to be gone', async () => (await runObjects()).length === 0, {
      timeoutMs: 30_000,
    }).catch(() => undefined);
    expect(await runObjects()).toEqual([]);

    const status = await safehold(['status', '-n', ns, '-o', 'json']);
    const row = (JSON.parse(status.stdout) as { name: string; decision: string; lastBackup: string | null }[]).find(
      (r) => r.name === 'data',
    );
    expect(row).toMatchObject({ decision: 'protected' });
    expect(row?.lastBackup).not.toBeNull();
  });

  it('backs up only what changed the second time', async () => {
    const volume = await boundVolumePath(client, ns, 'data');
    writeFileSync(join(volume, 'dir-0', 'file-0.txt'), 'changed');
    writeFileSync(join(volume, 'new.txt'), 'new');
    const cli = await safehold(['backup', `${ns}/data`, '--wait']);
    expect(cli.code).toBe(0);
    const latest = (await backupsOf('data'))
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))
      .at(-1);
    // The test driver's snapshot clone is a copy (new inodes and ctimes): restic's full check reads
    // every file again, finds the unchanged ones' data already stored, and says why in the status.
    expect(latest?.status?.files).toMatchObject({ new: 1, total: 42 });
    expect(latest?.status?.changeDetection).toMatchObject({ mode: 'full' });
    expect(latest?.status?.changeDetection?.reason).toContain('may be a copy');

    // Nothing changed since: the third backup reads everything and adds almost nothing.
    expect((await safehold(['backup', `${ns}/data`, '--wait'])).code).toBe(0);
    const unchanged = (await backupsOf('data'))
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))
      .at(-1);
    expect(unchanged?.status?.files).toMatchObject({ new: 0, total: 42 });
    // A new snapshot and tree metadata only: tens of KiB, against the volume's data.
    expect(unchanged?.status?.bytes?.added).toBeLessThan(64 * 1024);
    expect(unchanged?.status?.bytes?.total).toBeGreaterThan(800 * 1024);
  });

  it('never keeps the old content of a file rewritten in place with the same size and mtime', async () => {
    const volume = await boundVolumePath(client, ns, 'data');
    const path = join(volume, 'same-size.bin');
    // Whole seconds, so that setting the time back restores it exactly, to the nanosecond.
    const mtime = 1_780_000_000;
    writeFileSync(path, Buffer.alloc(64 * 1024, 'a'));
    utimesSync(path, mtime, mtime);
    const first = await backUpNow(client, ns, 'data', 'same-size-1');
    writeFileSync(path, Buffer.alloc(64 * 1024, 'b'));
    utimesSync(path, mtime, mtime); // as an editor or rsync --times would leave it
    const second = await backUpNow(client, ns, 'data', 'same-size-2');
    const dump = async (backup: VolumeBackup) =>
      (await restic(['dump', backup.status?.snapshotId ?? '', '/data/same-size.bin'])).stdout;
    expect((await dump(first)).slice(0, 4)).toBe('aaaa');
    expect((await dump(second)).slice(0, 4)).toBe('bbbb');
    expect(second.status?.changeDetection?.mode).toBe('full');
  });

  it("backs up the snapshot's content even when the volume changes after the snapshot", async () => {
    await createClaim(client, ns, 'moving');
    const volume = await boundVolumePath(client, ns, 'moving');
    fillVolume(volume, 10);
    const before = treeDigest(volume);
    const created = await client.create<KubeObject & { spec: object }>(kinds.volumeBackup, {
      metadata: { generateName: 'moving-', namespace: ns },
      spec: { pvc: 'moving' },
    });
    const name = created.metadata?.name ?? '';
    await waitFor(
      'the run snapshot to be ready',
      async () => {
        const snapshots = await client.list<KubeObject & { status?: { readyToUse?: boolean } }>(kinds.volumeSnapshot, {
          namespace: ns,
          query: { labelSelector: `safehold.io/run=${name}` },
        });
        return snapshots.items.some((s) => s.status?.readyToUse === true);
      },
      { intervalMs: 50 },
    );
    writeFileSync(join(volume, 'dir-0', 'file-0.txt'), 'written after the snapshot');
    rmSync(join(volume, 'dir-1'), { recursive: true });
    await waitFor('the run to succeed', async () => (await getBackup(name)).status?.phase === 'Succeeded', {
      timeoutMs: 120_000,
    });
    const target = join(work, 'moving');
    await restic(['restore', (await getBackup(name)).status?.snapshotId ?? '', '--target', target]);
    expect(treeDigest(join(target, 'data'))).toEqual(before);
  });

  it('finishes a run whose operator was killed mid-run, once, leaving nothing behind', async () => {
    await createClaim(client, ns, 'interrupted');
    fillVolume(await boundVolumePath(client, ns, 'interrupted'), 5);
    const created = await client.create<KubeObject & { spec: object }>(kinds.volumeBackup, {
      metadata: { generateName: 'interrupted-', namespace: ns },
      spec: { pvc: 'interrupted' },
    });
    const name = created.metadata?.name ?? '';
    await waitFor(
      'the mover Job to exist',
      async () =>
        (
          await client.list<KubeObject>(kinds.job, {
            namespace: 'safehold-system',
            query: { labelSelector: `safehold.io/run=${name},safehold.io/namespace=${ns}` },
          })
        ).items.length > 0,
      { intervalMs: 50 },
    );
    operator?.process.kill('SIGKILL');
    await new Promise((resolve) => operator?.process.once('exit', resolve));
    operator = await startOperator('safehold-system', `backup-${id}-restarted`, `lease-${id}`);
    await waitFor('the interrupted run to succeed', async () => (await getBackup(name)).status?.phase === 'Succeeded', {
      timeoutMs: 120_000,
    });
    const run = await getBackup(name);
    expect(run.status?.attempt).toBe(1);
    expect((await backupsOf('interrupted')).map((b) => b.metadata.name)).toEqual([name]);
    await waitFor(
      'the run to be cleaned up',
      async () =>
        (await getBackup(name)).status?.conditions?.some((c) => c.type === 'CleanedUp' && c.status === 'True') === true,
    );
    // Deletion waits for finalizers (PVC and snapshot protection): what is deleted goes within seconds.
    await waitFor('the run objects to be gone', async () => (await runObjects(name)).length === 0, {
      timeoutMs: 30_000,
    }).catch(() => undefined);
    expect(await runObjects(name)).toEqual([]);
  });

  it('never runs more movers than the global limit (20 due volumes, limit 3)', async () => {
    await client.mergePatch(kinds.backupPolicy, { name: policyName }, { spec: { concurrency: { global: 3 } } });
    try {
      const names = Array.from({ length: 20 }, (_, i) => `many-${i}`);
      for (const pvc of names) await createClaim(client, ns, pvc);
      for (const pvc of names) writeFileSync(join(await boundVolumePath(client, ns, pvc), 'file'), pvc);
      for (const pvc of names)
        await client.create(kinds.volumeBackup, {
          metadata: { generateName: `${pvc}-`, namespace: ns },
          spec: { pvc },
        } as KubeObject);
      let most = 0;
      for (;;) {
        const runs = (await client.list<VolumeBackup>(kinds.volumeBackup, { namespace: ns })).items.filter((b) =>
          b.spec.pvc.startsWith('many-'),
        );
        most = Math.max(
          most,
          runs.filter((b) => b.status?.phase === 'Snapshotting' || b.status?.phase === 'Running').length,
        );
        if (runs.every((b) => b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed')) {
          expect(runs.filter((b) => b.status?.phase === 'Succeeded')).toHaveLength(20);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(most).toBeGreaterThanOrEqual(2);
      expect(most).toBeLessThanOrEqual(3);
    } finally {
      await client.mergePatch(kinds.backupPolicy, { name: policyName }, { spec: { concurrency: null } });
    }
  }, 400_000);

  it('keeps the last N snapshots in the cluster when the policy asks (seed 004)', async () => {
    await client.mergePatch(kinds.backupPolicy, { name: policyName }, { spec: { keepSnapshots: 2 } });
    try {
      await createClaim(client, ns, 'kept');
      fillVolume(await boundVolumePath(client, ns, 'kept'), 3);
      for (let i = 0; i < 3; i++) expect((await safehold(['backup', `${ns}/kept`, '--wait'])).code).toBe(0);
      const runs = (await backupsOf('kept')).sort((a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
      );
      await waitFor('the oldest kept snapshot to go', async () => {
        const snapshots = await client.list<
          KubeObject & { spec?: { source?: { persistentVolumeClaimName?: string } } }
        >(kinds.volumeSnapshot, { namespace: ns, query: { labelSelector: 'safehold.io/kept=true' } });
        const names = snapshots.items
          .filter((s) => s.spec?.source?.persistentVolumeClaimName === 'kept')
          .map((s) => s.metadata?.name)
          .sort();
        return (
          JSON.stringify(names) ===
          JSON.stringify(
            runs
              .slice(1)
              .map((r) => r.metadata.name)
              .sort(),
          )
        );
      });
    } finally {
      await client.mergePatch(kinds.backupPolicy, { name: policyName }, { spec: { keepSnapshots: 0 } });
    }
  });

  it('backs up a live volume on the node that has it mounted', async () => {
    await client.mergePatch(kinds.backupPolicy, { name: policyName }, { spec: { method: 'live' } });
    await createClaim(client, ns, 'busy');
    const volume = await boundVolumePath(client, ns, 'busy');
    fillVolume(volume, 5);
    await client.create(kinds.pod, {
      metadata: { name: 'app', namespace: ns },
      spec: {
        nodeName: 'node-2',
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'app',
            image: 'safehold',
            command: ['sleep', '3600'],
            volumeMounts: [{ name: 'd', mountPath: '/d' }],
          },
        ],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'busy' } }],
      },
    } as KubeObject);
    await waitFor(
      'the app to run',
      async () => (await client.get<Pod>(kinds.pod, { namespace: ns, name: 'app' })).status?.phase === 'Running',
    );
    try {
      const cli = await safehold(['backup', `${ns}/busy`, '--wait']);
      expect(cli.code).toBe(0);
      const [backup] = await backupsOf('busy');
      expect(backup?.status).toMatchObject({ phase: 'Succeeded', method: 'live', node: 'node-2', files: { new: 6 } });
      const events = await client.list<KubeObject & { reason?: string; message?: string }>(kinds.event, {
        namespace: ns,
        query: { fieldSelector: 'involvedObject.name=busy' },
      });
      expect(events.items.some((e) => e.reason === 'BackupSucceeded')).toBe(true);
    } finally {
      await client.mergePatch(kinds.backupPolicy, { name: policyName }, { spec: { method: 'auto' } });
    }
  });

  it('retries a run that cannot reach its repository, then fails saying why, on the volume too', async () => {
    const env = testEnv();
    await client.mergePatch(
      kinds.secret,
      { namespace: 'safehold-system', name: `${id}-s3` },
      { stringData: { AWS_SECRET_ACCESS_KEY: 'not-the-secret' } },
    );
    try {
      await createClaim(client, ns, 'doomed');
      await boundVolumePath(client, ns, 'doomed');
      const cli = await safehold(['backup', `${ns}/doomed`, '--wait']);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('WrongCredentials');
      const [backup] = await backupsOf('doomed');
      expect(backup?.status).toMatchObject({ phase: 'Failed', reason: 'WrongCredentials', attempt: 2 });
      expect(backup?.status?.message).toContain('gave up after 2 attempts');
      const claim = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, {
        namespace: ns,
        name: 'doomed',
      });
      expect(claim.metadata?.annotations?.['safehold.io/last-result']).toBe('Failed');
      expect(claim.metadata?.annotations?.['safehold.io/last-error']).toContain('WrongCredentials');
      expect(claim.metadata?.annotations?.['safehold.io/last-backup']).toBeUndefined();
    } finally {
      await client.mergePatch(
        kinds.secret,
        { namespace: 'safehold-system', name: `${id}-s3` },
        { stringData: { AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey } },
      );
    }
  }, 300_000);

  it('says its data is from when its snapshot was taken, also when a retry reuses the snapshot later', async () => {
    const env = testEnv();
    await createClaim(client, ns, 'late');
    await boundVolumePath(client, ns, 'late');
    // Attempt 1 cannot write (wrong S3 key) after its snapshot was taken; attempt 2, 30 s later, can.
    await client.mergePatch(
      kinds.secret,
      { namespace: 'safehold-system', name: `${id}-s3` },
      { stringData: { AWS_SECRET_ACCESS_KEY: 'not-the-secret' } },
    );
    let restored = false;
    const restoreKey = async () => {
      if (restored) return;
      restored = true;
      await client.mergePatch(
        kinds.secret,
        { namespace: 'safehold-system', name: `${id}-s3` },
        { stringData: { AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey } },
      );
    };
    try {
      await client.create(kinds.volumeBackup, {
        metadata: { name: 'late-1', namespace: ns },
        spec: { pvc: 'late', trigger: 'manual' },
      } as KubeObject);
      await waitFor(
        'attempt 1 to fail and a retry to be scheduled',
        async () => {
          const run = await getBackup('late-1');
          if (run.status?.phase === 'Failed' || run.status?.phase === 'Succeeded')
            throw new GiveUp(`the run ended: ${run.status.phase} ${run.status.message ?? ''}`);
          return run.status?.reason === 'RetryScheduled';
        },
        { timeoutMs: 120_000 },
      );
      await restoreKey();
      const snapshot = await client.get<{ status?: { creationTime?: string } }>(kinds.volumeSnapshot, {
        namespace: ns,
        name: 'late-1',
      });
      const done = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, ns, 'late-1');
      expect(done.status).toMatchObject({ phase: 'Succeeded', attempt: 2 });
      const taken = Date.parse(snapshot.status?.creationTime ?? '');
      expect(Date.parse(done.status?.snapshotTime ?? '')).toBe(Math.floor(taken / 1000) * 1000);
      // restic records the same time, not the retry's start.
      const listed = JSON.parse((await restic(['snapshots', '--json', '--tag', 'run=late-1'])).stdout) as {
        id: string;
        time: string;
      }[];
      expect(listed.map((s) => Date.parse(s.time))).toEqual([Math.floor(taken / 1000) * 1000]);
      expect(Date.parse(done.status?.completionTime ?? '') - taken).toBeGreaterThanOrEqual(25_000);
    } finally {
      await restoreKey();
    }
  }, 300_000);

  it('fails with a message saying the repository password is wrong', async () => {
    await client.mergePatch(
      kinds.backupPolicy,
      { name: policyName },
      { spec: { retry: { limit: 0, deadline: '10m' } } },
    );
    await client.mergePatch(
      kinds.secret,
      { namespace: 'safehold-system', name: `${id}-password` },
      { stringData: { password: 'not-the-password' } },
    );
    try {
      const cli = await safehold(['backup', `${ns}/data`, '--wait']);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('WrongPassword');
      expect(cli.stderr).not.toContain('not-the-password');
    } finally {
      await client.mergePatch(
        kinds.secret,
        { namespace: 'safehold-system', name: `${id}-password` },
        { stringData: { password: 'test-repository-password' } },
      );
      await client.mergePatch(
        kinds.backupPolicy,
        { name: policyName },
        { spec: { retry: { limit: 1, deadline: '10m' } } },
      );
    }
  }, 300_000);

  it('catches up a missed scheduled run once, and a restarted operator does not run it again', async () => {
    // A run three days ago, then nothing: the slots since were missed while "the operator was down".
    const old = new Date(Date.now() - 3 * 86_400_000);
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'data-history', namespace: ns },
      spec: { pvc: 'data', trigger: 'schedule', scheduledFor: old.toISOString() },
    } as KubeObject);
    await waitFor(
      'one catch-up run',
      async () => (await backupsOf('data')).some((b) => b.spec.trigger === 'catch-up'),
      { timeoutMs: 90_000 },
    );
    const catchUp = (await backupsOf('data')).filter((b) => b.spec.trigger === 'catch-up');
    expect(catchUp).toHaveLength(1);
    await waitFor(
      'the catch-up run to finish',
      async () => (await getBackup(catchUp[0]?.metadata.name ?? '')).status?.phase === 'Succeeded',
      { timeoutMs: 120_000 },
    );

    // Retention or maintenance deletes the catch-up run (a failed run goes after a week): its slot
    // must not run again. The PVC remembers it.
    await client.delete(kinds.volumeBackup, { namespace: ns, name: catchUp[0]?.metadata.name ?? '' });
    await waitFor('the catch-up run to be gone', async () =>
      (await backupsOf('data')).every((b) => b.metadata.name !== catchUp[0]?.metadata.name),
    );
    await operator?.stop();
    operator = await startOperator('safehold-system', `backup-${id}-2`, `lease-${id}`);
    // Two passes of the restarted operator's scheduler over every volume, counted by its metrics.
    await waitFor('two scheduler passes', async () => {
      const passes = metricValue((await operator?.metrics()) ?? '', 'safehold_scheduler_passes_total', {});
      return (passes ?? 0) >= 2;
    });
    expect(
      (await backupsOf('data')).filter((b) => b.spec.trigger !== 'manual' && b.metadata.name !== 'data-history'),
    ).toEqual([]);
  }, 300_000);

  it('refuses at once a spec.policy for a volume an admin excluded, naming who excluded it', async () => {
    await createClaim(client, ns, 'admin-excluded');
    await boundVolumePath(client, ns, 'admin-excluded');
    const claim = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, {
      namespace: ns,
      name: 'admin-excluded',
    });
    await client.mergePatch(
      kinds.persistentVolume,
      { name: claim.spec?.volumeName ?? '' },
      { metadata: { annotations: { 'safehold.io/backup': 'false' } } },
    );
    await waitFor('the operator to see the exclusion', async () => {
      const text = (await operator?.metrics()) ?? '';
      return metricValue(text, 'safehold_volume_protected', { namespace: ns, pvc: 'admin-excluded' }) === 0;
    });
    const refused = await backUpNow(client, ns, 'admin-excluded', 'admin-excluded-1', {
      policy: policyName,
      outcome: 'Failed',
    });
    expect(refused.status).toMatchObject({ phase: 'Failed', reason: 'NotProtected' });
    expect(refused.status?.message).toContain('is excluded by its PersistentVolume');
    expect(await runObjects('admin-excluded-1')).toEqual([]);
  });
});
