// A small kubeadm-style control plane of a journey's own, beside the test
// environment's (whose etcd speaks plain HTTP): an etcd that asks every
// client for a certificate, its CA and client certificates in a folder named
// as kubeadm names them (ca.crt, healthcheck-client.crt/.key,
// apiserver-etcd-client.crt/.key), and a kube-apiserver on it. Also an etcd
// and a kube-apiserver on a restored data directory. Daemons by process id,
// in the journey's folder; stop() ends what was started.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kinds, type KubeClient } from '../../src/kube/index.ts';
import { connectTestClient } from '../../testenv/client.ts';
import { logFile, startDaemon, stopDaemon, waitFor } from '../../testenv/daemons.ts';
import { kubeconfig } from '../../testenv/kube/control-plane.ts';
import { tools } from '../../testenv/paths.ts';
import { freePort } from './safehold.ts';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA (ca.crt, ca.key) in dir; another call with another dir gives an unrelated one. */
export function certificateAuthority(dir: string, cn = 'etcd-ca'): void {
  mkdirSync(dir, { recursive: true });
  // prettier-ignore
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '3650', '-subj', `/CN=${cn}`]);
}

/** <name>.crt and <name>.key in dir, signed by the CA in caDir. */
export function signedCertificate(dir: string, name: string, cn: string, usage: string, caDir = dir): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\n`);
  // prettier-ignore
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`]);
  // prettier-ignore
  openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(caDir, 'ca.crt'), '-CAkey', join(caDir, 'ca.key'),
    '-CAcreateserial', '-out', join(dir, `${name}.crt`), '-days', '3650', '-extfile', ext]);
}

/** etcd's certificates as kubeadm lays them out in /etc/kubernetes/pki/etcd. */
export function kubeadmEtcdPki(dir: string): void {
  certificateAuthority(dir);
  signedCertificate(dir, 'server', 'etcd', 'serverAuth,clientAuth');
  signedCertificate(dir, 'healthcheck-client', 'kube-etcd-healthcheck-client', 'clientAuth');
  signedCertificate(dir, 'apiserver-etcd-client', 'kube-apiserver-etcd-client', 'clientAuth');
}

export interface EtcdDaemon {
  url: string;
}

/** etcd on a free port; with pki, TLS and a client certificate required of every client. */
export async function startEtcd(dir: string, name: string, dataDir: string, pki?: string): Promise<EtcdDaemon> {
  const [client, peer] = [await freePort(), await freePort()];
  const scheme = pki === undefined ? 'http' : 'https';
  const url = `${scheme}://127.0.0.1:${client}`;
  startDaemon(dir, {
    name,
    command: tools.etcd,
    args: [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=${name}=http://127.0.0.1:${peer}`,
      ...(pki === undefined
        ? []
        : [
            '--client-cert-auth',
            `--trusted-ca-file=${join(pki, 'ca.crt')}`,
            `--cert-file=${join(pki, 'server.crt')}`,
            `--key-file=${join(pki, 'server.key')}`,
          ]),
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  });
  const tls = pki === undefined ? [] : etcdctlTls(pki, 'healthcheck-client');
  await waitFor(
    `etcd ${name}`,
    () => {
      try {
        execFileSync(tools.etcdctl, ['--endpoints', url, ...tls, '--command-timeout=3s', 'endpoint', 'health'], {
          stdio: 'ignore',
        });
        return true;
      } catch {
        return false;
      }
    },
    { log: logFile(dir, name) },
  );
  return { url };
}

export function etcdctlTls(pki: string, client: string): string[] {
  return ['--cacert', join(pki, 'ca.crt'), '--cert', join(pki, `${client}.crt`), '--key', join(pki, `${client}.key`)];
}

/** A kube-apiserver on that etcd (with pki: as kubeadm's, through its apiserver-etcd-client certificate). */
export async function startApiserver(dir: string, name: string, etcd: EtcdDaemon, pki?: string): Promise<KubeClient> {
  const home = join(dir, name);
  mkdirSync(join(home, 'certs'), { recursive: true });
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(home, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
  if (!existsSync(join(home, 'sa.key'))) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(home, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(home, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  }
  const port = await freePort();
  startDaemon(dir, {
    name,
    command: tools.kubeApiserver,
    args: [
      `--etcd-servers=${etcd.url}`,
      ...(pki === undefined
        ? []
        : [
            `--etcd-cafile=${join(pki, 'ca.crt')}`,
            `--etcd-certfile=${join(pki, 'apiserver-etcd-client.crt')}`,
            `--etcd-keyfile=${join(pki, 'apiserver-etcd-client.key')}`,
          ]),
      `--cert-dir=${join(home, 'certs')}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(home, 'tokens.csv')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(home, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(home, 'sa.key')}`,
      '--service-cluster-ip-range=10.231.0.0/24',
      '--profiling=false',
      '--v=0',
    ],
  });
  const caPath = join(home, 'certs', 'apiserver.crt');
  await waitFor(`kube-apiserver ${name} certificate`, () => existsSync(caPath), { log: logFile(dir, name) });
  const config = join(home, 'kubeconfig');
  writeFileSync(
    config,
    kubeconfig(`https://127.0.0.1:${port}`, readFileSync(caPath, 'utf8'), [{ name: 'admin', token, groups: [] }]),
  );
  const client = connectTestClient(config, 'admin');
  await waitFor(
    `kube-apiserver ${name} serving ConfigMaps`,
    () =>
      client.list(kinds.configMap, { namespace: 'default' }).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 90_000, log: logFile(dir, name) },
  );
  return client;
}

export async function stopDaemons(dir: string, names: readonly string[]): Promise<void> {
  for (const name of [...names].reverse()) await stopDaemon(dir, name);
}
