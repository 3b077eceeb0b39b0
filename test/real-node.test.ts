// The real node: a kubelet built from Kubernetes' sources with containerd and
// runc, Pods on the test environment's own bridge. Safehold's image, built
// from its Dockerfile, runs there as a real container; the chart installs the
// operator onto it, where it reaches the API server through the `kubernetes`
// Service (kube-proxy) and leads; its log comes through the API server and
// the kubelet, as `kubectl logs` reads it. Its mover Jobs run there too, as
// real containers whose volumes the test storage's CSI node plugin publishes
// to the kubelet (testenv/csi-node): a directory, a CephFS, an RBD ext4 and
// an RBD Block volume backed up to radosgw come back exactly. A probe with a
// mover's own Pod spec shows what the kernel gives its container: no token,
// a read-only root, only the capabilities ADR 0005 names.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantClusterRoles, type VolumeBackup, type VolumeRestore } from '../src/api/index.ts';
import { isAlreadyExists, isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import { repoRoot, tools } from '../testenv/paths.ts';
import { realNodeTaint } from '../testenv/real-node/kubelet.ts';
import { databaseContainer, loadState, sql, startDatabase } from '../testenv/real-node/database-pod.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  realNodeWithImage,
  testEnv,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import { installCrds, metricValue, waitForRun } from './support/safehold.ts';
import { scatteredWrites, writeRandom } from './support/block-image.ts';
import {
  persistentVolumeOf,
  rbdImageFile,
  rbdImageReleased,
  withCephfsFolder,
  withRbdFilesystem,
} from './support/ceph-volumes.ts';
import { compareTrees, writeRichTree } from './support/tree.ts';

const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

const realNode = realNodeWithImage;

/** What places a Pod on the real node: its name, and the taint that keeps everything else away. */
const onRealNode = () => ({
  nodeSelector: { 'kubernetes.io/hostname': realNode().name },
  tolerations: [{ key: realNodeTaint.key, operator: 'Exists', effect: realNodeTaint.effect }],
});

describe('the real node', () => {
  let client: KubeClient;
  const id = uniqueName('real');
  const system = `safehold-${id}`;
  const release = `safehold-${id}`;
  const repository = `repo-${id}`;
  const policy = `policy-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'real-node-'));
  let tenant = '';
  let installed = false;

  const helm = async (args: string[]) =>
    (
      await run(tools.helm, [...args, '--kubeconfig', testEnv().kubeconfig, '--kube-context', 'admin'], {
        timeoutMs: 180_000,
      })
    ).stdout;

  beforeAll(async () => {
    client = clientAs('admin');
    const env = testEnv();
    await client.create(kinds.namespace, { metadata: { name: system } });
    await client.create(kinds.secret, {
      metadata: { name: 's3', namespace: system },
      stringData: { AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey, AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey },
    } as KubeObject);
    tenant = await createNamespace(client, 'real-tenant');
    await client.mergePatch(kinds.namespace, { name: tenant }, { metadata: { labels: { 'safehold.test/suite': id } } });
  });

  afterAll(async () => {
    await client.delete(kinds.backupPolicy, { name: policy }).catch(() => undefined);
    if (tenant !== '') await deleteNamespace(client, tenant);
    if (installed) await helm(['uninstall', release, '--namespace', 'default', '--wait']);
    for (const role of tenantClusterRoles() as KubeObject[])
      await client.create(kinds.clusterRole, role).catch((error: unknown) => {
        if (!isAlreadyExists(error)) throw error;
      });
    await deleteNamespace(client, system);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  it("runs Safehold's image as a real container, and its log comes through the kubelet", async () => {
    const name = `version-${id}`;
    await client.create(kinds.pod, {
      metadata: { name, namespace: system },
      spec: {
        restartPolicy: 'Never',
        ...onRealNode(),
        containers: [
          {
            name: 'safehold',
            image: realNode().image,
            imagePullPolicy: 'Never',
            args: ['--version'],
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
          },
        ],
      },
    } as KubeObject);
    let pod: Pod | undefined;
    await waitFor('the Pod to finish', async () => {
      pod = await client.get<Pod>(kinds.pod, { namespace: system, name });
      return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    });
    expect(pod?.spec?.nodeName).toBe(realNode().name);
    expect(pod?.status?.phase).toBe('Succeeded');
    // A container ID from containerd, an address on the environment's bridge.
    expect(pod?.status?.containerStatuses?.[0]?.containerID).toMatch(/^containerd:\/\//);
    expect(pod?.status?.podIP).toMatch(/^10\.213\.0\./);
    expect((await client.podLog(system, name, { container: 'safehold' })).trim()).toBe(packageVersion);
  });

  it('installs the chart onto it: the operator runs from the built image, reaches the API server and leads', async () => {
    const [imageRepository, imageTag] = realNode().image.split(/:(?=[^:]+$)/);
    await installCrds(client);
    // Other journeys make the tenant roles without Helm's ownership marks; Helm adopts nothing.
    for (const role of tenantClusterRoles() as KubeObject[])
      await client.delete(kinds.clusterRole, { name: role.metadata?.name ?? '' }).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    writeFileSync(
      join(work, 'values.yaml'),
      JSON.stringify({
        namespace: system,
        image: { repository: imageRepository, tag: imageTag, pullPolicy: 'Never' },
        operator: { leaseName: `lease-${id}`, ...onRealNode() },
        mover: onRealNode(),
        // radosgw as the node's Pods reach it: through the bridge.
        repositories: [
          {
            name: repository,
            s3: { endpoint: realNode().s3Endpoint, bucket: `safehold-${id}`, prefix: 'tenants/{namespace}' },
            credentialsSecret: 's3',
          },
        ],
      }),
    );
    await helm([
      'install',
      release,
      join(repoRoot, 'charts/safehold'),
      '--namespace',
      'default',
      '--values',
      join(work, 'values.yaml'),
    ]);
    installed = true;

    let pod: Pod | undefined;
    await waitFor(
      'the operator to lead',
      async () => {
        const pods = await client.list<Pod>(kinds.pod, {
          namespace: system,
          query: { labelSelector: `app.kubernetes.io/instance=${release}` },
        });
        pod = pods.items[0];
        const lease = await client
          .get<{ spec?: { holderIdentity?: string } }>(kinds.lease, { namespace: system, name: `lease-${id}` })
          .catch(() => undefined);
        // The identity is the Pod's name and a number of its own.
        return (
          pod?.status?.phase === 'Running' && lease?.spec?.holderIdentity?.startsWith(`${pod.metadata?.name}-`) === true
        );
      },
      { timeoutMs: 120_000 },
    );
    expect(pod?.spec?.nodeName).toBe(realNode().name);
    expect(pod?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    // Its metrics, on its own address on the bridge.
    const metrics = await (await fetch(`http://${pod?.status?.podIP}:8080/metrics`)).text();
    expect(metricValue(metrics, 'safehold_leader', {})).toBe(1);
    // Its log, through the kubelet: the operator says it leads.
    const log = await client.podLog(system, pod?.metadata?.name ?? '', {
      container: pod?.spec?.containers[0]?.name ?? '',
    });
    expect(log).not.toBe('');
  });

  /** Backs the claim up and restores it into a new one, noting the mover Pods (the operator deletes a run's Jobs when done). */
  async function backUpAndRestore(claim: string, spec: object = { trigger: 'manual' }): Promise<Pod[]> {
    const movers = new Map<string, Pod>();
    const watch = { on: true };
    const noting = (async () => {
      while (watch.on) {
        const pods = await client.list<Pod>(kinds.pod, {
          namespace: system,
          query: { labelSelector: `safehold.io/namespace=${tenant}` },
        });
        for (const pod of pods.items) movers.set(pod.metadata?.name ?? '', pod);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    try {
      await client.create(kinds.volumeBackup, {
        metadata: { name: `${claim}-1`, namespace: tenant },
        spec: { pvc: claim, ...spec },
      } as KubeObject);
      const backup = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, tenant, `${claim}-1`);
      expect(backup.status?.phase, JSON.stringify(backup.status?.conditions)).toBe('Succeeded');
      expect(backup.status?.attempt, 'a first attempt that failed').toBe(1);
      await client.create(kinds.volumeRestore, {
        metadata: { name: `${claim}-back`, namespace: tenant },
        spec: { source: { pvc: claim }, backup: `${claim}-1`, useSnapshot: false, target: { pvc: `${claim}-back` } },
      } as KubeObject);
      const restore = await waitForRun<VolumeRestore>(client, kinds.volumeRestore, tenant, `${claim}-back`);
      expect(restore.status?.phase, JSON.stringify(restore.status?.conditions)).toBe('Succeeded');
      expect(restore.status?.method).toBe('repository');
    } finally {
      watch.on = false;
      await noting;
    }
    // The movers ran on the real node, as containerd's containers.
    const ran = [...movers.values()];
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(ran.map((p) => p.spec?.nodeName)).toEqual(ran.map(() => realNode().name));
    expect(ran.some((p) => p.status?.containerStatuses?.[0]?.containerID?.startsWith('containerd://'))).toBe(true);
    return ran;
  }

  /** The mover Pods of the first journey, as the operator wrote them. */
  let movers: Pod[] = [];

  it('backs a volume up and restores it with mover Jobs in real containers, volumes published by CSI', async () => {
    await client.create(kinds.backupPolicy, {
      metadata: { name: policy },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repository },
        retry: { limit: 1, deadline: '10m' },
      },
    } as KubeObject);
    await createClaim(client, tenant, 'data');
    const volume = await boundVolumePath(client, tenant, 'data');
    writeRichTree(volume);
    movers = await backUpAndRestore('data');
    // Every entry, its bytes, modes, owners, times and the root's own, through two real containers.
    expect(compareTrees(volume, await boundVolumePath(client, tenant, 'data-back'))).toEqual([]);
  });

  it('does the same for a CephFS volume', async () => {
    await createClaim(client, tenant, 'shared', { storageClass: testEnv().cephStorage.cephfs.storageClass });
    await boundVolumePath(client, tenant, 'shared');
    const source = await persistentVolumeOf(client, tenant, 'shared');
    await withCephfsFolder(source, (dir) => writeRichTree(dir));
    await backUpAndRestore('shared');
    const restored = await persistentVolumeOf(client, tenant, 'shared-back');
    const differences = await withCephfsFolder(source, (from) =>
      withCephfsFolder(restored, (to) => compareTrees(from, to)),
    );
    expect(differences).toEqual([]);
  });

  it('does the same for an RBD volume with ext4', async () => {
    await createClaim(client, tenant, 'block-fs', { storageClass: testEnv().cephStorage.rbd.storageClass });
    const source = await persistentVolumeOf(client, tenant, 'block-fs');
    await withRbdFilesystem(source, (dir) => writeRichTree(dir));
    await backUpAndRestore('block-fs');
    const restored = await persistentVolumeOf(client, tenant, 'block-fs-back');
    const differences = await withRbdFilesystem(
      source,
      (from) => withRbdFilesystem(restored, (to) => compareTrees(from, to), { readOnly: true }),
      { readOnly: true },
    );
    expect(differences).toEqual([]);
  });

  it('does the same for a Block RBD volume, a device in the mover containers', async () => {
    await createClaim(client, tenant, 'disk', { storageClass: testEnv().cephStorage.rbd.storageClass, mode: 'Block' });
    const source = await persistentVolumeOf(client, tenant, 'disk');
    await writeRandom(rbdImageFile(source), scatteredWrites(2 ** 30, 16, 5), 5);
    const ran = await backUpAndRestore('disk');
    expect(ran.some((pod) => moverContainer(pod).volumeDevices !== undefined)).toBe(true);
    const restored = await persistentVolumeOf(client, tenant, 'disk-back');
    await rbdImageReleased(restored);
    // cmp exits 1 and names the first differing byte if the images differ.
    await run('cmp', [rbdImageFile(source), rbdImageFile(restored)], { timeoutMs: 120_000 });
  });

  /** A Pod on the real node that mounts the claims at /data, /data1, ... and sleeps (or runs `script`): the workload hooks run in. */
  async function workload(
    name: string,
    claims: string | string[],
    metadata: { labels?: object; annotations?: object },
    script = 'sleep 3600',
  ) {
    const mounted = typeof claims === 'string' ? [claims] : claims;
    await client.create(kinds.pod, {
      metadata: { name, namespace: tenant, ...metadata },
      spec: {
        ...onRealNode(),
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'app',
            image: realNode().image,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', script],
            // The volume's root is root's: the application writes there as root.
            securityContext: { runAsUser: 0 },
            volumeMounts: mounted.map((_, i) => ({ name: `data${i}`, mountPath: i === 0 ? '/data' : `/data${i}` })),
          },
        ],
        volumes: mounted.map((claim, i) => ({ name: `data${i}`, persistentVolumeClaim: { claimName: claim } })),
      },
    } as KubeObject);
    await waitFor(`Pod ${name} running`, async () => {
      const pod = await client.get<Pod>(kinds.pod, { namespace: tenant, name });
      return pod.status?.phase === 'Running';
    });
  }

  it("runs a Pod's hooks in its container around the snapshot: pre before it is taken, post right after", async () => {
    await createClaim(client, tenant, 'app');
    const volume = await boundVolumePath(client, tenant, 'app');
    await workload('app', 'app', {
      annotations: {
        'pre.hook.safehold.io/command': JSON.stringify(['sh', '-c', 'touch /data/paused && echo paused']),
        'pre.hook.safehold.io/timeout': '20s',
        // Velero's annotation, as a migrating user has it.
        'post.hook.backup.velero.io/command': JSON.stringify(['sh', '-c', 'touch /data/resumed && echo resumed']),
      },
    });
    await backUpAndRestore('app');
    const backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: tenant, name: 'app-1' });
    expect(backup.status?.hooks).toMatchObject([
      { stage: 'pre', source: 'pre.hook.safehold.io', pod: 'app', container: 'app', timeoutSeconds: 20 },
      { stage: 'post', source: 'post.hook.backup.velero.io', pod: 'app', container: 'app', timeoutSeconds: 30 },
    ]);
    expect(backup.status?.hooks?.map((h) => [h.outcome, h.exitCode, h.output])).toEqual([
      ['Succeeded', 0, 'paused'],
      ['Succeeded', 0, 'resumed'],
    ]);
    // The snapshot holds what the pre hook wrote and not what the post hook wrote: they ran on either side of it.
    const restored = await boundVolumePath(client, tenant, 'app-back');
    expect(existsSync(join(restored, 'paused'))).toBe(true);
    expect(existsSync(join(restored, 'resumed'))).toBe(false);
    expect(existsSync(join(volume, 'resumed'))).toBe(true);
    const events = await client.list<KubeObject & { reason?: string; message?: string }>(kinds.event, {
      namespace: tenant,
    });
    expect(events.items.filter((e) => e.reason === 'HookSucceeded').map((e) => e.message)).toHaveLength(2);
  });

  it('fails the attempt when a pre hook fails, and still runs the post hook; no snapshot is taken', async () => {
    await client.mergePatch(
      kinds.backupPolicy,
      { name: policy },
      {
        spec: {
          hooks: {
            pre: [
              { podSelector: { matchLabels: { app: 'db' } }, command: ['sh', '-c', 'echo cannot pause >&2; exit 7'] },
            ],
            post: [{ podSelector: { matchLabels: { app: 'db' } }, command: ['sh', '-c', 'echo resumed'] }],
          },
        },
      },
    );
    await createClaim(client, tenant, 'db');
    await boundVolumePath(client, tenant, 'db');
    await workload('db', 'db', { labels: { app: 'db' } });
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'db-1', namespace: tenant },
      spec: { pvc: 'db', trigger: 'manual' },
    } as KubeObject);
    let backup: VolumeBackup | undefined;
    await waitFor('the first attempt to fail', async () => {
      backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: tenant, name: 'db-1' });
      return backup.status?.reason === 'RetryScheduled' || backup.status?.phase === 'Failed';
    });
    expect(backup?.status?.message).toContain(
      'pre hook in Pod db, container app (sh -c echo cannot pause >&2; exit 7): exited 7',
    );
    expect(backup?.status?.hooks?.map((h) => [h.stage, h.source, h.outcome, h.exitCode, h.output])).toEqual([
      ['pre', 'policy', 'Failed', 7, 'cannot pause'],
      ['post', 'policy', 'Succeeded', 0, 'resumed'],
    ]);
    const snapshots = await client.list<KubeObject>(kinds.volumeSnapshot, { namespace: tenant });
    expect(snapshots.items.map((s) => s.metadata?.name)).not.toContain('db-1');
    await client.delete(kinds.volumeBackup, { namespace: tenant, name: 'db-1' });
  });

  it("never runs a Pod's hooks for two of its volumes at once", async () => {
    for (const claim of ['mail', 'mail-index']) await createClaim(client, tenant, claim);
    // The pre hook fails when the Pod is paused already, as a second fsfreeze or lock would.
    await workload('mail', ['mail', 'mail-index'], {
      annotations: {
        // It holds the pause for a moment, as a real one would: the other volume's run comes meanwhile.
        'pre.hook.safehold.io/command': JSON.stringify(['sh', '-c', 'mkdir /tmp/paused && sleep 3']),
        'post.hook.safehold.io/command': JSON.stringify(['rmdir', '/tmp/paused']),
      },
    });
    for (const claim of ['mail', 'mail-index'])
      await client.create(kinds.volumeBackup, {
        metadata: { name: `${claim}-1`, namespace: tenant },
        spec: { pvc: claim, trigger: 'manual' },
      } as KubeObject);
    for (const claim of ['mail', 'mail-index']) {
      const backup = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, tenant, `${claim}-1`);
      expect(backup.status?.phase, backup.status?.message).toBe('Succeeded');
      expect(backup.status?.attempt).toBe(1);
      expect(backup.status?.hooks?.map((h) => h.outcome)).toEqual(['Succeeded', 'Succeeded']);
    }
  });

  it("captures a workload's volumes together: every pre hook, every snapshot, then the post hooks", async () => {
    for (const claim of ['pg', 'pg-wal']) await createClaim(client, tenant, claim);
    const volumes = await Promise.all(['pg', 'pg-wal'].map((claim) => boundVolumePath(client, tenant, claim)));
    await workload('pg', ['pg', 'pg-wal'], {
      annotations: {
        'pre.hook.safehold.io/command': JSON.stringify(['sh', '-c', 'touch /data/paused /data1/paused']),
        'post.hook.safehold.io/command': JSON.stringify(['sh', '-c', 'touch /data/resumed /data1/resumed']),
      },
    });
    // One backup, as the scheduler makes it: it starts the other volume's, and takes both snapshots between the hooks.
    await backUpAndRestore('pg', { trigger: 'schedule', scheduledFor: new Date().toISOString() });
    const leader = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: tenant, name: 'pg-1' });
    expect(leader.status?.group).toEqual([{ pvc: 'pg-wal', backup: 'pg-1-pg-wal' }]);
    const member = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, tenant, 'pg-1-pg-wal');
    expect(member.status?.phase, member.status?.message).toBe('Succeeded');
    expect(member.spec.groupOf).toBe('pg-1');
    expect(member.status?.hooks).toBeUndefined(); // its hooks ran once, in the leader
    // It stands for the other volume's own next slot, recorded on its PVC as the scheduler records one: that
    // volume is not backed up again at its slot.
    expect(member.spec.trigger).toBe('schedule');
    expect(Date.parse(member.spec.scheduledFor ?? '')).toBeGreaterThan(Date.now() - 24 * 3600_000);
    const walClaim = await client.get(kinds.persistentVolumeClaim, { namespace: tenant, name: 'pg-wal' });
    expect(walClaim.metadata?.annotations?.['safehold.io/last-scheduled']).toBe(member.spec.scheduledFor);
    // Both snapshots fall between the pre hook's end and the post hook's start.
    const [pre, post] = leader.status?.hooks ?? [];
    for (const run of [leader, member]) {
      expect(Date.parse(run.status?.snapshotTime ?? '')).toBeGreaterThanOrEqual(
        Date.parse(pre?.completionTime ?? '') - 1000,
      );
      expect(Date.parse(run.status?.snapshotTime ?? '')).toBeLessThanOrEqual(Date.parse(post?.startTime ?? ''));
    }
    // And hold what the pre hook wrote, not what the post hook wrote, in both volumes.
    await client.create(kinds.volumeRestore, {
      metadata: { name: 'pg-wal-back', namespace: tenant },
      spec: { source: { pvc: 'pg-wal' }, backup: 'pg-1-pg-wal', useSnapshot: false, target: { pvc: 'pg-wal-back' } },
    } as KubeObject);
    const restore = await waitForRun<VolumeRestore>(client, kinds.volumeRestore, tenant, 'pg-wal-back');
    expect(restore.status?.phase, JSON.stringify(restore.status?.conditions)).toBe('Succeeded');
    for (const claim of ['pg-back', 'pg-wal-back']) {
      const restored = await boundVolumePath(client, tenant, claim);
      expect([existsSync(join(restored, 'paused')), existsSync(join(restored, 'resumed'))]).toEqual([true, false]);
    }
    for (const volume of volumes) expect(existsSync(join(volume, 'resumed'))).toBe(true);
  });

  it("captures a workload's volumes once when both are due in one pass: the other volume's scheduled run is adopted", async () => {
    for (const claim of ['ldap', 'ldap-log']) await createClaim(client, tenant, claim);
    const [volume] = await Promise.all(['ldap', 'ldap-log'].map((claim) => boundVolumePath(client, tenant, claim)));
    await workload('ldap', ['ldap', 'ldap-log'], {
      annotations: {
        // Each pause leaves a line: the workload must be paused once.
        'pre.hook.safehold.io/command': JSON.stringify(['sh', '-c', 'echo paused >> /data/pauses']),
      },
    });
    // As a scheduler pass after an outage leaves them: both volumes' runs, for one moment, created together.
    const slot = new Date().toISOString();
    for (const claim of ['ldap', 'ldap-log'])
      await client.create(kinds.volumeBackup, {
        metadata: { name: `${claim}-due`, namespace: tenant },
        spec: { pvc: claim, trigger: 'catch-up', scheduledFor: slot },
      } as KubeObject);
    let leader: VolumeBackup | undefined;
    await waitFor('one of the two runs to lead', async () => {
      const runs = (await client.list<VolumeBackup>(kinds.volumeBackup, { namespace: tenant })).items;
      leader = runs.find((r) => r.metadata.name.endsWith('-due') && (r.status?.group?.length ?? 0) > 0);
      return leader !== undefined;
    });
    const done = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, tenant, leader?.metadata.name ?? '');
    const memberName = done.status?.group?.[0]?.backup ?? '';
    const member = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, tenant, memberName);
    // The other volume's own run is gone, and the member stands for its slot.
    const other = leader?.spec.pvc === 'ldap' ? 'ldap-log-due' : 'ldap-due';
    await waitFor(`run ${other} deleted`, async () =>
      client.get(kinds.volumeBackup, { namespace: tenant, name: other }).then(
        () => false,
        (error: unknown) => isNotFound(error),
      ),
    );
    expect(member.spec).toMatchObject({ groupOf: done.metadata.name, trigger: 'schedule', scheduledFor: slot });
    expect(readFileSync(join(volume ?? '', 'pauses'), 'utf8')).toBe('paused\n');
  });

  it("takes a workload's volumes at one moment in a VolumeGroupSnapshot where their driver offers one, hooks or not", async () => {
    const rbd = testEnv().cephStorage.rbd.storageClass;
    for (const claim of ['ledger', 'journal']) await createClaim(client, tenant, claim, { storageClass: rbd });
    // Without a pause: each number goes to the ledger, then the journal. Volumes snapshotted one after the
    // other would end thousands of numbers apart; at one moment, the journal is at most one behind.
    await workload(
      'ledger',
      ['ledger', 'journal'],
      { labels: { app: 'ledger' } },
      'n=0; while true; do n=$((n+1)); echo $n >> /data/seq; echo $n >> /data1/seq; [ $n = 100 ] && echo written; done',
    );
    await waitFor('the writer to have written', async () =>
      (await client.podLog(tenant, 'ledger', { container: 'app' })).includes('written'),
    );
    await backUpAndRestore('ledger');
    const leader = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: tenant, name: 'ledger-1' });
    expect(leader.status?.hooks).toBeUndefined();
    expect(leader.status?.group).toEqual([{ pvc: 'journal', backup: 'ledger-1-journal' }]);
    expect(leader.status?.groupSnapshot).toEqual({
      name: 'ledger-1',
      class: testEnv().cephStorage.rbd.groupSnapshotClass,
    });
    // Each run copied its volume from the group snapshot's snapshot of it, as snapshot-controller names them.
    expect(leader.status?.snapshotName).toMatch(/^snapshot-[0-9a-f]{64}$/);
    const member = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, tenant, 'ledger-1-journal');
    expect(member.status?.phase, member.status?.message).toBe('Succeeded');
    expect(member.status?.snapshotName).toMatch(/^snapshot-[0-9a-f]{64}$/);
    expect(member.status?.snapshotName).not.toBe(leader.status?.snapshotName);
    await client.create(kinds.volumeRestore, {
      metadata: { name: 'journal-back', namespace: tenant },
      spec: {
        source: { pvc: 'journal' },
        backup: 'ledger-1-journal',
        useSnapshot: false,
        target: { pvc: 'journal-back' },
      },
    } as KubeObject);
    const restore = await waitForRun<VolumeRestore>(client, kinds.volumeRestore, tenant, 'journal-back');
    expect(restore.status?.phase, JSON.stringify(restore.status?.conditions)).toBe('Succeeded');
    const last = async (claim: string) =>
      withRbdFilesystem(
        await persistentVolumeOf(client, tenant, claim),
        (dir) => Number(readFileSync(join(dir, 'seq'), 'utf8').trimEnd().split('\n').at(-1)),
        { readOnly: true },
      );
    const [ledger, journal] = [await last('ledger-back'), await last('journal-back')];
    expect(ledger).toBeGreaterThan(0);
    expect(ledger - journal, `ledger ends on ${ledger}, journal on ${journal}`).toBeGreaterThanOrEqual(0);
    expect(ledger - journal, `ledger ends on ${ledger}, journal on ${journal}`).toBeLessThanOrEqual(1);
    // Once both copies are done, the group snapshot (and its snapshots) go, and the claims lose the capture label.
    await waitFor('the VolumeGroupSnapshot deleted', async () =>
      client.get(kinds.volumeGroupSnapshot, { namespace: tenant, name: 'ledger-1' }).then(
        () => false,
        (error: unknown) => isNotFound(error),
      ),
    );
    for (const claim of ['ledger', 'journal']) {
      const got = await client.get(kinds.persistentVolumeClaim, { namespace: tenant, name: claim });
      expect(got.metadata?.labels?.['safehold.io/group-capture']).toBeUndefined();
    }
    await client.delete(kinds.pod, { namespace: tenant, name: 'ledger' });
  });

  // Each database under a steady write load, paused by its preset: what the copy must hold is what a pre hook
  // read inside the pause, and the copy must start and pass the database's own check.
  const databaseJourneys = [
    {
      database: 'postgres' as const,
      title: 'PostgreSQL under a pgbench load, paused by the postgresql preset',
      preset: 'postgresql',
      image: () => testEnv().realNode?.postgresImage,
      read: ['psql', '-XAtq', '-F', ' ', '-c', loadState.postgres],
      paused: /^safehold: writes paused on 4 tables of database postgres$/m,
      check: ['pg_amcheck', '--install-missing', '--heapallindexed', '--database', 'postgres'],
    },
    {
      database: 'mariadb' as const,
      title: 'MariaDB under a stream of inserts, paused by the mysql preset',
      preset: 'mysql',
      image: () => testEnv().realNode?.mariadbImage,
      read: ['mariadb', '--batch', '--skip-column-names', '-e', loadState.mariadb],
      paused: /^safehold: writes paused: tables flushed and read-locked$/m,
      check: ['mariadb-check', '--all-databases', '--extended'],
    },
  ];

  it.each(databaseJourneys)(
    'backs up $title: the copy starts, passes its check and holds what the pause saw',
    async ({ database, preset, image, read, paused, check }) => {
      const named = image();
      if (named === undefined) throw new Error(`the real node has no ${database} image (build-image.sh ${database})`);
      const claim = `${database}-load`;
      const state = async (pod: string) => sql(client, database, tenant, pod, loadState[database]);
      const rows = async (pod: string) => Number((await state(pod)).split(' ')[0]);
      await createClaim(client, tenant, claim);
      await boundVolumePath(client, tenant, claim);
      await startDatabase(client, {
        database,
        name: claim,
        namespace: tenant,
        claim,
        image: named,
        load: true,
        // The second pre hook runs inside the preset's pause: what the snapshot must hold.
        annotations: { 'hooks.safehold.io/preset': preset, 'pre.hook.safehold.io/command': JSON.stringify(read) },
      });
      // The load runs: rows grow between two looks.
      const before = await rows(claim);
      await waitFor('the load to write more', async () => (await rows(claim)) > before);

      await backUpAndRestore(claim);
      const backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: tenant, name: `${claim}-1` });
      const hooks = backup.status?.hooks ?? [];
      expect(hooks.map((h) => [h.stage, h.preset, h.outcome])).toEqual([
        ['pre', preset, 'Succeeded'],
        ['pre', undefined, 'Succeeded'],
        ['post', preset, 'Succeeded'],
      ]);
      expect(hooks[0]?.output).toMatch(paused);
      expect(hooks[2]?.output).toContain('safehold: writes resumed');
      const atSnapshot = (hooks[1]?.output ?? '').trim().replaceAll('\t', ' ');
      expect(atSnapshot).toMatch(/^\d+ -?\d+$/);
      // The load went on after the pause.
      await waitFor(
        'the load to write after the backup',
        async () => (await rows(claim)) > Number(atSnapshot.split(' ')[0]),
      );

      // The restored copy starts (recovering from its log), is sound, and holds exactly what the pause saw.
      const restored = `${claim}-restored`;
      await startDatabase(client, {
        database,
        name: restored,
        namespace: tenant,
        claim: `${claim}-back`,
        image: named,
        load: false,
      });
      const checked = await client.exec({
        namespace: tenant,
        pod: restored,
        container: databaseContainer,
        command: check,
        timeoutMs: 120_000,
      });
      expect(checked.exitCode, `${checked.stdout}\n${checked.stderr}`).toBe(0);
      expect(`${checked.stdout}\n${checked.stderr}`).not.toMatch(/error|corrupt/i);
      expect(await state(restored)).toBe(atSnapshot);
      for (const pod of [claim, restored]) await client.delete(kinds.pod, { namespace: tenant, name: pod });
    },
  );

  it('runs a mover container without what ADR 0005 takes away: no token, a read-only root, only the named capabilities', async () => {
    // One Pod per kind of mover seen (backups and restores differ in capabilities), from the operator's own
    // spec: its securityContexts, service-account settings, image and emptyDirs; the probe instead of the mover.
    const byCapabilities = new Map<string, Pod>();
    for (const pod of movers)
      byCapabilities.set(JSON.stringify(moverContainer(pod).securityContext?.capabilities), pod);
    expect(byCapabilities.size).toBe(2);
    for (const [index, mover] of [...byCapabilities.values()].entries()) {
      const container = moverContainer(mover);
      const spec = mover.spec ?? { containers: [] };
      const emptyDirs = (spec.volumes ?? []).filter((v) => v.emptyDir !== undefined);
      const name = `probe-${index}-${id}`;
      await client.create(kinds.pod, {
        metadata: { name, namespace: system },
        spec: {
          ...spec,
          nodeName: undefined,
          volumes: emptyDirs,
          containers: [
            {
              name: 'probe',
              image: container.image,
              imagePullPolicy: 'Never',
              command: ['sh', '-c', probeScript],
              securityContext: container.securityContext,
              volumeMounts: (container.volumeMounts ?? []).filter((m) => emptyDirs.some((v) => v.name === m.name)),
            },
          ],
        },
      } as KubeObject);
      let pod: Pod | undefined;
      await waitFor(`probe Pod ${name} to finish`, async () => {
        pod = await client.get<Pod>(kinds.pod, { namespace: system, name });
        return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      });
      expect(pod?.spec?.nodeName).toBe(realNode().name);
      const seen = Object.fromEntries(
        (await client.podLog(system, name, { container: 'probe' }))
          .trim()
          .split('\n')
          .map((line) => line.split(/:\s*/) as [string, string]),
      );
      const added = container.securityContext?.capabilities?.add ?? [];
      expect(added).toContain('DAC_READ_SEARCH');
      const mask = capabilityMask(added);
      expect(seen).toEqual({
        uid: '0',
        CapEff: mask,
        CapPrm: mask,
        CapBnd: mask,
        NoNewPrivs: '1',
        Seccomp: '2', // filtering: the RuntimeDefault profile
        root: 'read-only',
        tmp: 'writable',
        token: 'none',
      });
    }
  });
});

function moverContainer(pod: Pod) {
  const container = pod.spec?.containers[0];
  if (container === undefined) throw new Error(`mover Pod ${pod.metadata?.name ?? ''} has no container`);
  return container;
}

/** What a mover container holds, one `name: value` line each, from the kernel's own view of the process. */
const probeScript = [
  'echo "uid: $(id -u)"',
  "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
  'if touch /probe 2>/dev/null; then echo "root: writable"; else echo "root: read-only"; fi',
  'if touch /tmp/probe; then echo "tmp: writable"; else echo "tmp: read-only"; fi',
  'if [ -e /var/run/secrets/kubernetes.io/serviceaccount ]; then echo "token: mounted"; else echo "token: none"; fi',
].join('\n');

/** The kernel's capability bits (linux/capability.h) of the ones Safehold's movers may hold. */
const capabilityBits: Record<string, number> = { CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4 };

/** A set of capabilities as /proc/<pid>/status prints it: 16 hex digits. */
function capabilityMask(names: string[]): string {
  let mask = 0n;
  for (const name of names) {
    const bit = capabilityBits[name];
    if (bit === undefined) throw new Error(`capability ${name} is not one a mover may hold`);
    mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, '0');
}
