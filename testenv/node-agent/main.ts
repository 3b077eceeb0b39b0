// The node agent daemon: registers the test nodes, keeps them alive, runs the
// Pods bound to them, and serves their logs on each node's kubelet endpoint.
//   node testenv/node-agent/main.ts --kubeconfig PATH --env-dir DIR --node NAME [--node NAME...]
//     --tls-cert-file PEM --tls-private-key-file PEM
import type { Pod } from 'kubernetes-types/core/v1.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Informer, kinds, WorkQueue } from '../../src/kube/index.ts';
import { connectTestClient } from '../client.ts';
import { versions } from '../paths.ts';
import { storageBackends } from '../storage/backends.ts';
import { startKubeletServer, type KubeletServer } from './kubelet-server.ts';
import { nodeStatus, registerNode, renewLease } from './node.ts';
import { containerLogPath, podDir, PodWorker, type AgentDeps } from './pod-worker.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'env-dir': { type: 'string' },
    'bin-dir': { type: 'string' },
    'apiserver-port': { type: 'string' },
    'tls-cert-file': { type: 'string' },
    'tls-private-key-file': { type: 'string' },
    node: { type: 'string', multiple: true },
  },
});
const nodes = new Set(values.node ?? ['node-1']);
const client = connectTestClient(values.kubeconfig ?? '');
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
const deps: AgentDeps = {
  client,
  backends: storageBackends(values['env-dir'] ?? ''),
  envDir: values['env-dir'] ?? '',
  binDir: values['bin-dir'] ?? '',
  apiserverPort: Number(values['apiserver-port'] ?? '36443'),
  log,
};

const pods = new Informer<Pod>(client, kinds.pod, { onError: (error) => log(`watch error: ${String(error)}`) });
const tls = {
  cert: readFileSync(values['tls-cert-file'] ?? '', 'utf8'),
  key: readFileSync(values['tls-private-key-file'] ?? '', 'utf8'),
};
const kubelets = new Map<string, KubeletServer>();
for (const name of nodes) {
  const kubelet = await startKubeletServer({
    tls,
    logPath: (namespace, pod, container) => logPathOn(name, `${namespace}/${pod}`, container),
    log,
  });
  kubelets.set(name, kubelet);
  await registerNode(client, name, versions.kubernetes, kubelet.port);
}
const heartbeat = setInterval(() => {
  for (const name of nodes) {
    void renewLease(client, name).catch((error: unknown) => log(`lease ${name}: ${String(error)}`));
  }
}, 10_000);
const statusBeat = setInterval(() => {
  for (const name of nodes) {
    void client
      .mergePatch(
        kinds.node,
        { name },
        { status: nodeStatus(name, versions.kubernetes, kubelets.get(name)?.port ?? 0) },
        'status',
      )
      .catch((error: unknown) => log(`node ${name}: ${String(error)}`));
  }
}, 60_000);

const workers = new Map<string, PodWorker>();

/** The output file of a container of a Pod bound to `node`; it outlives the Pod's processes, as kubelet logs do. */
function logPathOn(node: string, key: string, container: string): string | undefined {
  const pod = pods.get(key);
  const uid = pod?.metadata?.uid;
  if (uid === undefined || pod?.spec?.nodeName !== node) return undefined;
  const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
  return names.includes(container) ? containerLogPath(podDir(deps.envDir, uid), container) : undefined;
}

async function reconcile(key: string): Promise<void> {
  const pod = pods.get(key);
  const uid = pod?.metadata?.uid;
  for (const [workerUid, worker] of workers) {
    if (worker.name === key && workerUid !== uid) {
      // The Pod object is gone (or replaced by a new one of the same name).
      workers.delete(workerUid);
      await worker.terminate(0);
      worker.forget();
    }
  }
  if (pod === undefined || uid === undefined || !nodes.has(pod.spec?.nodeName ?? '')) return;
  let worker = workers.get(uid);
  if (pod.metadata?.deletionTimestamp !== undefined) {
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    worker ??= new PodWorker(deps, pod);
    workers.delete(uid);
    await worker.terminate(grace);
    worker.forget();
    return;
  }
  const phase = pod.status?.phase;
  if (worker === undefined && (phase === 'Succeeded' || phase === 'Failed')) return;
  if (worker === undefined && phase === 'Running') {
    // Running before this agent started: its processes died with the old agent.
    worker = new PodWorker(deps, pod);
    workers.set(uid, worker);
    await client.mergePatch(
      kinds.pod,
      { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '' },
      {
        status: {
          phase: 'Failed',
          reason: 'NodeAgentRestarted',
          message: 'the node agent restarted while the Pod ran',
        },
      },
      'status',
    );
    return;
  }
  if (worker === undefined) {
    worker = new PodWorker(deps, pod);
    workers.set(uid, worker);
  }
  worker.update(pod);
  worker.start();
}

const queue = new WorkQueue(reconcile, { concurrency: 16, onError: (key, error) => log(`${key}: ${String(error)}`) });
pods.onChange((change) => queue.add(change.key)).start();
log(`node agent up for ${[...nodes].join(', ')}`);

const shutdown = () => {
  log('stopping');
  clearInterval(heartbeat);
  clearInterval(statusBeat);
  queue.stop();
  void Promise.all([...workers.values()].map((w) => w.terminate(5).catch(() => undefined)))
    .then(() => pods.stop())
    .then(() => Promise.all([...kubelets.values()].map((k) => k.close())))
    .then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
