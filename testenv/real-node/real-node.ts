// The real node, beside the node agent's: containerd with runc, a kubelet
// and kube-proxy built like the control plane, Pods on the environment's own
// bridge, volumes through our CSI node plugin (testenv/csi-node). Its sandbox
// image and Safehold's image (when the setup built it) are imported from
// buildah's storage. Stopping it stops the kubelet first,
// then every container it left, then containerd, and unmounts what the
// kubelet mounted before its folder goes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../command.ts';
import { logFile, startDaemon, stopDaemon, waitFor } from '../daemons.ts';
import { certificateKubeconfig, clientCertificate } from '../kube/certificates.ts';
import type { ControlPlane } from '../kube/control-plane.ts';
import { cacheDir, repoRoot, versions } from '../paths.ts';
import { containerdPaths, criNamespace, importImage, pauseImage, writeContainerdFiles } from './containerd.ts';
import { realNodeName, writeKubeletConfig } from './kubelet.ts';
import { bridge, cniConfigList, ensureBridge, removeBridge, serviceAddress } from './network.ts';

export interface RealNode {
  name: string;
  /** Safehold's image in the node's runtime, when the setup built it. */
  image?: string | undefined;
  /** The PostgreSQL test image (testenv/images/postgres) in the node's runtime, when the setup built it. */
  postgresImage?: string | undefined;
  /** The MariaDB test image (testenv/images/mariadb) likewise. */
  mariadbImage?: string | undefined;
  /** Where Pods on the node reach radosgw. */
  s3Endpoint: string;
}

const csiProtos = join(cacheDir, `csi-protos-${versions.csiSpec}-${versions.kubernetes}`);

export const nodeTools = {
  kubelet: join(cacheDir, `kube-node-${versions.kubernetes}`, 'kubelet'),
  kubeProxy: join(cacheDir, `kube-node-${versions.kubernetes}`, 'kube-proxy'),
};

const buildScript = join(repoRoot, 'testenv/scripts/build-image.sh');

/** The image build-image.sh names with this flag, when it is built. */
async function builtImage(flag: '--print-name' | '--print-postgres' | '--print-mariadb'): Promise<string | undefined> {
  const named = (await run(buildScript, [flag])).stdout.trim();
  return run(buildScript, ['buildah', 'inspect', '--type', 'image', named]).then(
    () => named,
    () => undefined,
  );
}

/** Why the real node cannot run here, or undefined. */
export function realNodeMissing(): string | undefined {
  for (const path of [
    nodeTools.kubelet,
    nodeTools.kubeProxy,
    '/usr/bin/containerd',
    '/usr/sbin/runc',
    '/usr/lib/cni/bridge',
  ])
    if (!existsSync(path)) return `${path} is missing (scripts/setup.sh installs and builds it)`;
  return undefined;
}

export async function startRealNode(
  dir: string,
  plane: ControlPlane,
  ports: { apiserver: number; s3: number },
  steps: {
    say: (line: string) => void;
    ready: (node: string) => Promise<boolean>;
    /** The drivers the node's CSINode lists. */
    csiDrivers: () => Promise<string[]>;
  },
): Promise<RealNode> {
  const { say } = steps;
  const nodeDir = join(dir, 'real-node');
  mkdirSync(nodeDir, { recursive: true });
  await ensureBridge();
  startDaemon(nodeDir, {
    name: 'forwarder',
    command: process.execPath,
    args: [
      join(repoRoot, 'testenv/real-node/forwarder.ts'),
      `--address=${bridge.address}`,
      `--port=${ports.apiserver}`,
      `--port=${ports.s3}`,
    ],
  });

  const containerd = containerdPaths(nodeDir);
  writeContainerdFiles(containerd, cniConfigList());
  startDaemon(nodeDir, { name: 'containerd', command: '/usr/bin/containerd', args: ['--config', containerd.config] });
  await waitFor(
    'containerd',
    () =>
      run('ctr', ['--address', containerd.socket, 'version']).then(
        () => true,
        () => false,
      ),
    { log: logFile(nodeDir, 'containerd') },
  );
  await run(buildScript, ['pause']); // the sandbox image, made when missing
  await importImage(containerd, pauseImage);
  // Safehold's image when the setup built it for these sources (the tests' setup does; the demo's does not),
  // and the PostgreSQL test image likewise.
  const image = await builtImage('--print-name');
  if (image !== undefined) await importImage(containerd, image);
  const postgresImage = await builtImage('--print-postgres');
  if (postgresImage !== undefined) await importImage(containerd, postgresImage);
  const mariadbImage = await builtImage('--print-mariadb');
  if (mariadbImage !== undefined) await importImage(containerd, mariadbImage);
  say(
    `containerd runs, with ${[pauseImage, image ?? "(Safehold's image is not built)", postgresImage, mariadbImage].filter((i) => i !== undefined).join(', ')}`,
  );

  // The CSI node plugin first: the kubelet's plugin watcher finds its registration sockets as it starts.
  const kubeletRoot = join(nodeDir, 'kubelet');
  startDaemon(nodeDir, {
    name: 'csi-node',
    command: process.execPath,
    args: [
      join(repoRoot, 'testenv/csi-node/main.ts'),
      `--env-dir=${dir}`,
      `--node=${realNodeName}`,
      `--plugin-dir=${join(kubeletRoot, 'plugins', 'safehold-test')}`,
      `--registry-dir=${join(kubeletRoot, 'plugins_registry')}`,
      `--protos=${csiProtos}`,
    ],
  });

  const pki = join(nodeDir, 'pki');
  const subject = { cn: `system:node:${realNodeName}`, groups: ['system:nodes'] };
  const nodeCert = clientCertificate(pki, 'kubelet-client', subject, plane.clientCa);
  const kubeconfig = join(nodeDir, 'kubelet.kubeconfig');
  writeFileSync(kubeconfig, certificateKubeconfig(plane.server, plane.caPath, subject.cn, nodeCert));
  const config = writeKubeletConfig({
    nodeDir,
    clientCaPath: plane.clientCa.certPath,
    serving: plane.kubeletServing,
    containerdSocket: containerd.socket,
  });
  startDaemon(nodeDir, {
    name: 'kubelet',
    command: nodeTools.kubelet,
    args: [
      `--config=${config}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${kubeletRoot}`,
      `--hostname-override=${realNodeName}`,
      `--node-ip=${bridge.address}`,
      '--v=1',
    ],
  });
  startDaemon(nodeDir, {
    name: 'kube-proxy',
    command: nodeTools.kubeProxy,
    args: [
      `--kubeconfig=${plane.kubeconfigPath}`,
      `--hostname-override=${realNodeName}`,
      '--proxy-mode=iptables',
      `--cluster-cidr=${bridge.subnet}`,
      '--bind-address=127.0.0.1',
      '--healthz-bind-address=127.0.0.1:30256',
      '--metrics-bind-address=127.0.0.1:30249',
      `--nodeport-addresses=${bridge.address}/32`,
      '--conntrack-max-per-core=0',
      '--v=1',
    ],
  });
  await waitFor('the real node Ready', () => steps.ready(realNodeName), {
    timeoutMs: 120_000,
    log: logFile(nodeDir, 'kubelet'),
  });
  await waitFor('the CSI drivers registered with the kubelet', () => driversRegistered(steps.csiDrivers), {
    log: logFile(nodeDir, 'csi-node'),
  });
  await waitFor('kube-proxy to route the kubernetes Service', () => serviceRouted(serviceAddress), {
    log: logFile(nodeDir, 'kube-proxy'),
  });
  say(`node ${realNodeName} (kubelet, containerd, runc, kube-proxy) is Ready`);
  return { name: realNodeName, image, postgresImage, mariadbImage, s3Endpoint: `http://${bridge.address}:${ports.s3}` };
}

async function driversRegistered(listed: () => Promise<string[]>): Promise<boolean> {
  const drivers = await listed();
  return ['dir.csi.safehold.test', 'rbd.csi.ceph.com', 'cephfs.csi.ceph.com'].every((d) => drivers.includes(d));
}

async function serviceRouted(address: string): Promise<boolean> {
  const rules = await run('iptables', ['-t', 'nat', '-S', 'KUBE-SERVICES']).catch(() => ({ stdout: '' }));
  return rules.stdout.includes(`${address}/32`);
}

export async function stopRealNode(dir: string): Promise<void> {
  const nodeDir = join(dir, 'real-node');
  if (!existsSync(nodeDir)) return;
  await stopDaemon(nodeDir, 'kubelet');
  await stopDaemon(nodeDir, 'kube-proxy');
  await stopDaemon(nodeDir, 'csi-node');
  await run(nodeTools.kubeProxy, ['--cleanup']).catch(() => undefined);
  const socket = containerdPaths(nodeDir).socket;
  if (existsSync(socket)) {
    const ctr = (...args: string[]) => run('ctr', ['--address', socket, '-n', criNamespace, ...args]);
    const tasks = await ctr('tasks', 'ls', '-q').catch(() => ({ stdout: '' }));
    for (const id of tasks.stdout.split('\n').filter(Boolean)) {
      await ctr('tasks', 'kill', '-s', 'SIGKILL', id).catch(() => undefined);
      await ctr('tasks', 'delete', '-f', id).catch(() => undefined);
    }
    const containers = await ctr('containers', 'ls', '-q').catch(() => ({ stdout: '' }));
    for (const id of containers.stdout.split('\n').filter(Boolean))
      await ctr('containers', 'delete', id).catch(() => undefined);
  }
  await stopDaemon(nodeDir, 'containerd');
  await stopDaemon(nodeDir, 'forwarder');
  await unmountUnder(nodeDir);
  await removeKubeChains();
  await removeBridge();
}

/** The words of a rule as iptables -S prints it: quoted ones (comments) whole, without their quotes. */
export function ruleWords(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
}

/** The firewall chains the kubelet and kube-proxy leave (KUBE-FIREWALL, canaries), and the jumps to them. */
async function removeKubeChains(): Promise<void> {
  for (const command of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat', 'mangle']) {
      const rules = await run(command, ['-t', table, '-S']).catch(() => ({ stdout: '' }));
      const lines = rules.stdout.split('\n');
      for (const line of lines.filter((l) => l.startsWith('-A ') && / -j KUBE-/.test(l) && !/^-A KUBE-/.test(l)))
        await run(command, ['-t', table, '-D', ...ruleWords(line.slice(3))]).catch(() => undefined);
      const chains = lines.filter((l) => l.startsWith('-N KUBE-')).map((l) => l.slice(3));
      for (const chain of chains) await run(command, ['-t', table, '-F', chain]).catch(() => undefined);
      for (const chain of chains) await run(command, ['-t', table, '-X', chain]).catch(() => undefined);
    }
  }
}

/** Unmounts everything mounted below a folder, deepest first, so removing it touches no volume's data. */
export async function unmountUnder(folder: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((point): point is string => point !== undefined && point.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run('umount', ['-l', point]).catch(() => undefined);
}
