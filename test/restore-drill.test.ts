// Proof that backups restore: a tenant runs `safehold verify` on a file volume
// and a block volume and each passes, read back from a scratch volume that
// only Safehold's namespace ever held; one pack of the file volume's backup
// is damaged in the bucket and the next drill fails, names the backup, turns
// the volume red in `safehold status` and in the metrics the alert reads;
// after `restic repair packs` and a new backup, the operator drills the new
// backup by itself and the volume turns green. A policy's drill schedule
// drills a volume on its own; a volume never drilled within its window is
// past due in the metrics; a scratch volume left behind by a vanished drill
// is swept.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  annotations,
  snapshotIdOf,
  type BackupPolicy,
  type RepositoryMaintenance,
  type RestoreDrill,
  type VolumeBackup,
} from '../src/api/index.ts';
import { generatedKeyName } from '../src/controller/run/repository-credentials.ts';
import { ownerRecord } from '../src/core/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import { scatteredWrites, writeRandom } from './support/block-image.ts';
import { persistentVolumeOf, rbdImageFile } from './support/ceph-volumes.ts';
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
import { damageObject, repositoryObjects } from './support/s3-objects.ts';
import {
  backUpNow,
  freePort,
  installWithRepository,
  metricValue,
  runOperatorHere,
  safehold,
  waitForRun,
  type OperatorHere,
} from './support/safehold.ts';
import { writeRichTree } from './support/tree.ts';

const system = 'safehold-system';

describe('restore drills', () => {
  let client: KubeClient;
  const id = uniqueName('dr');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policies = { main: `policy-${id}`, idle: `idle-${id}`, nightly: `nightly-${id}` };
  const work = mkdtempSync(join(tmpdir(), 'restore-drill-'));
  let operator: OperatorHere | undefined;
  let metricsPort = 0;
  /** The namespace whose repository is damaged; the other keeps its repository whole. */
  let damagedNs = '';
  let ns = '';
  let filesBackup: VolumeBackup | undefined;

  const drillEnded = (namespace: string, name: string) =>
    waitForRun<RestoreDrill>(client, kinds.restoreDrill, namespace, name, {
      outcome: 'Succeeded',
      until: (d) => d.status?.conditions?.some((c) => c.type === 'CleanedUp') === true,
      timeoutMs: 400_000,
    });
  const drillFailed = (namespace: string, name: string) =>
    waitForRun<RestoreDrill>(client, kinds.restoreDrill, namespace, name, {
      outcome: 'Failed',
      until: (d) => d.status?.conditions?.some((c) => c.type === 'CleanedUp') === true,
      timeoutMs: 400_000,
    });
  const claimOf = (namespace: string, name: string) =>
    client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace, name });
  const createdDrill = (stdout: string) => /restoredrill (\S+)\/(\S+) created/.exec(stdout)?.[2] ?? '';
  const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const noScratchLeft = async () =>
    waitFor("no scratch volume, Job or Secret of a drill in Safehold's namespace", async () => {
      const query = { labelSelector: 'safehold.io/drill' };
      for (const kind of [kinds.job, kinds.persistentVolumeClaim, kinds.secret]) {
        const left = (await client.list(kind, { namespace: system, query })).items.filter(
          (o) =>
            o.metadata?.labels?.['safehold.io/namespace'] === damagedNs ||
            o.metadata?.labels?.['safehold.io/namespace'] === ns,
        );
        if (left.length > 0) return false;
      }
      return true;
    });
  const repositoryUrl = (namespace: string) => `s3:${testEnv().ceph.s3.endpoint}/${bucket}/tenants/${namespace}`;
  const restic = async (namespace: string, args: string[]) => {
    const key = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: system,
      name: generatedKeyName(repoName, namespace),
    });
    const env = testEnv();
    return run(env.tools.restic, args, {
      env: {
        PATH: process.env.PATH,
        RESTIC_REPOSITORY: repositoryUrl(namespace),
        RESTIC_PASSWORD: Buffer.from(key.data?.password ?? '', 'base64').toString(),
        AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
        AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
        AWS_DEFAULT_REGION: env.ceph.s3.region,
        RESTIC_CACHE_DIR: join(work, 'restic-cache'),
      },
      timeoutMs: 300_000,
      // restic repair packs writes the damaged pack's copy where it runs: here, not in the checkout.
      cwd: work,
    });
  };

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket, repository: repoName, ceph: true });
    damagedNs = await createNamespace(client, 'drill-damaged');
    ns = await createNamespace(client, 'drill');
    for (const namespace of [damagedNs, ns])
      await client.mergePatch(
        kinds.namespace,
        { name: namespace },
        { metadata: { labels: { 'safehold.test/suite': id } } },
      );
    await client.create(kinds.roleBinding, {
      metadata: { name: 'alice-admin', namespace: damagedNs },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as KubeObject);
    const selector = (extra: Record<string, string> = {}) => ({
      namespaceSelector: { matchLabels: { 'safehold.test/suite': id } },
      ...(Object.keys(extra).length === 0 ? {} : { pvcSelector: { matchLabels: extra } }),
    });
    const common = {
      repository: { name: repoName },
      schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
      keepSnapshots: 1,
      retry: { limit: 0, deadline: '10m' },
    };
    // Drills on demand only (February 29th), proven at least hourly.
    await client.create(kinds.backupPolicy, {
      metadata: { name: policies.main },
      spec: { ...common, priority: 900, selector: selector(), drill: { cron: '0 0 29 2 *', window: '1h' } },
    } as KubeObject);
    // A volume that must be proven every 2 seconds, and never is.
    await client.create(kinds.backupPolicy, {
      metadata: { name: policies.idle },
      spec: {
        ...common,
        priority: 950,
        selector: selector({ 'safehold.test/drill': 'idle' }),
        drill: { cron: '0 0 29 2 *', window: '2s' },
      },
    } as KubeObject);
    // Drilled every minute, one volume per run.
    await client.create(kinds.backupPolicy, {
      metadata: { name: policies.nightly },
      spec: {
        ...common,
        priority: 950,
        selector: selector({ 'safehold.test/drill': 'nightly' }),
        drill: {
          cron: '* * * * *',
          window: '1h',
          volumes: 1,
          // The application's own check, on the restored files.
          command: { command: ['sh', '-c', 'grep -q "every night" "$SAFEHOLD_DRILL_PATH/a.txt"'] },
        },
      },
    } as KubeObject);
    metricsPort = await freePort();
    operator = await runOperatorHere(system, id, { metricsPort, sweepIntervalMs: 2000 });

    await createClaim(client, damagedNs, 'files', { size: '2Gi' });
    writeRichTree(await boundVolumePath(client, damagedNs, 'files'));
    writeFileSync(join(await boundVolumePath(client, damagedNs, 'files'), 'large.bin'), randomBytes(8 << 20));
    filesBackup = await backUpNow(client, damagedNs, 'files', 'files-1');
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of Object.values(policies))
      await client.delete(kinds.backupPolicy, { name }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    for (const namespace of [damagedNs, ns]) if (namespace !== '') await deleteNamespace(client, namespace);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  it("a tenant's drill of a file volume reads every file back as the backup recorded it", async () => {
    const verify = await safehold(['verify', `${damagedNs}/files`, '--wait'], 'alice');
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/Passed: backup files-1 restores as recorded \(\d+ files, /);
    const drill = await drillEnded(damagedNs, createdDrill(verify.stdout));
    expect(drill.status).toMatchObject({ phase: 'Succeeded', verdict: 'Passed', reason: 'Verified' });
    expect(drill.status?.backup?.name).toBe('files-1');
    // Every file and byte the backup counted came back and was compared with its hashes.
    expect(drill.status?.verified).toEqual({
      files: filesBackup?.status?.files?.total,
      bytes: filesBackup?.status?.bytes?.total,
      method: 'restic-verify',
    });
    const backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: damagedNs, name: 'files-1' });
    expect(backup.status?.verification).toMatchObject({ verdict: 'Passed', drill: drill.metadata.name });
    const claim = await claimOf(damagedNs, 'files');
    expect(claim.metadata?.annotations?.[annotations.verifyResult]).toBe('Passed');
    expect(claim.metadata?.annotations?.[annotations.verifiedBackup]).toBe('files-1');
    const status = await safehold(['status', '-n', damagedNs]);
    expect(status.stdout).toMatch(/files .* passed \d+s ago/);
    const backups = await safehold(['backups', `${damagedNs}/files`]);
    expect(backups.stdout).toMatch(/files-1.*passed/);
    await noScratchLeft();
  });

  it('a drill of an RBD block volume reads the device back equal to its image chain', async () => {
    await client.create(kinds.persistentVolumeClaim, {
      metadata: { name: 'disk', namespace: ns },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '512Mi' } },
        storageClassName: testEnv().cephStorage.rbd.storageClass,
        volumeMode: 'Block',
      },
    } as KubeObject);
    const pv = await persistentVolumeOf(client, ns, 'disk');
    const size = 512 * 2 ** 20;
    await writeRandom(rbdImageFile(pv), scatteredWrites(size, 12, 3), 3);
    await backUpNow(client, ns, 'disk', 'disk-1');
    await writeRandom(rbdImageFile(pv), scatteredWrites(size, 4, 9), 9);
    const second = await backUpNow(client, ns, 'disk', 'disk-2');
    expect(second.status?.block?.chainLength).toBe(2);

    const verify = await safehold(['verify', `${ns}/disk`, '--wait']);
    expect(verify.code).toBe(0);
    const drill = await drillEnded(ns, createdDrill(verify.stdout));
    expect(drill.status).toMatchObject({ verdict: 'Passed', backup: { name: 'disk-2' } });
    expect(drill.status?.verified).toEqual({ bytes: size, method: 'device-compare' });
    await noScratchLeft();
  });

  it('a damaged pack fails the next drill, turns the volume red, and a repaired repository turns it green', async () => {
    const packs = await repositoryObjects(repositoryUrl(damagedNs), 'data');
    const largest = packs.reduce((a, b) => (b.size > a.size ? b : a));
    await damageObject(repositoryUrl(damagedNs), largest.key, Buffer.alloc(64, 0x5a));

    const verify = await safehold(['verify', `${damagedNs}/files`, '--wait'], 'alice');
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/Failed: backup files-1 does not restore as recorded: Unverified: /);
    const drill = await drillFailed(damagedNs, createdDrill(verify.stdout));
    expect(drill.status).toMatchObject({ verdict: 'Failed', reason: 'Unverified' });
    const backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: damagedNs, name: 'files-1' });
    expect(backup.status?.verification).toMatchObject({ verdict: 'Failed' });
    expect((await claimOf(damagedNs, 'files')).metadata?.annotations?.[annotations.verifyResult]).toMatch(
      /^Failed: Unverified: /,
    );
    const status = await safehold(['status', '-n', damagedNs]);
    expect(status.stdout).toMatch(/files .* FAILED Unverified/);
    await waitFor('the drill failure in the metrics', async () => {
      const text = await scrape();
      return (
        metricValue(text, 'safehold_volume_drill_failed', {
          namespace: damagedNs,
          pvc: 'files',
          reason: 'Unverified',
        }) === 1
      );
    });

    // A repository check that reads the data finds the pack and names the backup with data in it.
    const checkName = `check-${id}`;
    await client.create(kinds.repositoryMaintenance, {
      metadata: { name: checkName, namespace: system },
      spec: { repository: repoName, tenant: damagedNs, forget: false, prune: false, check: { readDataSubset: '100%' } },
    } as KubeObject);
    const checked = await waitForRun<RepositoryMaintenance>(client, kinds.repositoryMaintenance, system, checkName, {
      outcome: 'Failed',
      until: (m) => m.status?.conditions?.some((c) => c.type === 'CleanedUp') === true,
    });
    const pack = largest.key.split('/').at(-1) ?? '';
    expect(checked.status?.damage?.packs).toEqual([pack.slice(0, 16)]);
    expect(checked.status?.damage?.snapshots).toEqual([snapshotIdOf(filesBackup?.status)?.slice(0, 16)]);
    const named = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: damagedNs, name: 'files-1' });
    expect(named.status?.verification).toMatchObject({ verdict: 'Failed', drill: `check:${checkName}` });
    expect(named.status?.verification?.message).toMatch(/^DamagedPack: .* backup files-1 has data in it/);
    expect((await claimOf(damagedNs, 'files')).metadata?.annotations?.[annotations.verifyResult]).toMatch(
      /^Failed: DamagedPack: /,
    );

    // The repair restic's documentation gives: salvage the damaged pack, then back up again.
    await restic(damagedNs, ['repair', 'packs', pack]);
    await backUpNow(client, damagedNs, 'files', 'files-2');
    // The operator drills the new backup by itself, and the volume is green again.
    await waitFor(
      'a passing drill of files-2',
      async () => {
        const claim = await claimOf(damagedNs, 'files');
        return (
          claim.metadata?.annotations?.[annotations.verifyResult] === 'Passed' &&
          claim.metadata.annotations[annotations.verifiedBackup] === 'files-2'
        );
      },
      { timeoutMs: 400_000, intervalMs: 1000 },
    );
    await waitFor('the drill failure gone from the metrics', async () => {
      const text = await scrape();
      return (
        metricValue(text, 'safehold_volume_drill_failed', { namespace: damagedNs, pvc: 'files', reason: '' }) === 0
      );
    });
    expect((await safehold(['status', '-n', damagedNs])).stdout).toMatch(/files .* passed/);
    await noScratchLeft();
  });

  it("a policy's drill schedule proves its volume by itself", async () => {
    await createClaim(client, ns, 'nightly', { size: '1Gi' });
    await client.mergePatch(
      kinds.persistentVolumeClaim,
      { namespace: ns, name: 'nightly' },
      {
        metadata: { labels: { 'safehold.test/drill': 'nightly' } },
      },
    );
    writeFileSync(join(await boundVolumePath(client, ns, 'nightly'), 'a.txt'), 'every night');
    await backUpNow(client, ns, 'nightly', 'nightly-1');
    let scheduled: RestoreDrill | undefined;
    await waitFor(
      'a scheduled drill of the nightly volume',
      async () => {
        const drills = (await client.list<RestoreDrill>(kinds.restoreDrill, { namespace: ns })).items;
        scheduled = drills.find((d) => d.spec.source.pvc === 'nightly' && d.spec.trigger === 'schedule');
        return scheduled !== undefined;
      },
      { timeoutMs: 130_000, intervalMs: 1000 },
    );
    const done = await drillEnded(ns, scheduled?.metadata.name ?? '');
    expect(done.status?.verdict).toBe('Passed');
    expect(done.status?.verified).toMatchObject({ files: 1, bytes: 11 });
    expect(done.status?.commandResult).toEqual({ exitCode: 0 });
    expect(done.status?.message).toMatch(/the drill command \(sh -c grep .*\) exited 0$/);
  });

  it("a drill command that fails on the restored volume fails the drill, with the command's words", async () => {
    await client.mergePatch(
      kinds.backupPolicy,
      { name: policies.nightly },
      {
        spec: {
          drill: {
            command: { command: ['sh', '-c', 'echo "no such table: orders" >&2; exit 3'] },
          },
        },
      },
    );
    // The operator has seen the change once the policy's status says so.
    await waitFor('the operator to see the policy change', async () => {
      const policy = await client.get<BackupPolicy & { status?: { observedGeneration?: number } }>(kinds.backupPolicy, {
        name: policies.nightly,
      });
      return policy.status?.observedGeneration === policy.metadata.generation;
    });
    const verify = await safehold(['verify', `${ns}/nightly`, '--wait']);
    expect(verify.code).toBe(1);
    const drill = await drillFailed(ns, createdDrill(verify.stdout));
    expect(drill.status).toMatchObject({ verdict: 'Failed', reason: 'CommandFailed', commandResult: { exitCode: 3 } });
    expect(drill.status?.message).toContain('exited 3: no such table: orders');
  });

  it('a volume never proven within its window is past due in the metrics the alert reads', async () => {
    await createClaim(client, ns, 'idle', { size: '1Gi' });
    await client.mergePatch(
      kinds.persistentVolumeClaim,
      { namespace: ns, name: 'idle' },
      {
        metadata: { labels: { 'safehold.test/drill': 'idle' } },
      },
    );
    let due: number | undefined;
    await waitFor('the idle volume past its proof', async () => {
      const text = await scrape();
      due = metricValue(text, 'safehold_volume_proof_due_timestamp_seconds', {
        namespace: ns,
        pvc: 'idle',
        policy: policies.idle,
      });
      return due !== undefined && due < Date.now() / 1000;
    });
    const created = Date.parse((await claimOf(ns, 'idle')).metadata?.creationTimestamp ?? '') / 1000;
    expect(due).toBe(created + 2);
    // The volumes a drill passed are due an hour after it.
    const text = await scrape();
    const proven = metricValue(text, 'safehold_volume_last_proven_timestamp_seconds', {
      namespace: ns,
      pvc: 'disk',
      policy: policies.main,
    });
    expect(
      metricValue(text, 'safehold_volume_proof_due_timestamp_seconds', {
        namespace: ns,
        pvc: 'disk',
        policy: policies.main,
      }),
    ).toBe((proven ?? 0) + 3600);
  });

  it('a scratch volume whose drill vanished is swept', async () => {
    // As a killed operator leaves it: a scratch claim owned by a drill that no longer exists.
    const gone = { metadata: { namespace: ns, name: 'vanished', uid: '00000000-0000-0000-0000-00000000d111' } };
    await client.create(kinds.persistentVolumeClaim, {
      metadata: {
        name: `scratch-${id}`,
        namespace: system,
        labels: {
          'safehold.io/drill': 'vanished',
          'safehold.io/namespace': ns,
          'app.kubernetes.io/component': 'mover',
        },
        annotations: ownerRecord('RestoreDrill', gone),
      },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    } as KubeObject);
    await waitFor('the sweep to delete the scratch volume', async () => {
      const left = await client
        .get(kinds.persistentVolumeClaim, { namespace: system, name: `scratch-${id}` })
        .catch(() => undefined);
      return left === undefined || left.metadata?.deletionTimestamp !== undefined;
    });
  });
});
