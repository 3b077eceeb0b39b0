// The real Kubernetes control plane for tests: etcd, kube-apiserver (RBAC on,
// token users, client certificates from a test CA), kube-controller-manager
// and kube-scheduler, as daemons in <dir>/kube. No kubelet runs:
// testenv/node-agent plays it behind the API, and serves `pods/log` with a
// certificate made here that kube-apiserver trusts.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, startDaemon, stopDaemon, waitFor } from '../daemons.ts';
import { tools } from '../paths.ts';
import { bridge, serviceAddress } from '../real-node/network.ts';
import { clientCertificate } from './certificates.ts';

export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export const defaultPorts: ControlPlanePorts = {
  etcdClient: 32379,
  etcdPeer: 32380,
  apiserver: 36443,
  controllerManager: 30257,
  scheduler: 30259,
};

export interface TokenUser {
  name: string;
  token: string;
  groups: string[];
}

export interface ControlPlane {
  server: string;
  caPath: string;
  kubeconfigPath: string;
  users: Record<'admin' | 'alice' | 'bob', TokenUser>;
  /** The node agent's serving certificate and key (PEM files) for its kubelet endpoints. */
  kubeletServing: { certPath: string; keyPath: string };
  /** The CA kube-apiserver trusts for client certificates (CN is the user, O the groups); tests sign with its key. */
  clientCa: { certPath: string; keyPath: string };
}

const daemonNames = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

export async function startControlPlane(
  dir: string,
  ports = defaultPorts,
  log: (line: string) => void = () => undefined,
): Promise<ControlPlane> {
  const kdir = join(dir, 'kube');
  mkdirSync(join(kdir, 'apiserver-certs'), { recursive: true });
  ensureApiserverCert(kdir);
  const users = ensureTokens(kdir);
  ensureServiceAccountKeys(kdir);
  const server = `https://127.0.0.1:${ports.apiserver}`;

  startDaemon(kdir, {
    name: 'etcd',
    command: tools.etcd,
    args: [
      '--name=safehold-test',
      `--data-dir=${join(kdir, 'etcd-data')}`,
      `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-cluster=safehold-test=http://127.0.0.1:${ports.etcdPeer}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  });
  await waitFor('etcd', () => httpOk(`http://127.0.0.1:${ports.etcdClient}/health`), { log: logFile(kdir, 'etcd') });
  log('etcd is up');

  startDaemon(kdir, { name: 'kube-apiserver', command: tools.kubeApiserver, args: apiserverArgs(kdir, ports) });
  const caPath = join(kdir, 'apiserver-certs', 'apiserver.crt');
  await waitFor('kube-apiserver certificate', () => existsSync(caPath), { log: logFile(kdir, 'kube-apiserver') });
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig(server, readFileSync(caPath, 'utf8'), Object.values(users)));
  await waitFor('kube-apiserver /readyz', () => httpsOk(`${server}/readyz`, users.admin.token, caPath), {
    timeoutMs: 90_000,
    log: logFile(kdir, 'kube-apiserver'),
  });
  log('kube-apiserver is ready');

  startDaemon(kdir, {
    name: 'kube-controller-manager',
    command: tools.kubeControllerManager,
    args: [
      `--kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(kdir, 'kcm-certs')}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${join(kdir, 'sa.key')}`,
      `--root-ca-file=${caPath}`,
      '--controllers=*',
      '--concurrent-gc-syncs=5',
      // The default 20 requests/s binds about three PVCs a second; benchmarks bind thousands.
      '--kube-api-qps=500',
      '--kube-api-burst=1000',
      '--v=1',
    ],
  });
  startDaemon(kdir, {
    name: 'kube-scheduler',
    command: tools.kubeScheduler,
    args: [
      `--kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${join(kdir, 'scheduler-certs')}`,
      '--leader-elect=false',
      '--v=1',
    ],
  });
  await waitFor(
    'kube-controller-manager /healthz',
    () => httpsOk(`https://127.0.0.1:${ports.controllerManager}/healthz`),
    {
      log: logFile(kdir, 'kube-controller-manager'),
    },
  );
  await waitFor('kube-scheduler /healthz', () => httpsOk(`https://127.0.0.1:${ports.scheduler}/healthz`), {
    log: logFile(kdir, 'kube-scheduler'),
  });
  log('kube-controller-manager and kube-scheduler are healthy');
  return {
    server,
    caPath,
    kubeconfigPath,
    users,
    kubeletServing: ensureKubeletServingCert(kdir),
    clientCa: ensureClientCa(kdir),
  };
}

export async function stopControlPlane(dir: string): Promise<void> {
  const kdir = join(dir, 'kube');
  for (const name of [...daemonNames].reverse()) await stopDaemon(kdir, name);
}

/** Stops kube-apiserver and starts it again, as an upgrade or a crash would; resolves once it is ready. */
export async function restartApiserver(dir: string, ports = defaultPorts): Promise<void> {
  const kdir = join(dir, 'kube');
  await stopDaemon(kdir, 'kube-apiserver');
  startDaemon(kdir, { name: 'kube-apiserver', command: tools.kubeApiserver, args: apiserverArgs(kdir, ports) });
  const users = JSON.parse(readFileSync(join(kdir, 'users.json'), 'utf8')) as ControlPlane['users'];
  const caPath = join(kdir, 'apiserver-certs', 'apiserver.crt');
  await waitFor(
    'kube-apiserver /readyz after restart',
    () => httpsOk(`https://127.0.0.1:${ports.apiserver}/readyz`, users.admin.token, caPath),
    {
      timeoutMs: 90_000,
      log: logFile(kdir, 'kube-apiserver'),
    },
  );
}

function apiserverArgs(kdir: string, ports: ControlPlanePorts): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    `--cert-dir=${join(kdir, 'apiserver-certs')}`,
    `--secure-port=${ports.apiserver}`,
    '--bind-address=127.0.0.1',
    // The `kubernetes` Service's endpoint: the real node's Pods reach it there (testenv/real-node/network.ts).
    `--advertise-address=${bridge.address}`,
    // Node: the real node's kubelet (system:node:real-1) gets what a kubelet may; RBAC for everyone else.
    '--authorization-mode=Node,RBAC',
    `--token-auth-file=${join(kdir, 'tokens.csv')}`,
    `--client-ca-file=${ensureClientCa(kdir).certPath}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(kdir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(kdir, 'sa.key')}`,
    `--service-cluster-ip-range=${bridge.serviceRange}`,
    '--allow-privileged=true',
    // Nodes list InternalIP 127.0.0.1 and Hostname node-N; only the address resolves.
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-certificate-authority=${ensureKubeletServingCert(kdir).certPath}`,
    // How it logs in to the real node's kubelet (logs, exec); the node agent asks for no certificate.
    `--kubelet-client-certificate=${ensureApiserverKubeletClient(kdir).certPath}`,
    `--kubelet-client-key=${ensureApiserverKubeletClient(kdir).keyPath}`,
    '--profiling=false',
    `--audit-log-path=${join(kdir, 'audit.log')}`,
    `--audit-policy-file=${ensureAuditPolicy(kdir)}`,
    '--audit-log-maxsize=200',
    '--v=1',
  ];
}

// Request metadata only: enough to count what clients send (benchmarks).
function ensureAuditPolicy(kdir: string): string {
  const path = join(kdir, 'audit-policy.yaml');
  if (!existsSync(path)) {
    writeFileSync(
      path,
      [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'omitStages: [RequestReceived]',
        'rules:',
        '- level: Metadata',
        '',
      ].join('\n'),
    );
  }
  return path;
}

// Self-signed, in the folder where kube-apiserver would make its own: for loopback, the
// `kubernetes` Service's address and the bridge's, where the real node's Pods reach it.
function ensureApiserverCert(kdir: string): void {
  const certPath = join(kdir, 'apiserver-certs', 'apiserver.crt');
  const keyPath = join(kdir, 'apiserver-certs', 'apiserver.key');
  if (existsSync(certPath) && existsSync(keyPath)) return;
  const names = ['DNS:kubernetes.default.svc', 'DNS:kubernetes.default', 'DNS:kubernetes', 'DNS:localhost'];
  const addresses = ['IP:127.0.0.1', `IP:${serviceAddress}`, `IP:${bridge.address}`];
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '3650', '-subj', '/CN=safehold-test-apiserver',
    '-addext', `subjectAltName=${[...names, ...addresses].join(',')}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ensureApiserverKubeletClient(kdir: string): { certPath: string; keyPath: string } {
  const dir = join(kdir, 'apiserver-kubelet-client');
  const paths = { certPath: join(dir, 'client.crt'), keyPath: join(dir, 'client.key') };
  if (existsSync(paths.certPath) && existsSync(paths.keyPath)) return paths;
  const subject = { cn: 'kube-apiserver-kubelet-client', groups: ['system:masters'] };
  return clientCertificate(dir, 'client', subject, ensureClientCa(kdir));
}

// Self-signed, so it is its own authority; the node agent's nodes serve on 127.0.0.1 with it, the
// real node's kubelet on the bridge's address.
function ensureKubeletServingCert(kdir: string): ControlPlane['kubeletServing'] {
  const dir = join(kdir, 'kubelet-serving');
  const paths = { certPath: join(dir, 'kubelet.crt'), keyPath: join(dir, 'kubelet.key') };
  if (existsSync(paths.certPath) && existsSync(paths.keyPath)) return paths;
  mkdirSync(dir, { recursive: true });
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', paths.keyPath, '-out', paths.certPath, '-days', '3650',
    '-subj', '/CN=safehold-test-kubelet', '-addext', `subjectAltName=IP:127.0.0.1,IP:${bridge.address}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return paths;
}

// Users who log in with a certificate in files, as on kubeadm and minikube clusters.
function ensureClientCa(kdir: string): ControlPlane['clientCa'] {
  const dir = join(kdir, 'client-ca');
  const paths = { certPath: join(dir, 'ca.crt'), keyPath: join(dir, 'ca.key') };
  if (existsSync(paths.certPath) && existsSync(paths.keyPath)) return paths;
  mkdirSync(dir, { recursive: true });
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', paths.keyPath, '-out', paths.certPath, '-days', '3650', '-subj', '/CN=safehold-test-client-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return paths;
}

function ensureTokens(kdir: string): ControlPlane['users'] {
  const path = join(kdir, 'users.json');
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as ControlPlane['users'];
  const token = () => randomBytes(24).toString('hex');
  const users: ControlPlane['users'] = {
    admin: { name: 'admin', token: token(), groups: ['system:masters'] },
    alice: { name: 'alice', token: token(), groups: ['team-a'] },
    bob: { name: 'bob', token: token(), groups: ['team-b'] },
  };
  const csv = Object.values(users).map((u) => `${u.token},${u.name},${u.name},"${u.groups.join(',')}"`);
  writeFileSync(join(kdir, 'tokens.csv'), `${csv.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(path, JSON.stringify(users, null, 2), { mode: 0o600 });
  return users;
}

function ensureServiceAccountKeys(kdir: string): void {
  if (existsSync(join(kdir, 'sa.key'))) return;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(kdir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(kdir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

/** A kubeconfig with one context per user; the admin context is current. */
export function kubeconfig(server: string, caPem: string, users: TokenUser[]): string {
  const ca = Buffer.from(caPem).toString('base64');
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'current-context: admin',
    'clusters:',
    '- name: safehold-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'contexts:',
    ...users.flatMap((u) => [`- name: ${u.name}`, '  context:', '    cluster: safehold-test', `    user: ${u.name}`]),
    'users:',
    ...users.flatMap((u) => [`- name: ${u.name}`, '  user:', `    token: ${u.token}`]),
    '',
  ];
  return lines.join('\n');
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url);
  return response.ok;
}

async function httpsOk(url: string, token?: string, caPath?: string): Promise<boolean> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        ...(caPath === undefined ? { rejectUnauthorized: false } : { ca: readFileSync(caPath) }),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.end();
  });
}
