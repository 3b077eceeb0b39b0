// The run engine keeps its word when things go wrong: a run blocked on
// something missing waits for its scheduled retry and then fails, writing a
// handful of times instead of on every reconcile; deleting an unfinished run
// takes its temporaries with it; and the sweep removes only leftovers whose
// owner is gone, never what a user labelled like ours.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../src/api/index.ts';
import { runObjectBase } from '../src/core/index.ts';
import { isNotFound, kinds, type KubeClient, type KubeObject, type ResourceKind } from '../src/kube/index.ts';
import { auditSince, markAudit, tally, writeVerbs, type AuditEntry, type AuditMark } from './support/audit.ts';
import {
  bindStaticVolume,
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  GiveUp,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import { installWithRepository, runOperatorHere, safehold, type OperatorHere } from './support/safehold.ts';

/** What "a handful" means: a run rescheduling itself on every reconcile passes it within a second. */
const writeBound = 10;
const ownerAnnotation = 'safehold.io/owner';
const cleanupFinalizer = 'safehold.io/cleanup';

/** An S3 endpoint that answers the mover's probe of its root and nothing else: restic waits on it for ever. */
async function stalledS3(): Promise<{ url: string; held: () => number; close: () => Promise<void> }> {
  const held: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    if (request.url === '/') response.writeHead(403).end();
    else held.push(request);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    held: () => held.length,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the run engine', () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  let s3: Awaited<ReturnType<typeof stalledS3>> | undefined;
  let ns = '';
  const id = uniqueName('re');
  const system = `safehold-${id}`;
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const stalledRepo = `stalled-${id}`;
  const heldVolume = `held-${id}`;
  const policies = { once: `once-${id}`, nowhere: `nowhere-${id}`, stalled: `stalled-${id}` };

  const getRun = (name: string) => client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name });
  const secondsSince = (mark: AuditMark) => Math.round((Date.now() - mark.since.getTime()) / 1000);

  /**
   * The operator's write requests about one run since the mark: its VolumeBackup (status too), the
   * Events it records (named after the volume or the run), its temporaries in the volume's
   * namespace, in Safehold's and cluster-wide, and the volume it writes back to. The user's create
   * of the run is not the engine's. Each journey's PVC name is a prefix of no other's.
   */
  const engineRequests = (mark: AuditMark, run: { name: string; pvc: string; volume?: string }): AuditEntry[] => {
    const base = runObjectBase({ metadata: { namespace: ns, name: run.name } });
    const concerns = (ref: AuditEntry['ref']) => {
      const name = ref.name ?? '';
      if (ref.namespace === ns)
        return [run.name, run.pvc].some((p) => name === p || name.startsWith(`${p}.`) || name.startsWith(`${p}-`));
      if (ref.namespace === system) return name.includes(base);
      if (ref.namespace === undefined) return name.includes(base) || name === run.volume;
      return false;
    };
    return auditSince(mark).filter(
      (e) =>
        e.userAgent === 'safehold' &&
        writeVerbs.has(e.verb) &&
        !(e.verb === 'create' && e.ref.resource === 'volumebackups') &&
        concerns(e.ref),
    );
  };

  /**
   * Waits for a blocked run to end Failed; gives up as soon as the operator has carried out more
   * than writeBound writes about it. Returns the run and the writes of its life (requests the
   * server refused, such as deletes of what never existed, are not writes; the message counts them).
   */
  const blockedRunFails = async (
    mark: AuditMark,
    run: { name: string; pvc: string; volume?: string },
    timeoutMs: number,
  ): Promise<{ backup: VolumeBackup; writes: AuditEntry[] }> => {
    let backup: VolumeBackup | undefined;
    let writes: AuditEntry[] = [];
    await waitFor(
      `${ns}/${run.name} to fail`,
      async () => {
        const requests = engineRequests(mark, run);
        writes = requests.filter((e) => e.code < 400);
        backup = await getRun(run.name);
        const s = backup.status;
        const state = `phase ${s?.phase ?? 'none'}, attempt ${s?.attempt ?? 'none'}, reason ${s?.reason ?? 'none'}, nextAttemptTime ${s?.nextAttemptTime ?? 'none'}`;
        if (writes.length > writeBound)
          throw new GiveUp(
            `the operator wrote ${writes.length} times about ${run.name} in ${secondsSince(mark)} s (bound ${writeBound}, ${requests.length} write requests), ${state}: ${tally(requests)}`,
          );
        if (s?.phase === 'Failed') return true;
        throw new Error(
          `${state}; ${writes.length} writes (${requests.length} write requests) in ${secondsSince(mark)} s`,
        );
      },
      { timeoutMs, intervalMs: 250 },
    );
    return { backup: backup as VolumeBackup, writes };
  };

  /** Ends a run whatever the journey found: one that loops must not go on writing through the next journeys. */
  const deleteRun = (name: string) =>
    client.delete(kinds.volumeBackup, { namespace: ns, name }).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });

  const ageAtCompletion = (backup: VolumeBackup) =>
    Date.parse(backup.status?.completionTime ?? '') - Date.parse(backup.metadata.creationTimestamp ?? '');

  /** A run's temporaries as "Kind namespace/name": by its run label in its namespace, in Safehold's and cluster-wide. */
  const temporariesOf = async (run: string): Promise<string[]> => {
    const inVolumeNamespace = `safehold.io/run=${run}`;
    const elsewhere = `${inVolumeNamespace},safehold.io/namespace=${ns}`;
    const lists: [ResourceKind, string | undefined, string][] = [
      [kinds.volumeSnapshot, ns, inVolumeNamespace],
      [kinds.persistentVolumeClaim, ns, inVolumeNamespace],
      [kinds.job, system, elsewhere],
      [kinds.pod, system, elsewhere],
      [kinds.persistentVolumeClaim, system, elsewhere],
      [kinds.secret, system, elsewhere],
      [kinds.persistentVolume, undefined, elsewhere],
    ];
    const found = await Promise.all(
      lists.map(async ([kind, namespace, labelSelector]) =>
        (
          await client.list<KubeObject>(kind, {
            ...(namespace === undefined ? {} : { namespace }),
            query: { labelSelector },
          })
        ).items.map(
          (o) =>
            `${kind.kind} ${o.metadata?.namespace === undefined ? '' : `${o.metadata.namespace}/`}${o.metadata?.name ?? ''}`,
        ),
      ),
    );
    return found.flat();
  };

  /** 'deleted' once the object is gone or going. */
  const fate = async (kind: ResourceKind, namespace: string, name: string): Promise<'kept' | 'deleted'> => {
    try {
      const object = await client.get(kind, { namespace, name });
      return object.metadata?.deletionTimestamp === undefined ? 'kept' : 'deleted';
    } catch (error) {
      if (isNotFound(error)) return 'deleted';
      throw error;
    }
  };

  /** A Secret in Safehold's namespace that looks like a run's leftover: run labels and an owner record. */
  const leftover = (name: string, owner: { name: string; uid: string }) =>
    client.create(kinds.secret, {
      metadata: {
        name,
        namespace: system,
        labels: { 'safehold.io/run': owner.name, 'safehold.io/namespace': ns, 'app.kubernetes.io/component': 'mover' },
        annotations: { [ownerAnnotation]: `VolumeBackup/${ns}/${owner.name}/${owner.uid}` },
      },
      stringData: { RESTIC_PASSWORD: 'left behind' },
    } as KubeObject);

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket, repository: repoName });
    s3 = await stalledS3();
    await client.create(kinds.backupRepository, {
      metadata: { name: stalledRepo },
      spec: {
        s3: {
          endpoint: s3.url,
          bucket: 'stalled',
          prefix: '{namespace}',
          accessKeyId: { namespace: system, name: `${id}-s3` },
          secretAccessKey: { namespace: system, name: `${id}-s3` },
        },
      },
    } as KubeObject);
    // Runs name their policy (spec.policy), so the policies select no volume and never schedule one.
    const policy = (name: string, spec: object) =>
      client.create(kinds.backupPolicy, {
        metadata: { name },
        spec: {
          selector: { namespaceSelector: { matchLabels: { 'safehold.test/nothing': id } } },
          schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
          ...spec,
        },
      } as KubeObject);
    // A deadline far off: what ends these runs is the retry limit.
    await policy(policies.once, {
      repository: { name: repoName },
      method: 'snapshot',
      retry: { limit: 1, deadline: '2h' },
    });
    await policy(policies.nowhere, { repository: { name: 'nope' }, retry: { limit: 1, deadline: '2h' } });
    await policy(policies.stalled, {
      repository: { name: stalledRepo },
      method: 'snapshot',
      retry: { limit: 0, deadline: '2h' },
    });
    ns = await createNamespace(client, 'engine');
    operator = await runOperatorHere(system, id);
  });

  afterAll(async () => {
    // Runs carry the engine's finalizer: they are deleted while the operator still runs.
    if (ns !== '') {
      const runs = await client.list<VolumeBackup & KubeObject>(kinds.volumeBackup, { namespace: ns });
      for (const run of runs.items) await deleteRun(run.metadata.name);
      await waitFor(
        'the runs to be gone',
        async () => (await client.list(kinds.volumeBackup, { namespace: ns })).items.length === 0,
        { timeoutMs: 60_000 },
      ).catch(() => undefined);
    }
    await operator?.stop();
    for (const name of Object.values(policies))
      await client.delete(kinds.backupPolicy, { name }).catch(() => undefined);
    for (const name of [repoName, stalledRepo])
      await client.delete(kinds.backupRepository, { name }).catch(() => undefined);
    await client.delete(kinds.persistentVolume, { name: heldVolume }).catch(() => undefined);
    // Alias PVs are cluster-wide: whatever this namespace's runs left behind.
    if (ns !== '') {
      const aliases = await client.list<KubeObject>(kinds.persistentVolume, {
        query: { labelSelector: `safehold.io/namespace=${ns}` },
      });
      for (const pv of aliases.items)
        await client.delete(kinds.persistentVolume, { name: pv.metadata?.name ?? '' }).catch(() => undefined);
      await deleteNamespace(client, ns);
    }
    await deleteNamespace(client, system);
    await s3?.close();
    client.close();
  });

  it('fails a backup of a missing PVC after its one retry, writing a handful of times, not on every reconcile', async () => {
    const mark = markAudit();
    const cli = await safehold(['backup', `${ns}/does-not-exist`, '--policy', policies.once]);
    expect(cli.code, cli.stderr).toBe(0);
    const name = /volumebackup \S+\/(\S+) created/.exec(cli.stdout)?.[1] ?? '';
    expect(name).not.toBe('');

    try {
      const { backup, writes } = await blockedRunFails(mark, { name, pvc: 'does-not-exist' }, 150_000);
      expect(backup.status).toMatchObject({ phase: 'Failed', reason: 'ClaimNotFound', attempt: 2 });
      // It gave up at its scheduled retry, 30 s after the first check, not at once.
      expect(ageAtCompletion(backup)).toBeGreaterThanOrEqual(25_000);
      expect(writes.length).toBeLessThanOrEqual(writeBound);
    } finally {
      await deleteRun(name);
    }
  }, 300_000);

  it('fails a backup whose policy names a missing repository after its one retry, writing a handful of times', async () => {
    await createClaim(client, ns, 'lost-repo');
    await boundVolumePath(client, ns, 'lost-repo');
    const claim = await client.get<KubeObject & { spec?: { volumeName?: string } }>(kinds.persistentVolumeClaim, {
      namespace: ns,
      name: 'lost-repo',
    });
    const mark = markAudit();
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'lost-repo-1', namespace: ns },
      spec: { pvc: 'lost-repo', trigger: 'manual', policy: policies.nowhere },
    } as KubeObject);

    try {
      const { backup, writes } = await blockedRunFails(
        mark,
        {
          name: 'lost-repo-1',
          pvc: 'lost-repo',
          ...(claim.spec?.volumeName === undefined ? {} : { volume: claim.spec.volumeName }),
        },
        150_000,
      );
      expect(backup.status).toMatchObject({ phase: 'Failed', reason: 'RepositoryNotFound', attempt: 2 });
      expect(ageAtCompletion(backup)).toBeGreaterThanOrEqual(25_000);
      expect(writes.length).toBeLessThanOrEqual(writeBound);
    } finally {
      await deleteRun('lost-repo-1');
    }
  }, 300_000);

  it('fails a backup whose PVC was deleted while it was snapshotting, at its retry limit, writing a handful of times', async () => {
    // A volume of a CSI driver no snapshotter serves: its VolumeSnapshot is never ready, so the run
    // stays in Snapshotting for as long as the test needs (the test environment's own snapshots of
    // a small volume are ready in well under a second, and the run would race on to Running).
    await bindStaticVolume(
      client,
      ns,
      { name: 'held' },
      {
        name: heldVolume,
        csi: { driver: 'unserved.safehold.test', volumeHandle: heldVolume },
        accessModes: ['ReadWriteOnce'],
        size: '1Gi',
      },
    );
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'held-1', namespace: ns },
      spec: { pvc: 'held', trigger: 'manual', policy: policies.once },
    } as KubeObject);
    await waitFor(
      'the run to wait for its snapshot',
      async () => {
        const run = await getRun('held-1');
        const phase = run.status?.phase ?? 'Pending';
        if (phase !== 'Pending' && phase !== 'Snapshotting')
          throw new GiveUp(`the run left Snapshotting: ${phase} (${run.status?.message ?? ''})`);
        const snapshots = await client.list<KubeObject>(kinds.volumeSnapshot, {
          namespace: ns,
          query: { labelSelector: 'safehold.io/run=held-1' },
        });
        return phase === 'Snapshotting' && snapshots.items.length === 1;
      },
      { timeoutMs: 120_000 },
    );

    const mark = markAudit();
    try {
      await client.delete(kinds.persistentVolumeClaim, { namespace: ns, name: 'held' });
      await waitFor('the PVC to be gone', () =>
        client.get(kinds.persistentVolumeClaim, { namespace: ns, name: 'held' }).then(
          () => false,
          (error: unknown) => {
            if (isNotFound(error)) return true;
            throw error;
          },
        ),
      );
      const { backup, writes } = await blockedRunFails(
        mark,
        { name: 'held-1', pvc: 'held', volume: heldVolume },
        180_000,
      );
      expect(backup.status).toMatchObject({ phase: 'Failed', reason: 'ClaimNotFound', attempt: 2 });
      expect(writes.length).toBeLessThanOrEqual(writeBound);
    } finally {
      await deleteRun('held-1');
    }
  }, 400_000);

  it('deletes the temporaries of a running backup within seconds when the backup is deleted', async () => {
    await createClaim(client, ns, 'stalled');
    await boundVolumePath(client, ns, 'stalled');
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'stalled-1', namespace: ns },
      spec: { pvc: 'stalled', trigger: 'manual', policy: policies.stalled },
    } as KubeObject);
    // Running, its mover inside restic, waiting on the repository's endpoint.
    let running: VolumeBackup | undefined;
    await waitFor(
      'the mover to be stuck on the repository',
      async () => {
        running = await getRun('stalled-1');
        const phase = running.status?.phase;
        if (phase === 'Failed' || phase === 'Succeeded')
          throw new GiveUp(`the run ended: ${phase} (${running.status?.message ?? ''})`);
        return phase === 'Running' && (s3?.held() ?? 0) > 0;
      },
      { timeoutMs: 180_000 },
    );
    const before = await temporariesOf('stalled-1');
    expect(new Set(before.map((t) => t.split(' ')[0]))).toEqual(
      new Set(['VolumeSnapshot', 'PersistentVolumeClaim', 'Job', 'Pod', 'Secret', 'PersistentVolume']),
    );
    expect(before.filter((t) => t.startsWith('PersistentVolumeClaim '))).toHaveLength(2); // the clone and the alias

    await client.delete(kinds.volumeBackup, { namespace: ns, name: 'stalled-1' });
    await waitFor(
      'the run and its temporaries to be gone',
      async () => {
        const left = await temporariesOf('stalled-1');
        const run = await getRun('stalled-1').catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        });
        if (run !== undefined)
          left.push(
            `VolumeBackup ${ns}/stalled-1${run.metadata.deletionTimestamp === undefined ? '' : ` (deleting, finalizers ${(run.metadata.finalizers ?? []).join(' ')})`}`,
          );
        if (left.length === 0) return true;
        throw new Error(`still there: ${left.join(', ')}`);
      },
      { timeoutMs: 30_000 },
    );
    expect(running?.metadata.finalizers ?? []).toContain(cleanupFinalizer);
  }, 300_000);

  it('sweeps the leftovers of vanished runs and nothing a user labelled like ours', async () => {
    // A fresh operator: its first sweep comes after these exist.
    await operator?.stop();
    operator = undefined;
    const ghost = `ghost-${id}`;
    // A finished run, and a leftover naming it with another uid: a run of the same name that is gone.
    const finished = await client.create<VolumeBackup & KubeObject>(kinds.volumeBackup, {
      metadata: { name: `finished-${id}`, namespace: ns },
      spec: { pvc: 'finished', trigger: 'manual' },
    });
    await client.mergePatch(
      kinds.volumeBackup,
      { namespace: ns, name: finished.metadata.name },
      { status: { phase: 'Failed', reason: 'ClaimNotFound', message: 'ended before this test' } },
      'status',
    );
    const userLabels = { 'safehold.io/run': 'my-own-thing' };
    await client.create(kinds.secret, {
      metadata: { name: 'users-secret', namespace: system, labels: userLabels },
      stringData: { token: 'the user keeps this' },
    } as KubeObject);
    await client.create(kinds.persistentVolumeClaim, {
      metadata: { name: 'users-claim', namespace: system, labels: userLabels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: `none-${id}`, // never provisioned: it stays Pending, nothing else holds it
        resources: { requests: { storage: '1Gi' } },
      },
    } as KubeObject);
    await leftover(`leftover-${id}`, { name: ghost, uid: randomUUID() });
    await leftover(`stale-${id}`, { name: finished.metadata.name, uid: randomUUID() });

    operator = await runOperatorHere(system, `${id}-sweep`, { sweepIntervalMs: 2000 });
    const running = operator;
    await waitFor(
      'a sweep to remove the leftover',
      async () =>
        (await fate(kinds.secret, system, `leftover-${id}`)) === 'deleted' &&
        running.log.some((line) => line.startsWith('swept leftovers of vanished runs')),
      { timeoutMs: 60_000 },
    );
    expect({
      "the user's Secret": await fate(kinds.secret, system, 'users-secret'),
      "the user's PVC": await fate(kinds.persistentVolumeClaim, system, 'users-claim'),
      'a leftover of a vanished run': await fate(kinds.secret, system, `leftover-${id}`),
      'a leftover of a run of the same name, another uid': await fate(kinds.secret, system, `stale-${id}`),
    }).toEqual({
      "the user's Secret": 'kept',
      "the user's PVC": 'kept',
      'a leftover of a vanished run': 'deleted',
      'a leftover of a run of the same name, another uid': 'deleted',
    });

    // And again later, without a restart.
    await leftover(`late-${id}`, { name: ghost, uid: randomUUID() });
    await waitFor(
      'the next sweep to remove a new leftover',
      async () => (await fate(kinds.secret, system, `late-${id}`)) === 'deleted',
      {
        timeoutMs: 30_000,
      },
    );
    expect(await fate(kinds.secret, system, 'users-secret')).toBe('kept');
  }, 300_000);
});
