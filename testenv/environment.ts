// The whole test environment, brought up with one call and described by one
// JSON file (<dir>/env.json) that tests and tools read: the control plane,
// the snapshot CRDs, the storage driver and node agent daemons, and Ceph.
// A running environment is reused only if it was started from this testenv code.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ignoreAlreadyExists, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { cephProblem } from './ceph/ceph-health.ts';
import { CEPH_DAEMONS, cephInfo, startCeph, stopCeph, type CephCluster } from './ceph/cluster.ts';
import { ownPid } from './ceph/ceph-status.ts';
import { connectTestClient } from './client.ts';
import { logFile, runningPid, startDaemon, stopDaemon, waitFor } from './daemons.ts';
import { realNodeMissing, startRealNode, stopRealNode, type RealNode } from './real-node/real-node.ts';
import { defaultPorts, startControlPlane, stopControlPlane, type ControlPlane } from './kube/control-plane.ts';
import { repoRoot, tools, versions } from './paths.ts';
import {
  cephStorage,
  installCephStorageObjects,
  mountCephfs,
  unmountCephStorage,
  type CephStorage,
} from './storage/ceph-storage.ts';
import { dirDriver } from './storage/dir-backend.ts';

export interface TestEnvironment {
  dir: string;
  kubeconfig: string;
  server: string;
  users: ControlPlane['users'];
  clientCa: ControlPlane['clientCa'];
  nodes: string[];
  storage: { driver: string; storageClass: string; snapshotClass: string; root: string };
  ceph: CephCluster;
  /** RBD and CephFS volumes through ceph-csi's drivers (rbd.csi.ceph.com, cephfs.csi.ceph.com). */
  cephStorage: CephStorage;
  binDir: string;
  tools: { restic: string; node: string };
  versions: typeof versions;
  /** The node a real kubelet runs, with containerd and runc (tainted: only Pods that tolerate it go there). */
  realNode?: RealNode | undefined;
  /** codeFingerprint() of the code that started it. */
  fingerprint: string;
}

export const nodeNames = ['node-1', 'node-2'];
const agentDaemons = ['node-agent', 'storage-driver'];

export function readEnvironment(dir: string): TestEnvironment | undefined {
  const path = join(dir, 'env.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as TestEnvironment) : undefined;
}

/** Each daemon of the environment in dir, and whether it runs. */
export function daemonStates(dir: string): { name: string; running: boolean }[] {
  const cephDir = join(dir, 'ceph');
  return [
    ...['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((name) => ({
      name,
      running: runningPid(join(dir, 'kube'), name) !== undefined,
    })),
    ...CEPH_DAEMONS.map((name) => ({ name, running: ownPid(cephDir, name) !== undefined })),
    { name: 'ceph-fuse', running: runningPid(join(cephStorage(dir).cephfs.mountDir, '..'), 'ceph-fuse') !== undefined },
    ...agentDaemons.map((name) => ({ name, running: runningPid(dir, name) !== undefined })),
  ];
}

/** True when env.json exists and every daemon it needs still runs, Ceph's included. */
export function isRunning(dir: string): boolean {
  return (
    readEnvironment(dir) !== undefined &&
    cephInfo(join(dir, 'ceph')) !== undefined &&
    daemonStates(dir).every((daemon) => daemon.running)
  );
}

export async function up(dir: string, log: (line: string) => void = console.log): Promise<TestEnvironment> {
  const started = Date.now();
  const say = (line: string) => log(`[testenv +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const fingerprint = codeFingerprint();
  if (isRunning(dir)) {
    const running = readEnvironment(dir) as TestEnvironment;
    const problem = running.fingerprint === fingerprint ? await cephProblem(running.ceph) : undefined;
    if (running.fingerprint !== fingerprint)
      say(`the environment in ${dir} runs other testenv code than this checkout's; restarting it`);
    else if (problem !== undefined) say(`its Ceph is not fit for tests (${problem}); restarting the environment`);
    else {
      say(`reusing the running environment in ${dir}`);
      return running;
    }
  }
  for (const tool of [
    tools.etcd,
    tools.kubeApiserver,
    tools.kubeControllerManager,
    tools.kubeScheduler,
    tools.restic,
    tools.etcdctl,
    tools.etcdutl,
  ]) {
    if (!existsSync(tool))
      throw new Error(`${tool} is missing: run scripts/setup.sh (or npm test) to build the test tools`);
  }
  await down(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const ceph = startCeph({ dir: join(dir, 'ceph'), log: (line) => say(`ceph: ${line}`) });
  ceph.catch(() => undefined); // awaited below; started early because it takes longest
  const plane = await startControlPlane(dir, defaultPorts, say);
  const client = connectTestClient(plane.kubeconfigPath);
  try {
    await installSnapshotCrds(client);
    say('snapshot CRDs established');
    await installStorageObjects(client);
    const storage = cephStorage(dir);
    await installCephStorageObjects(client, storage);
    const binDir = makeBinDir(dir);
    const node = process.execPath;
    startDaemon(dir, {
      name: 'storage-driver',
      command: node,
      args: [join(repoRoot, 'testenv/storage/main.ts'), `--kubeconfig=${plane.kubeconfigPath}`, `--env-dir=${dir}`],
    });
    startDaemon(dir, {
      name: 'node-agent',
      command: node,
      args: [
        join(repoRoot, 'testenv/node-agent/main.ts'),
        `--kubeconfig=${plane.kubeconfigPath}`,
        `--env-dir=${dir}`,
        `--bin-dir=${binDir}`,
        `--apiserver-port=${defaultPorts.apiserver}`,
        `--tls-cert-file=${plane.kubeletServing.certPath}`,
        `--tls-private-key-file=${plane.kubeletServing.keyPath}`,
        ...nodeNames.map((n) => `--node=${n}`),
      ],
    });
    await waitFor(
      'test nodes Ready',
      async () => (await Promise.all(nodeNames.map((n) => nodeReady(client, n)))).every(Boolean),
      { log: logFile(dir, 'node-agent') },
    );
    say(`nodes ${nodeNames.join(', ')} are Ready`);
    const cluster = await ceph;
    const missing = realNodeMissing();
    const realNode =
      missing === undefined
        ? await startRealNode(
            dir,
            plane,
            { apiserver: defaultPorts.apiserver, s3: Number(new URL(cluster.s3.endpoint).port) },
            { say, ready: (name) => nodeReady(client, name), csiDrivers: () => csiNodeDrivers(client) },
          )
        : undefined;
    if (missing !== undefined) say(`no real node: ${missing}`);
    await mountCephfs(storage, cluster.confPath);
    say(`CephFS ${storage.cephfs.fsName} mounted at ${storage.cephfs.mountDir}`);
    const env: TestEnvironment = {
      dir,
      kubeconfig: plane.kubeconfigPath,
      server: plane.server,
      users: plane.users,
      clientCa: plane.clientCa,
      nodes: nodeNames,
      storage: {
        driver: dirDriver,
        storageClass: 'safehold-test-dir',
        snapshotClass: 'safehold-test-dir',
        root: join(dir, 'storage', 'dir'),
      },
      ceph: cluster,
      cephStorage: storage,
      ...(realNode === undefined ? {} : { realNode }),
      binDir,
      tools: { restic: tools.restic, node },
      versions,
      fingerprint,
    };
    writeFileSync(join(dir, 'env.json'), JSON.stringify(env, null, 2));
    say(`ready; KUBECONFIG=${plane.kubeconfigPath}`);
    return env;
  } finally {
    client.close();
  }
}

export async function down(dir: string): Promise<void> {
  await stopRealNode(dir);
  for (const name of agentDaemons) await stopDaemon(dir, name, 20_000);
  // Before Ceph stops: a FUSE mount of a cluster that is gone hangs whoever touches it.
  await unmountCephStorage(dir);
  await stopCeph(join(dir, 'ceph')).catch(() => undefined);
  await stopControlPlane(dir);
  rmSync(join(dir, 'env.json'), { force: true });
}

/**
 * A digest of testenv/ (its tests aside): the daemons, control plane flags and
 * versions an environment runs. Code they import from src/ is left out, so
 * operator changes do not restart the environment.
 */
export function codeFingerprint(): string {
  const root = join(repoRoot, 'testenv');
  const hash = createHash('sha256');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((path) => !/\.(test|smoke)\.ts$/.test(path) && statSync(join(root, path)).isFile())
    .sort();
  for (const path of files)
    hash
      .update(`${path}\0`)
      .update(readFileSync(join(root, path)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

const csiNodeKind = { group: 'storage.k8s.io', version: 'v1', kind: 'CSINode', plural: 'csinodes', namespaced: false };

async function csiNodeDrivers(client: KubeClient): Promise<string[]> {
  const node = await client
    .get<KubeObject & { spec?: { drivers?: { name: string }[] } }>(csiNodeKind, { name: 'real-1' })
    .catch(() => undefined);
  return (node?.spec?.drivers ?? []).map((d) => d.name);
}

async function nodeReady(client: KubeClient, name: string): Promise<boolean> {
  const list = await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
    kinds.node,
  );
  const node = list.items.find((n) => n.metadata?.name === name);
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export async function installSnapshotCrds(client: KubeClient): Promise<void> {
  const names: string[] = [];
  const files = ['volumesnapshotclasses', 'volumesnapshotcontents', 'volumesnapshots'].flatMap((kind) => [
    `snapshot.storage.k8s.io_${kind}.yaml`,
    `groupsnapshot.storage.k8s.io_volumegroup${kind.slice('volume'.length)}.yaml`,
  ]);
  for (const file of files) {
    const text = readFileSync(join(tools.snapshotCrds, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJS() as KubeObject | null;
      if (crd === null) continue;
      await createIfAbsent(client, kinds.customResourceDefinition, crd);
      names.push(crd.metadata?.name ?? '');
    }
  }
  for (const name of names) {
    await waitFor(`CRD ${name} established`, async () => {
      const crd = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        kinds.customResourceDefinition,
        { name },
      );
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
    });
  }
}

export async function installStorageObjects(client: KubeClient): Promise<void> {
  await createIfAbsent(client, kinds.csiDriver, {
    metadata: { name: dirDriver },
    spec: { attachRequired: false, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] },
  } as KubeObject);
  await createIfAbsent(client, kinds.storageClass, {
    metadata: { name: 'safehold-test-dir', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: dirDriver,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  } as KubeObject);
  await createIfAbsent(client, kinds.volumeSnapshotClass, {
    metadata: { name: 'safehold-test-dir', annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } },
    driver: dirDriver,
    deletionPolicy: 'Delete',
  } as KubeObject);
}

async function createIfAbsent(
  client: KubeClient,
  kind: (typeof kinds)[keyof typeof kinds],
  object: KubeObject,
): Promise<void> {
  await ignoreAlreadyExists(() => client.create(kind, object));
}

/** What the `safehold` image holds: the CLI of this checkout, restic, Node, and the rbd and qemu-img its movers run. */
function makeBinDir(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const cli = join(bin, 'safehold');
  writeFileSync(cli, `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, 'src/bin/safehold.ts')}" "$@"\n`);
  chmodSync(cli, 0o755);
  for (const [name, target] of [
    ['restic', tools.restic],
    ['node', process.execPath],
    ['rbd', onPath('rbd')],
    ['qemu-img', onPath('qemu-img')],
    ['etcdctl', tools.etcdctl],
    ['etcdutl', tools.etcdutl],
  ] as const) {
    if (!existsSync(join(bin, name))) symlinkSync(target, join(bin, name));
  }
  return bin;
}

function onPath(command: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/bin', '/usr/bin', '/usr/sbin'];
  const found = dirs
    .filter((d) => d !== '')
    .map((d) => join(d, command))
    .find((path) => existsSync(path));
  if (found === undefined) throw new Error(`${command} is not installed: run scripts/setup.sh`);
  return found;
}
