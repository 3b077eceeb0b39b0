// Concurrency limits hold under load: thirty volumes on two nodes, in two
// repositories, are backed up at once. A watch on the API server sees every
// mover Pod come and go, and at no moment do more of them run than the
// operator's limit, a node's limit or a repository's limit allows; every
// backup still succeeds, and each limit is reached, so the check has teeth.
// Then restores and downloads, all at once, keep to their own limit.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLabels, type VolumeBackup } from '../src/api/index.ts';
import { kinds, resourcePath, type KubeClient, type KubeObject, type WatchEvent } from '../src/kube/index.ts';
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
import { installWithRepository, runOperatorHere, waitForRun, type OperatorHere } from './support/safehold.ts';

const limits = { operator: 5, perNode: 3, perRepository: 3, restores: 2 };

interface Limits {
  total: number;
  perNode?: number;
  perRepository?: number;
}

/** Where a mover runs and which repository it uses; undefined for a mover this census does not count. */
type Placement = (pod: Pod) => { node: string; repository: string } | undefined;

const volumesPerNamespace = 15;

/** What runs at one moment: mover Pods whose mover has not exited, counted in total, by node and by repository. */
class MoverCensus {
  readonly #running = new Map<string, { node: string; repository: string }>();
  /** Every mover Pod seen, running or not. */
  readonly seen = new Set<string>();
  readonly peak = { total: 0, node: new Map<string, number>(), repository: new Map<string, number>() };
  /** Every moment a limit was exceeded, with what ran then. */
  readonly excesses: string[] = [];
  #resourceVersion: string | undefined;
  readonly #limits: Limits;
  readonly #placement: Placement;

  constructor(limits: Limits, placement: Placement) {
    this.#limits = limits;
    this.#placement = placement;
  }

  /** Watches mover Pods in `namespace` until the signal aborts, resuming where a closed watch ended. */
  async watch(client: KubeClient, namespace: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await client.watch<Pod>(
        resourcePath(kinds.pod, { namespace }),
        {
          labelSelector: `${runLabels.component}=mover`,
          ...(this.#resourceVersion === undefined ? {} : { resourceVersion: this.#resourceVersion }),
        },
        (event) => this.#see(event),
        signal,
      );
    }
  }

  #see(event: WatchEvent<Pod>): void {
    const pod = event.object;
    if (event.type === 'ERROR') throw new Error(`the watch of mover Pods failed: ${JSON.stringify(pod)}`);
    this.#resourceVersion = pod.metadata?.resourceVersion ?? this.#resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const name = pod.metadata?.name ?? '';
    const placement = this.#placement(pod);
    if (placement === undefined) return;
    this.seen.add(name);
    const phase = pod.status?.phase;
    // A kubelet reports the mover's container terminated before it tears the Pod down and
    // sets its phase; the operator frees the slot at the first of these, and so does the census.
    const exited = pod.status?.containerStatuses?.some((c) => c.name === 'mover' && c.state?.terminated !== undefined);
    if (event.type === 'DELETED' || phase === 'Succeeded' || phase === 'Failed' || exited === true) {
      this.#running.delete(name);
      return;
    }
    this.#running.set(name, placement);
    this.#tally();
  }

  #tally(): void {
    const running = [...this.#running.values()];
    const count = (key: 'node' | 'repository') => {
      const counts = new Map<string, number>();
      for (const mover of running) counts.set(mover[key], (counts.get(mover[key]) ?? 0) + 1);
      return counts;
    };
    const raise = (peaks: Map<string, number>, counts: Map<string, number>) => {
      for (const [key, n] of counts) peaks.set(key, Math.max(peaks.get(key) ?? 0, n));
    };
    const byNode = count('node');
    const byRepository = count('repository');
    this.peak.total = Math.max(this.peak.total, running.length);
    raise(this.peak.node, byNode);
    raise(this.peak.repository, byRepository);
    const above = (counts: Map<string, number>, limit: number | undefined) =>
      limit !== undefined && [...counts.values()].some((n) => n > limit);
    const over =
      running.length > this.#limits.total ||
      above(byNode, this.#limits.perNode) ||
      above(byRepository, this.#limits.perRepository);
    if (over) this.excesses.push(running.map((m) => `${m.repository}@${m.node}`).join(' '));
  }
}

describe('concurrency limits', () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  const id = uniqueName('cc');
  const system = `safehold-${id}`;
  const repositories = { a: `repo-a-${id}`, b: `repo-b-${id}` };
  const policies = { a: `policy-a-${id}`, b: `policy-b-${id}` };
  const namespaces = { a: '', b: '' };
  let nodes: string[] = [];
  const volume = (i: number) => `vol-${String(i).padStart(2, '0')}`;
  const repositoryOf = (pod: Pod) => {
    const ns = pod.metadata?.labels?.[runLabels.namespace];
    return ns === namespaces.a ? repositories.a : ns === namespaces.b ? repositories.b : `other:${ns ?? ''}`;
  };
  /** Volume i of each namespace is in use on this node. */
  const nodeOf = (i: number) => nodes[i % nodes.length] ?? '';

  beforeAll(async () => {
    client = clientAs('admin');
    nodes = testEnv().nodes;
    await installWithRepository(client, { system, id, bucket: `safehold-${id}`, repository: repositories.a });
    // The second repository limits its writers itself; the first leaves that to its policy.
    await client.create(kinds.backupRepository, {
      metadata: { name: repositories.b },
      spec: {
        s3: {
          endpoint: testEnv().ceph.s3.endpoint,
          bucket: `safehold-${id}-b`,
          prefix: 'tenants/{namespace}',
          accessKeyId: { namespace: system, name: `${id}-s3` },
          secretAccessKey: { namespace: system, name: `${id}-s3` },
        },
        maxConcurrentMovers: limits.perRepository,
      },
    } as KubeObject);
    for (const key of ['a', 'b'] as const) {
      const ns = await createNamespace(client, `cc-${key}`);
      namespaces[key] = ns;
      await client.create(kinds.backupPolicy, {
        metadata: { name: policies[key] },
        spec: {
          priority: 900,
          selector: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
          repository: { name: repositories[key] },
          method: 'live',
          schedule: { cron: '0 3 1 1 *', timeZone: 'UTC' },
          retry: { limit: 0, deadline: '30m' },
          // Policy a asks for more than the operator allows: the operator's limit stays the ceiling.
          concurrency:
            key === 'a'
              ? { global: 10, perNode: limits.perNode, perRepository: limits.perRepository }
              : { perNode: limits.perNode },
        },
      } as KubeObject);
      for (let i = 0; i < volumesPerNamespace; i++) await createClaim(client, ns, volume(i), { size: '16Mi' });
      for (let i = 0; i < volumesPerNamespace; i++) {
        const root = await boundVolumePath(client, ns, volume(i));
        mkdirSync(join(root, 'data'), { recursive: true });
        for (let f = 0; f < 3; f++) writeFileSync(join(root, 'data', `file-${f}`), `${ns} ${volume(i)} ${f}\n`);
      }
      // One application per node keeps half the namespace's volumes in use: a live backup must run there.
      for (const [n, node] of nodes.entries()) {
        const used = [...Array(volumesPerNamespace).keys()].filter((i) => nodeOf(i) === node);
        await client.create(kinds.pod, {
          metadata: { name: `app-${n}`, namespace: ns },
          spec: {
            nodeName: node,
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'app',
                image: 'safehold',
                command: ['sleep', '3600'],
                volumeMounts: used.map((i) => ({ name: volume(i), mountPath: `/${volume(i)}` })),
              },
            ],
            volumes: used.map((i) => ({ name: volume(i), persistentVolumeClaim: { claimName: volume(i) } })),
          },
        } as KubeObject);
      }
      await waitFor(`the applications in ${ns} to run`, async () => {
        const pods = await client.list<Pod>(kinds.pod, { namespace: ns });
        return pods.items.filter((p) => p.status?.phase === 'Running').length === nodes.length;
      });
    }
    operator = await runOperatorHere(system, id, {
      maxConcurrentMovers: limits.operator,
      maxConcurrentRestores: limits.restores,
    });
  });

  afterAll(async () => {
    // The runs go while the operator still runs, so no finalizer holds their namespace.
    const runKinds = [kinds.volumeBackup, kinds.volumeRestore, kinds.backupDownload];
    const runsLeft = async () =>
      (
        await Promise.all(
          Object.values(namespaces)
            .filter((namespace) => namespace !== '')
            .flatMap((namespace) =>
              runKinds.map(async (kind) => ({ kind, list: await client.list(kind, { namespace }) })),
            ),
        )
      ).flatMap(({ kind, list }) => list.items.map((run) => ({ kind, run })));
    for (const { kind, run } of await runsLeft())
      await client
        .delete(kind, { namespace: run.metadata?.namespace ?? '', name: run.metadata?.name ?? '' })
        .catch(() => undefined);
    await waitFor('the runs to go', async () => (await runsLeft()).length === 0).catch(() => undefined);
    await operator?.stop();
    for (const key of ['a', 'b'] as const) {
      await client.delete(kinds.backupPolicy, { name: policies[key] }).catch(() => undefined);
      await client.delete(kinds.backupRepository, { name: repositories[key] }).catch(() => undefined);
      if (namespaces[key] !== '') await deleteNamespace(client, namespaces[key]);
    }
    await deleteNamespace(client, system);
    client.close();
  });

  it('backs up thirty volumes on two nodes in two repositories, never running more movers than a limit allows', async () => {
    expect(nodes.length).toBe(2);
    const census = new MoverCensus(
      { total: limits.operator, perNode: limits.perNode, perRepository: limits.perRepository },
      (pod) =>
        pod.metadata?.labels?.[runLabels.run] === undefined
          ? undefined
          : // A mover pinned to a node counts there from its creation, before the scheduler binds it.
            {
              node: pod.spec?.nodeSelector?.['kubernetes.io/hostname'] ?? pod.spec?.nodeName ?? 'unscheduled',
              repository: repositoryOf(pod),
            },
    );
    const stopWatching = new AbortController();
    const watching = census.watch(client, system, stopWatching.signal);
    const started = Date.now();
    try {
      await Promise.all(
        [...Array(volumesPerNamespace).keys()].flatMap((i) =>
          (['a', 'b'] as const).map((key) =>
            client.create(kinds.volumeBackup, {
              metadata: { name: `${volume(i)}-now`, namespace: namespaces[key] },
              spec: { pvc: volume(i), trigger: 'manual', policy: policies[key] },
            } as KubeObject),
          ),
        ),
      );
      let runs: VolumeBackup[] = [];
      await waitFor(
        'all thirty backups to succeed',
        async () => {
          runs = (
            await Promise.all(
              Object.values(namespaces).map((namespace) =>
                client.list<VolumeBackup>(kinds.volumeBackup, { namespace }),
              ),
            )
          ).flatMap((list) => list.items);
          const failed = runs.find((r) => r.status?.phase === 'Failed');
          if (failed !== undefined)
            throw new GiveUp(`${failed.metadata.namespace}/${failed.metadata.name} failed: ${failed.status?.message}`);
          return runs.filter((r) => r.status?.phase === 'Succeeded').length === 2 * volumesPerNamespace;
        },
        { timeoutMs: 480_000, intervalMs: 2000 },
      );
      console.log(
        `30 backups in ${Math.round((Date.now() - started) / 1000)} s; peak movers: ${census.peak.total} in all,`,
        Object.fromEntries(census.peak.node),
        Object.fromEntries(census.peak.repository),
      );
      // Each ran where its volume is in use, and wrote to its namespace's repository.
      for (const run of runs) {
        const i = Number(run.spec.pvc.slice('vol-'.length));
        const key = run.metadata.namespace === namespaces.a ? 'a' : 'b';
        expect(run.status).toMatchObject({ method: 'live', node: nodeOf(i), repository: repositories[key] });
      }
      expect(census.excesses).toEqual([]);
      // The limits were reached: a census that never saw them could not have seen them broken either.
      expect(census.peak.total).toBe(limits.operator);
      expect(Math.max(...census.peak.node.values())).toBe(limits.perNode);
      expect(Math.max(...census.peak.repository.values())).toBe(limits.perRepository);
      expect([...census.peak.node.keys()].sort()).toEqual([...nodes].sort());
      expect([...census.peak.repository.keys()].sort()).toEqual(Object.values(repositories).sort());
    } finally {
      stopWatching.abort();
      await watching;
    }
  }, 560_000);

  it('restores and downloads, all asked for at once, keep to their own limit and all succeed', async () => {
    const census = new MoverCensus({ total: limits.restores }, (pod) => {
      const labels = pod.metadata?.labels ?? {};
      if (labels[runLabels.restore] === undefined && labels[runLabels.download] === undefined) return undefined;
      return { node: pod.spec?.nodeName ?? 'unscheduled', repository: repositoryOf(pod) };
    });
    const stopWatching = new AbortController();
    const watching = census.watch(client, system, stopWatching.signal);
    const restored = [0, 1, 2];
    try {
      await Promise.all(
        (['a', 'b'] as const).flatMap((key) => [
          ...restored.map((i) =>
            client.create(kinds.volumeRestore, {
              metadata: { name: `restore-${volume(i)}`, namespace: namespaces[key] },
              spec: { source: { pvc: volume(i) }, target: { pvc: `restored-${volume(i)}` } },
            } as KubeObject),
          ),
          client.create(kinds.backupDownload, {
            metadata: { name: `list-${volume(9)}`, namespace: namespaces[key] },
            spec: { source: { pvc: volume(9) }, path: '/data' },
          } as KubeObject),
        ]),
      );
      for (const key of ['a', 'b'] as const) {
        const ns = namespaces[key];
        for (const i of restored) await waitForRun(client, kinds.volumeRestore, ns, `restore-${volume(i)}`);
        await waitForRun(client, kinds.backupDownload, ns, `list-${volume(9)}`);
        for (const i of restored) {
          const root = await boundVolumePath(client, ns, `restored-${volume(i)}`);
          expect(readFileSync(join(root, 'data', 'file-0'), 'utf8')).toBe(`${ns} ${volume(i)} 0\n`);
        }
      }
      console.log(`peak restore and download movers: ${census.peak.total}`);
      expect(census.seen.size).toBe(2 * (restored.length + 1));
      expect(census.excesses).toEqual([]);
      expect(census.peak.total).toBe(limits.restores);
    } finally {
      stopWatching.abort();
      await watching;
    }
  });
});
