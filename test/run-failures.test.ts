// Failing honestly: a run that fails says why in its reason (not "MoverFailed"),
// in words that name what to fix, on the volume, in `safehold status` and in
// the failure metric. Each case is a real fault: a wrong password, an endpoint
// that stalls, a closed port, a repository whose init was cut short, a mover
// Pod deleted while it runs.
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../src/api/index.ts';
import { presignS3 } from '../src/core/index.ts';
import { isAlreadyExists, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  testEnv,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import {
  backUpNow,
  freePort,
  installCrds,
  metricValue,
  safehold,
  startOperator,
  waitForRun,
  type RunningOperator,
} from './support/safehold.ts';

const system = 'safehold-system';

describe('a failed run says what happened and what to fix', () => {
  let client: KubeClient;
  let operator: RunningOperator | undefined;
  let silent: Server | undefined;
  const sockets: Socket[] = [];
  const id = uniqueName('fail');
  const bucket = `safehold-${id}`;
  const namespaces: string[] = [];
  const repositories: string[] = [];
  const policies: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'run-failures-'));

  const restic = async (prefix: string, password: string, args: string[]) => {
    const env = testEnv();
    return run(env.tools.restic, args, {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}/${prefix}`,
        RESTIC_PASSWORD: password,
        AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
        AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
        RESTIC_CACHE_DIR: join(work, 'cache'),
      },
      timeoutMs: 120_000,
    });
  };

  /** A namespace whose volumes a policy of its own backs up to a repository at `endpoint` (once, no retry). */
  const tenant = async (name: string, endpoint: string, password: string, retries = 0): Promise<string> => {
    const ns = await createNamespace(client, name);
    namespaces.push(ns);
    const repository = `${name}-${id}`;
    await client.create(kinds.secret, {
      metadata: { name: `${repository}-password`, namespace: system },
      stringData: { password },
    } as KubeObject);
    await client.create(kinds.backupRepository, {
      metadata: { name: repository },
      spec: {
        s3: {
          endpoint,
          bucket,
          prefix: '{namespace}',
          accessKeyId: { namespace: system, name: `${id}-s3` },
          secretAccessKey: { namespace: system, name: `${id}-s3` },
        },
        password: { namespace: system, name: `${repository}-password` },
      },
    } as KubeObject);
    repositories.push(repository);
    await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/fail': ns } } });
    await client.create(kinds.backupPolicy, {
      metadata: { name: repository },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/fail': ns } } },
        repository: { name: repository },
        schedule: { cron: '0 3 * * *', timeZone: 'UTC' },
        method: 'live',
        retry: { limit: retries, deadline: '10m' },
      },
    } as KubeObject);
    policies.push(repository);
    await createClaim(client, ns, 'data');
    writeFileSync(join(await boundVolumePath(client, ns, 'data'), 'file.txt'), 'some data');
    return ns;
  };

  const failedBackup = async (ns: string, name = 'now') =>
    (await backUpNow(client, ns, 'data', name, { outcome: 'Failed' })).status;

  beforeAll(async () => {
    client = clientAs('admin');
    const env = testEnv();
    await installCrds(client);
    await client.create(kinds.namespace, { metadata: { name: system } }).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
    await client.create(kinds.secret, {
      metadata: { name: `${id}-s3`, namespace: system },
      stringData: { AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey, AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey },
    } as KubeObject);
    operator = await startOperator(system, `fail-${id}`, `lease-${id}`);
  });

  afterAll(async () => {
    await operator?.stop();
    for (const socket of sockets) socket.destroy();
    silent?.close();
    for (const name of policies) await client.delete(kinds.backupPolicy, { name }).catch(() => undefined);
    for (const name of repositories) await client.delete(kinds.backupRepository, { name }).catch(() => undefined);
    for (const ns of namespaces) await deleteNamespace(client, ns);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  it('a wrong password: reason WrongPassword, naming the Secret to fix, on the volume, in status and the metric', async () => {
    const env = testEnv();
    const ns = await tenant('pw', env.ceph.s3.endpoint, 'not-the-password');
    await restic(ns, 'the-real-password', ['init']);

    const status = await failedBackup(ns);
    expect(status?.reason).toBe('WrongPassword');
    expect(status?.message).toContain(`BackupRepository pw-${id} spec.password (Secret ${system}/pw-${id}-password`);
    expect(status?.message).not.toContain('RESTIC_PASSWORD');
    expect(status?.conditions?.find((c) => c.type === 'Complete')?.reason).toBe('WrongPassword');

    const cli = await safehold(['status', '-n', ns]);
    expect(cli.stdout).toMatch(/data .*protected\s+never\s+FAILED WrongPassword/);
    await waitFor(
      'the failure metric to carry the reason',
      async () =>
        metricValue((await operator?.metrics()) ?? '', 'safehold_volume_last_backup_failed', {
          namespace: ns,
          pvc: 'data',
          reason: 'WrongPassword',
        }) === 1,
    );
  }, 300_000);

  it('an endpoint that accepts connections but never answers is stalled, a closed port unreachable', async () => {
    const server = createServer((socket) => sockets.push(socket));
    silent = server;
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    const stalledPort = typeof address === 'object' && address !== null ? address.port : 0;
    const closedPort = await freePort();

    const stalledNs = await tenant('stall', `http://127.0.0.1:${stalledPort}`, 'pw');
    const closedNs = await tenant('closed', `http://127.0.0.1:${closedPort}`, 'pw');
    const [stalled, closed] = await Promise.all([failedBackup(stalledNs), failedBackup(closedNs)]);

    expect(stalled?.reason).toBe('RepositoryStalled');
    expect(stalled?.message).toContain('accepts connections but does not complete requests');
    expect(stalled?.message).not.toContain('NetworkPolicy');
    expect(closed?.reason).toBe('RepositoryUnreachable');
    expect(closed?.message).toContain(`BackupRepository closed-${id} spec.s3.endpoint`);
    expect(closed?.message).toContain('NetworkPolicy');
  }, 300_000);

  const deleteConfig = async (ns: string) => {
    const env = testEnv();
    const url = presignS3({
      method: 'DELETE',
      endpoint: env.ceph.s3.endpoint,
      bucket,
      key: `${ns}/config`,
      accessKeyId: env.ceph.s3.accessKey,
      secretAccessKey: env.ceph.s3.secretKey,
      expiresSeconds: 60,
      now: new Date(),
    });
    expect((await fetch(url, { method: 'DELETE' })).ok).toBe(true);
  };

  it('a repository whose init was cut short (keys, nothing else) is created again and backed up to', async () => {
    const env = testEnv();
    const ns = await tenant('half', env.ceph.s3.endpoint, 'half-password');
    await restic(ns, 'half-password', ['init']);
    await deleteConfig(ns);

    const backup = await backUpNow(client, ns, 'data', 'now');
    const listed = await restic(ns, 'half-password', ['snapshots', '--json']);
    const ids = (JSON.parse(listed.stdout) as { id: string }[]).map((s) => s.id);
    expect(ids).toEqual([backup.status?.snapshotId]);
  }, 300_000);

  it('a repository that lost its config but holds backups is left alone, with the exact fix', async () => {
    const env = testEnv();
    const ns = await tenant('lost', env.ceph.s3.endpoint, 'lost-password');
    await restic(ns, 'lost-password', ['init']);
    await restic(ns, 'lost-password', ['backup', '--host', 'elsewhere', work]);
    await deleteConfig(ns);

    const status = await failedBackup(ns);
    expect(status?.reason).toBe('RepositoryIncomplete');
    expect(status?.message).toContain('has keys but no config');
    expect(status?.message).toContain('it holds snapshots/');
    expect(status?.message).toContain("restore its config object from the bucket's object versions");
  }, 300_000);

  it('a failed attempt shows in safehold status while the run waits to retry', async () => {
    const ns = await tenant('later', `http://127.0.0.1:${await freePort()}`, 'pw', 3);
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'now', namespace: ns },
      spec: { pvc: 'data', trigger: 'manual' },
    } as KubeObject);
    await waitFor('the first attempt to fail and a retry to be scheduled', async () => {
      const backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name: 'now' });
      return backup.status?.reason === 'RetryScheduled' && backup.status.attempt === 1;
    });
    const cli = await safehold(['status', '-n', ns]);
    expect(cli.stdout).toMatch(/data .*protected\s+never\s+FAILED RepositoryUnreachable/);
  }, 300_000);

  it('a mover Pod deleted while it runs: reason MoverKilled, naming the Pod', async () => {
    const env = testEnv();
    const ns = await tenant('killed', env.ceph.s3.endpoint, 'killed-password');
    // Enough data that the mover is still at work when its Pod goes.
    writeFileSync(join(await boundVolumePath(client, ns, 'data'), 'big.bin'), randomBytes(64 << 20));
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'now', namespace: ns },
      spec: { pvc: 'data', trigger: 'manual' },
    } as KubeObject);
    let podName = '';
    await waitFor('the mover Pod to run', async () => {
      const pods = await client.list<Pod>(kinds.pod, {
        namespace: system,
        query: { labelSelector: `safehold.io/namespace=${ns}` },
      });
      const running = pods.items.find((p) => p.status?.containerStatuses?.some((c) => c.state?.running !== undefined));
      podName = running?.metadata?.name ?? '';
      return running !== undefined;
    });
    await client.delete(kinds.pod, { namespace: system, name: podName });

    const backup = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, ns, 'now', { outcome: 'Failed' });
    expect(backup.status?.reason).toBe('MoverKilled');
    expect(backup.status?.message).toContain(`the mover Pod ${podName} was deleted while it ran`);
  }, 300_000);
});
