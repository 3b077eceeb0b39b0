// Getting data back, as a tenant does it: a namespace admin (not a cluster
// admin) restores a volume full of awkward files to a new PVC as of its first
// backup, after it was changed and partly deleted, and gets it back byte for
// byte with owners, modes, times, links and holes; restores into an existing
// PVC, and is refused one a Pod mounts; reads a listing and one file with
// `safehold ls` and `safehold dump`; a restore from a repository that cannot
// be reached fails clearly and leaves no PVC behind; and another namespace's
// data stays out of reach until its admin allows it.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreToAnnotation, type BackupDownload, type VolumeBackup, type VolumeRestore } from '../src/api/index.ts';
import { isForbidden, isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
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
  freePort,
  installWithRepository,
  runOperatorHere,
  safehold,
  type OperatorHere,
} from './support/safehold.ts';
import { allocatedBytes, compareTrees, mutateTree, richPaths, sparseFile, writeRichTree } from './support/tree.ts';

const system = 'safehold-system';
const cliPath = join(import.meta.dirname, '../src/bin/safehold.ts');

describe('self-service restore', () => {
  let client: KubeClient;
  let alice: KubeClient;
  const id = uniqueName('rs');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policyName = `policy-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'restore-test-'));
  const reference = join(work, 'first');
  let operator: OperatorHere | undefined;
  let a = '';
  let b = '';
  let first: VolumeBackup | undefined;
  let second: VolumeBackup | undefined;

  const backUp = (namespace: string, pvc: string, name: string) => backUpNow(client, namespace, pvc, name);
  const restoreEnded = async (as: KubeClient, namespace: string, name: string) => {
    let done: VolumeRestore | undefined;
    await waitFor(
      `restore ${namespace}/${name}`,
      async () => {
        done = await as.get<VolumeRestore>(kinds.volumeRestore, { namespace, name });
        return (
          (done.status?.phase === 'Succeeded' || done.status?.phase === 'Failed') &&
          done.status.conditions?.some((c) => c.type === 'CleanedUp') === true
        );
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    return done as VolumeRestore;
  };
  const claimOf = (namespace: string, name: string) =>
    client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace, name });
  const noLeftovers = async (restore: string) => {
    const selector = { labelSelector: `safehold.io/restore=${restore}` };
    await waitFor(`no objects of restore ${restore} in ${system}`, async () => {
      for (const kind of [kinds.job, kinds.persistentVolumeClaim, kinds.secret])
        if ((await client.list(kind, { namespace: system, query: selector })).items.length > 0) return false;
      return (await client.list(kinds.persistentVolume, { query: selector })).items.length === 0;
    });
  };

  beforeAll(async () => {
    client = clientAs('admin');
    alice = clientAs('alice');
    await installWithRepository(client, {
      system,
      id,
      bucket,
      repository: repoName,
      passwordInSecret: 'an explicit password',
    });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repoName },
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
        keepSnapshots: 1,
        retry: { limit: 0, deadline: '10m' },
      },
    } as KubeObject);
    a = await createNamespace(client, 'tenant-a');
    b = await createNamespace(client, 'tenant-b');
    for (const ns of [a, b])
      await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
    await client.create(kinds.roleBinding, {
      metadata: { name: 'alice-admin', namespace: a },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as KubeObject);
    operator = await runOperatorHere(system, id);
    // The first state of a volume full of awkward files, and a copy of it as it was; then it changes.
    await createClaim(client, a, 'data', { size: '2Gi' });
    const volume = await boundVolumePath(client, a, 'data');
    writeRichTree(volume);
    execFileSync('cp', ['-a', '--sparse=always', volume, reference]);
    first = await backUp(a, 'data', 'first');
    mutateTree(volume);
    second = await backUp(a, 'data', 'second');
    // The tenant roles reach `admin` by aggregation, which takes a moment.
    await waitFor('alice may create VolumeRestores', async () => {
      try {
        await alice.list(kinds.volumeRestore, { namespace: a });
        await alice.list(kinds.backupDownload, { namespace: a });
        return true;
      } catch (error) {
        if (isForbidden(error)) return false;
        throw error;
      }
    });
  }, 600_000);

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policyName }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: `${repoName}-gone` }).catch(() => undefined);
    await client.delete(kinds.storageClass, { name: `wffc-${id}` }).catch(() => undefined);
    for (const ns of [a, b]) if (ns !== '') await deleteNamespace(client, ns);
    rmSync(work, { recursive: true, force: true });
    alice.close();
    client.close();
  });

  it('restores to a new PVC as of the first backup, equal byte for byte and in metadata, as a namespace admin', async () => {
    expect(first?.status?.snapshotTime).toBeDefined();
    const cli = await safehold(
      ['restore', `${a}/data`, '--as-of', first?.status?.snapshotTime ?? '', '--to', 'data-v1', '--wait'],
      'alice',
    );
    expect(cli.code, `${cli.stdout}\n${cli.stderr}`).toBe(0);
    expect(cli.stdout).toContain(
      `Succeeded: PVC ${a}/data-v1 holds ${a}/data as of ${first?.status?.snapshotTime ?? ''}`,
    );
    const restores = (await alice.list<VolumeRestore>(kinds.volumeRestore, { namespace: a })).items;
    const restore = restores.find((r) => r.spec.target.pvc === 'data-v1');
    expect(restore?.status).toMatchObject({
      phase: 'Succeeded',
      method: 'repository',
      backup: { name: 'first', snapshotId: first?.status?.snapshotId },
      progress: { percentDone: 100 },
    });
    const restored = await boundVolumePath(client, a, 'data-v1');
    expect(compareTrees(reference, restored)).toEqual([]);
    // Holes stay holes: the 1 GiB file takes about the data written into it, not 1 GiB.
    expect(allocatedBytes(join(restored, sparseFile.path))).toBeLessThan(sparseFile.dataBytes * 4);
    // The new PVC is the tenant's own now: sized like the source, no owner, and it says where it came from.
    const claim = await claimOf(a, 'data-v1');
    expect(claim.spec?.resources?.requests?.storage).toBe('2Gi');
    expect(claim.metadata?.ownerReferences ?? []).toEqual([]);
    expect(claim.metadata?.labels?.['safehold.io/restore']).toBeUndefined();
    expect(claim.metadata?.annotations?.['safehold.io/restored-from']).toContain(first?.status?.snapshotId ?? '?');
    await noLeftovers(restore?.metadata.name ?? '');
    // And the source was not touched by any of it: it still holds the second state.
    expect(compareTrees(reference, await boundVolumePath(client, a, 'data'))).not.toEqual([]);
  });

  it('restores the latest backup from its kept VolumeSnapshot, the fast path', async () => {
    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'fast', namespace: a },
      spec: { source: { pvc: 'data' }, target: { pvc: 'data-fast' } },
    } as KubeObject);
    const done = await restoreEnded(alice, a, 'fast');
    expect(done.status).toMatchObject({
      phase: 'Succeeded',
      method: 'snapshot',
      backup: { name: 'second', snapshotId: second?.status?.snapshotId },
    });
    expect(
      compareTrees(await boundVolumePath(client, a, 'data'), await boundVolumePath(client, a, 'data-fast')),
    ).toEqual([]);
  });

  it('restores some paths only, and into an existing unmounted PVC, making it equal to the backup', async () => {
    await createClaim(client, a, 'scratch', { size: '2Gi' });
    const scratch = await boundVolumePath(client, a, 'scratch');
    writeFileSync(join(scratch, 'not-in-the-backup.txt'), 'extra');
    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'some-paths', namespace: a },
      spec: {
        source: { pvc: 'data' },
        backup: first?.status?.snapshotId?.slice(0, 8) ?? '',
        target: { pvc: 'scratch', existing: true, keepExtraFiles: true },
        paths: [richPaths.file, richPaths.folder],
      },
    } as KubeObject);
    const some = await restoreEnded(alice, a, 'some-paths');
    expect(some.status?.phase, some.status?.message).toBe('Succeeded');
    expect(readFileSync(join(scratch, richPaths.file))).toEqual(readFileSync(join(reference, richPaths.file)));
    expect(compareTrees(join(reference, richPaths.folder), join(scratch, richPaths.folder))).toEqual([]);
    expect(readFileSync(join(scratch, 'not-in-the-backup.txt'), 'utf8')).toBe('extra');

    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'whole', namespace: a },
      spec: { source: { pvc: 'data' }, backup: 'first', target: { pvc: 'scratch', existing: true } },
    } as KubeObject);
    const whole = await restoreEnded(alice, a, 'whole');
    expect(whole.status?.phase, whole.status?.message).toBe('Succeeded');
    expect(compareTrees(reference, scratch)).toEqual([]);
    // An existing PVC stays as it was made: Safehold never owns it.
    expect((await claimOf(a, 'scratch')).metadata?.ownerReferences ?? []).toEqual([]);
  });

  it('refuses to restore into a PVC a Pod mounts, and changes nothing in it', async () => {
    await createClaim(client, a, 'in-use');
    const inUse = await boundVolumePath(client, a, 'in-use');
    writeFileSync(join(inUse, 'live.txt'), 'live data');
    // A Pod that mounts the claim (it never gets a node: mounting is what counts).
    await client.create(kinds.pod, {
      metadata: { name: 'app', namespace: a },
      spec: {
        nodeSelector: { 'safehold.test/no-such-node': 'true' },
        containers: [{ name: 'app', image: 'safehold', args: ['--version'] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'in-use' } }],
      },
    } as KubeObject);
    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'into-mounted', namespace: a },
      spec: { source: { pvc: 'data' }, target: { pvc: 'in-use', existing: true } },
    } as KubeObject);
    const done = await restoreEnded(alice, a, 'into-mounted');
    expect(done.status).toMatchObject({ phase: 'Failed', reason: 'TargetInUse' });
    expect(done.status?.message).toContain(`Pod ${a}/app`);
    expect(done.status?.message).toContain('spec.target.force');
    expect(readFileSync(join(inUse, 'live.txt'), 'utf8')).toBe('live data');
  });

  it('reads a listing and one file with safehold ls and safehold dump, equal to the original', async () => {
    const id8 = first?.status?.snapshotId?.slice(0, 8) ?? '';
    // Bytes as they are: the CLI's stdout, not text (and not execFileSync: the operator runs in this process).
    const dumped = await new Promise<Buffer>((resolve, reject) => {
      execFile(
        process.execPath,
        [
          cliPath,
          '--kubeconfig',
          testEnv().kubeconfig,
          '--context',
          'alice',
          'dump',
          `${a}/data`,
          richPaths.file,
          '--backup',
          id8,
        ],
        { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => (error === null ? resolve(stdout) : reject(new Error(stderr.toString()))),
      );
    });
    expect(dumped.equals(readFileSync(join(reference, richPaths.file)))).toBe(true);

    const listing = await safehold(['ls', `${a}/data`, richPaths.folder, '--backup', id8, '-o', 'json'], 'alice');
    expect(listing.code, listing.stderr).toBe(0);
    const entries = JSON.parse(listing.stdout) as { path: string; type: string }[];
    const expected = execFileSync('ls', ['-A', join(reference, richPaths.folder)], { encoding: 'utf8' })
      .split('\n')
      .filter((n) => n !== '')
      .map((n) => `${richPaths.folder}/${n}`)
      .sort();
    expect(entries.map((e) => e.path).sort()).toEqual(expected);
    const table = await safehold(['ls', `${a}/data`, '/', '--backup', id8], 'alice');
    expect(table.stdout).toMatch(/^MODE\s+OWNER\s+SIZE\s+MODIFIED\s+PATH/);
    // The CLI cleaned up after itself, and the operator let the BackupDownloads go once their staging objects were deleted.
    await waitFor(
      'no BackupDownloads left',
      async () => (await client.list(kinds.backupDownload, { namespace: a })).items.length === 0,
    );
  });

  it('takes a download URL away with its BackupDownload: the staging object is deleted', async () => {
    await alice.create(kinds.backupDownload, {
      metadata: { name: 'one-file', namespace: a },
      spec: { source: { pvc: 'data' }, path: richPaths.file, what: 'file' },
    } as KubeObject);
    let url = '';
    await waitFor('download ready', async () => {
      const d = await alice.get<BackupDownload>(kinds.backupDownload, { namespace: a, name: 'one-file' });
      if (d.status?.phase === 'Failed') throw new GiveUp(d.status.message);
      url = d.status?.url ?? '';
      return d.status?.phase === 'Succeeded';
    });
    const got = await fetch(url);
    expect(got.status).toBe(200);
    await alice.delete(kinds.backupDownload, { namespace: a, name: 'one-file' });
    await waitFor('download gone', async () => {
      try {
        await client.get(kinds.backupDownload, { namespace: a, name: 'one-file' });
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    });
    expect((await fetch(url)).status).toBe(404);
  });

  it('fails clearly when the repository cannot be reached, and leaves no half-made PVC', async () => {
    // A backup in the catalogue whose repository's endpoint is a closed port.
    const port = await freePort();
    await client.create(kinds.backupRepository, {
      metadata: { name: `${repoName}-gone` },
      spec: {
        s3: {
          endpoint: `http://127.0.0.1:${port}`,
          bucket,
          accessKeyId: { namespace: system, name: `${id}-s3` },
          secretAccessKey: { namespace: system, name: `${id}-s3` },
        },
        password: { namespace: system, name: `${id}-s3`, key: 'password' },
      },
    } as KubeObject);
    // A finished backup (so no controller writes it again), then moved in the catalogue to that repository;
    // --no-snapshot: its kept VolumeSnapshot would make the fast path skip the repository.
    await backUp(a, 'data', 'elsewhere');
    await client.mergePatch(
      kinds.volumeBackup,
      { namespace: a, name: 'elsewhere' },
      { status: { repository: `${repoName}-gone` } },
      'status',
    );
    // The operator's cache sees the change within milliseconds; give it a second.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const cli = await safehold(
      ['restore', `${a}/data`, '--backup', 'elsewhere', '--no-snapshot', '--to', 'ghost', '--wait'],
      'alice',
    );
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('Failed: RepositoryUnreachable: ');
    expect(cli.stderr).toContain(`127.0.0.1:${port}`);
    await waitFor('the half-made PVC is deleted', async () => {
      try {
        await claimOf(a, 'ghost');
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    });
    await client.delete(kinds.volumeBackup, { namespace: a, name: 'elsewhere' });
  });

  it('backs up and restores volumes of a StorageClass that binds only for its first consumer', async () => {
    const env = testEnv();
    await client.create(kinds.storageClass, {
      metadata: { name: `wffc-${id}` },
      provisioner: env.storage.driver,
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    } as KubeObject);
    // The app's claim, which the scheduler has placed as it does for the app's Pod.
    await client.create(kinds.persistentVolumeClaim, {
      metadata: {
        name: 'wffc-data',
        namespace: a,
        annotations: { 'volume.kubernetes.io/selected-node': env.nodes[0] ?? '' },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: `wffc-${id}`,
        resources: { requests: { storage: '1Gi' } },
      },
    } as KubeObject);
    writeFileSync(join(await boundVolumePath(client, a, 'wffc-data'), 'note.txt'), 'first consumer');
    // The snapshot's clone has no Pod of its own: Safehold names the node for it.
    await backUp(a, 'wffc-data', 'wffc-first');
    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'wffc', namespace: a },
      spec: { source: { pvc: 'wffc-data' }, target: { pvc: 'wffc-copy' }, useSnapshot: false },
    } as KubeObject);
    const done = await restoreEnded(alice, a, 'wffc');
    expect(done.status?.phase, done.status?.message).toBe('Succeeded');
    expect(readFileSync(join(await boundVolumePath(client, a, 'wffc-copy'), 'note.txt'), 'utf8')).toBe(
      'first consumer',
    );
    expect((await claimOf(a, 'wffc-copy')).spec?.storageClassName).toBe(`wffc-${id}`);
  });

  it('warns a namespace admin that safehold status cannot see the cluster-wide settings it decides from', async () => {
    const status = await safehold(['status', '-n', a], 'alice');
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(
      /^warning: you may not list backuppolicies, namespaces, persistentvolumes, storageclasses: /m,
    );
  });

  it("keeps another namespace's data out of reach until its admin allows it", async () => {
    await createClaim(client, b, 'data');
    writeFileSync(join(await boundVolumePath(client, b, 'data'), 'secret.txt'), "b's data");
    await backUp(b, 'data', 'b-first');
    const denied = async (action: () => Promise<unknown>) => {
      await expect(action()).rejects.toSatisfy(isForbidden);
    };
    await denied(() => alice.list(kinds.volumeRestore, { namespace: b }));
    await denied(() =>
      alice.create(kinds.volumeRestore, {
        metadata: { name: 'steal', namespace: b },
        spec: { source: { pvc: 'data' }, target: { pvc: 'mine' } },
      } as KubeObject),
    );
    const ls = await safehold(['ls', `${b}/data`], 'alice');
    expect(ls.code).not.toBe(0);
    expect(ls.stderr).toMatch(/forbidden/i);
    const dump = await safehold(['dump', `${b}/data`, '/secret.txt'], 'alice');
    expect(dump.code).not.toBe(0);
    expect(dump.stdout).not.toContain("b's data");

    // From her own namespace, naming b as the source: refused by Safehold.
    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'from-b', namespace: a },
      spec: { source: { pvc: 'data', namespace: b }, target: { pvc: 'b-copy' } },
    } as KubeObject);
    const refused = await restoreEnded(alice, a, 'from-b');
    expect(refused.status).toMatchObject({ phase: 'Failed', reason: 'Forbidden' });
    expect(refused.status?.message).toContain(restoreToAnnotation);
    await expect(claimOf(a, 'b-copy')).rejects.toSatisfy(isNotFound);

    // b's admin allows a: now the same restore works.
    await client.mergePatch(kinds.namespace, { name: b }, { metadata: { annotations: { [restoreToAnnotation]: a } } });
    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'from-b-allowed', namespace: a },
      spec: { source: { pvc: 'data', namespace: b }, target: { pvc: 'b-copy', size: '1Gi' } },
    } as KubeObject);
    const allowed = await restoreEnded(alice, a, 'from-b-allowed');
    expect(allowed.status?.phase, allowed.status?.message).toBe('Succeeded');
    expect(readFileSync(join(await boundVolumePath(client, a, 'b-copy'), 'secret.txt'), 'utf8')).toBe("b's data");
  });
});
