// A repository that cannot be used says so before a backup fails, and a
// maintenance that meets a lock tries again. Repositories on the real S3
// (radosgw): one whose bucket holds a restic repository its password opens,
// one pointing at the same repository with another password, one with no
// repository yet, one whose bucket does not exist, one whose endpoint
// nothing listens on, one whose access key S3 does not know. The operator
// probes them all; `safehold status` warns about the repository a volume's
// policy uses; fixing a spec is seen at once. Then a prune runs while a
// restic backup outside Safehold holds a lock on the repository: the first
// attempt fails, the run retries, and succeeds once the lock is gone.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupRepository, RepositoryMaintenance } from '../src/api/index.ts';
import { generatedKeyName } from '../src/controller/run/repository-credentials.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
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
import { backUpNow, installWithRepository, runOperatorHere, safehold, type OperatorHere } from './support/safehold.ts';

const system = 'safehold-system';

describe('repository readiness and maintenance retries', () => {
  let client: KubeClient;
  const id = uniqueName('rh');
  const bucket = `safehold-${id}`;
  const tenantRepo = `repo-${id}`;
  const names = {
    good: `good-${id}`,
    otherPassword: `otherpw-${id}`,
    fresh: `fresh-${id}`,
    noBucket: `nobucket-${id}`,
    noEndpoint: `noendpoint-${id}`,
    badKeys: `badkeys-${id}`,
  };
  const policyName = `policy-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'repository-health-test-'));
  let operator: OperatorHere | undefined;
  let namespace = '';

  const resticEnv = (repository: string, password: string) => {
    const env = testEnv();
    return {
      ...process.env,
      RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}/${repository}`,
      RESTIC_PASSWORD: password,
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      RESTIC_CACHE_DIR: join(work, 'cache'),
    };
  };
  const repository = (name: string, s3: Record<string, unknown>, password?: string) =>
    client.create(kinds.backupRepository, {
      metadata: { name },
      spec: {
        s3: {
          endpoint: testEnv().ceph.s3.endpoint,
          bucket,
          accessKeyId: { namespace: system, name: `${id}-s3` },
          secretAccessKey: { namespace: system, name: `${id}-s3` },
          ...s3,
        },
        ...(password === undefined ? {} : { password: { namespace: system, name: password } }),
      },
    } as KubeObject);
  const readyOf = async (name: string) =>
    (await client.get<BackupRepository>(kinds.backupRepository, { name })).status?.conditions?.find(
      (c) => c.type === 'Ready',
    );
  const becomes = async (name: string, reason: string, generation?: number) => {
    await waitFor(
      `BackupRepository ${name} to be probed as ${reason}`,
      async () => {
        const ready = await readyOf(name);
        return ready?.reason === reason && (generation === undefined || ready.observedGeneration === generation);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    return (await readyOf(name)) as NonNullable<Awaited<ReturnType<typeof readyOf>>>;
  };

  beforeAll(async () => {
    client = clientAs('admin');
    // The per-namespace repository the maintenance journey uses, and the S3 Secret the others share.
    await installWithRepository(client, { system, id, bucket, repository: tenantRepo });
    // A restic repository at shared/, made by restic itself (which creates the bucket).
    await run(testEnv().tools.restic, ['init'], { env: resticEnv('shared', 'right horse') });
    const password = async (name: string, value: string) =>
      client.create(kinds.secret, {
        metadata: { name, namespace: system },
        stringData: { password: value },
      } as KubeObject);
    await password(`${id}-right`, 'right horse');
    await password(`${id}-wrong`, 'wrong horse');
    await client.create(kinds.secret, {
      metadata: { name: `${id}-unknown`, namespace: system },
      stringData: { AWS_ACCESS_KEY_ID: 'NOSUCHKEY0000000', AWS_SECRET_ACCESS_KEY: 'nosuchsecret' },
    } as KubeObject);
    await repository(names.good, { prefix: 'shared' }, `${id}-right`);
    await repository(names.otherPassword, { prefix: 'shared' }, `${id}-wrong`);
    await repository(names.fresh, { prefix: 'fresh' }, `${id}-right`);
    await repository(names.noBucket, { bucket: `${bucket}-none`, prefix: 'shared' }, `${id}-right`);
    await repository(names.noEndpoint, { endpoint: 'http://127.0.0.1:1', prefix: 'shared' }, `${id}-right`);
    await repository(
      names.badKeys,
      {
        prefix: 'shared',
        accessKeyId: { namespace: system, name: `${id}-unknown` },
        secretAccessKey: { namespace: system, name: `${id}-unknown` },
      },
      `${id}-right`,
    );
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: tenantRepo },
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
        method: 'live',
        retry: { limit: 0, deadline: '10m' },
      },
    } as KubeObject);
    namespace = await createNamespace(client, 'health');
    await client.mergePatch(
      kinds.namespace,
      { name: namespace },
      { metadata: { labels: { 'safehold.test/suite': id } } },
    );
    operator = await runOperatorHere(system, id);
  });

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policyName }).catch(() => undefined);
    for (const m of (await client.list<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system }))
      .items)
      if (m.spec.repository === tenantRepo)
        await client
          .delete(kinds.repositoryMaintenance, { namespace: system, name: m.metadata.name })
          .catch(() => undefined);
    for (const name of [tenantRepo, ...Object.values(names)])
      await client.delete(kinds.backupRepository, { name }).catch(() => undefined);
    if (namespace !== '') await deleteNamespace(client, namespace);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  it('marks each repository Ready or not, with a reason and what to fix', async () => {
    expect(await becomes(names.good, 'Ready')).toMatchObject({ status: 'True' });
    expect(await becomes(names.fresh, 'NotInitialised')).toMatchObject({ status: 'True' });
    const wrong = await becomes(names.otherPassword, 'WrongPassword');
    expect(wrong).toMatchObject({ status: 'False' });
    expect(wrong.message).toContain('spec.password');
    const noBucket = await becomes(names.noBucket, 'BucketMissing');
    expect(noBucket).toMatchObject({ status: 'False' });
    expect(noBucket.message).toContain(`bucket ${bucket}-none does not exist`);
    expect(noBucket.message).toContain('spec.s3.bucket');
    // And says so once, where `kubectl describe backuprepository` shows it.
    await waitFor('a Warning Event on the repository without a bucket', async () => {
      const events = await client.list<
        KubeObject & { involvedObject?: { name?: string }; type?: string; reason?: string }
      >(kinds.event, { namespace: 'default' });
      return events.items.some(
        (e) => e.involvedObject?.name === names.noBucket && e.type === 'Warning' && e.reason === 'BucketMissing',
      );
    });
    const noEndpoint = await becomes(names.noEndpoint, 'EndpointUnreachable');
    expect(noEndpoint.message).toContain('spec.s3.endpoint');
    const badKeys = await becomes(names.badKeys, 'CredentialsRejected');
    expect(badKeys.message).toContain('spec.s3.accessKeyId');
    // A per-namespace repository: its bucket is reachable, each namespace's repository is its own.
    expect(await becomes(tenantRepo, 'Ready')).toMatchObject({ status: 'True' });
  });

  it("safehold status warns about the repository a volume's policy uses when it is not Ready", async () => {
    await createClaim(client, namespace, 'data');
    await client.mergePatch(
      kinds.backupPolicy,
      { name: policyName },
      { spec: { repository: { name: names.noBucket } } },
    );
    await waitFor('the policy to use the repository without a bucket', async () => {
      const status = await safehold(['status', '-n', namespace]);
      return status.stderr.includes(`BackupRepository ${names.noBucket} is not Ready (BucketMissing)`);
    });
    const status = await safehold(['status', '-n', namespace]);
    expect(status.code).toBe(0);
    expect(status.stderr).toContain(
      `warning: BackupRepository ${names.noBucket} is not Ready (BucketMissing): bucket ${bucket}-none does not exist`,
    );
    // Machine output stays the rows alone; the warning goes to stderr.
    const json = await safehold(['status', '-n', namespace, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ namespace, name: 'data' })]);
    expect(json.stderr).toContain(`BackupRepository ${names.noBucket} is not Ready (BucketMissing)`);
    await client.mergePatch(kinds.backupPolicy, { name: policyName }, { spec: { repository: { name: tenantRepo } } });
    const healthy = await safehold(['status', '-n', namespace]);
    expect(healthy.stderr).not.toContain('is not Ready');
  });

  it('probes again as soon as the spec changes, and the fixed repository is Ready', async () => {
    await client.mergePatch(kinds.backupRepository, { name: names.noBucket }, { spec: { s3: { bucket } } });
    const generation = (
      await client.get<KubeObject & { metadata: { generation?: number } }>(kinds.backupRepository, {
        name: names.noBucket,
      })
    ).metadata.generation;
    // Well within the ten minutes (and the minute) between probes: the new generation is the trigger.
    const started = Date.now();
    expect(await becomes(names.noBucket, 'Ready', generation)).toMatchObject({ status: 'True' });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('retries a maintenance that met a lock, and it succeeds once the lock is gone', async () => {
    await createClaim(client, namespace, 'data').catch(() => undefined);
    writeFileSync(join(await boundVolumePath(client, namespace, 'data'), 'a.txt'), 'a\n');
    await backUpNow(client, namespace, 'data', 'first');
    const secret = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: system,
      name: generatedKeyName(tenantRepo, namespace),
    });
    const key = Buffer.from(secret.data?.password ?? '', 'base64').toString();
    // A backup outside Safehold that is still reading its input holds a lock; prune needs the repository alone.
    const holder = spawn(testEnv().tools.restic, ['backup', '--stdin', '--stdin-filename', 'slow.txt'], {
      env: resticEnv(`tenants/${namespace}`, key),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let holderErr = '';
    holder.stderr.on('data', (chunk: Buffer) => (holderErr += chunk.toString()));
    const held = new Promise<number | null>((resolve) => holder.on('exit', resolve));
    try {
      holder.stdin.write('the lock is held while this is read\n');
      await waitFor('the outside backup to hold its lock', async () => {
        const { stdout } = await run(testEnv().tools.restic, ['list', 'locks', '--no-lock'], {
          env: resticEnv(`tenants/${namespace}`, key),
        });
        return stdout.trim() !== '';
      });
      const name = `prune-${id}`;
      await client.create(kinds.repositoryMaintenance, {
        metadata: { name, namespace: system },
        spec: { repository: tenantRepo, tenant: namespace, forget: false, prune: true },
      } as KubeObject);
      let waiting: RepositoryMaintenance | undefined;
      await waitFor(
        'the first attempt to fail and a retry to be scheduled',
        async () => {
          waiting = await client.get<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system, name });
          if (waiting.status?.phase === 'Failed') throw new GiveUp(`maintenance failed: ${waiting.status.message}`);
          return waiting.status?.reason === 'RetryScheduled';
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      expect(waiting?.status).toMatchObject({ phase: 'Pending', attempt: 1 });
      expect(waiting?.status?.message).toMatch(/attempt 1 failed: RepositoryLocked: .*retrying at/);
      // While it waits to retry, backups to the repository are not held back.
      writeFileSync(join(await boundVolumePath(client, namespace, 'data'), 'b.txt'), 'b\n');
      await backUpNow(client, namespace, 'data', 'during-retry');
      holder.stdin.end();
      expect(await held, holderErr).toBe(0);
      let done: RepositoryMaintenance | undefined;
      await waitFor(
        'the retry to succeed',
        async () => {
          done = await client.get<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system, name });
          return done.status?.phase === 'Succeeded' || done.status?.phase === 'Failed';
        },
        { timeoutMs: 240_000, intervalMs: 500 },
      );
      expect(done?.status).toMatchObject({ phase: 'Succeeded', attempt: 2 });
      // The repository's record follows the run's own status: wait for it rather than read it once.
      const pruned = async () =>
        (await client.get<BackupRepository>(kinds.backupRepository, { name: tenantRepo })).status?.tenants?.find(
          (t) => t.tenant === namespace,
        )?.lastPruneTime;
      await waitFor(
        'the repository to record the prune',
        async () => (await pruned()) === done?.status?.completionTime,
      );
      expect(await pruned()).toBe(done?.status?.completionTime);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
