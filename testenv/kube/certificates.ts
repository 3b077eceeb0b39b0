// Client certificates signed by the test environment's client CA, and
// kubeconfigs that log in with them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateFiles {
  certPath: string;
  keyPath: string;
}

/** A client certificate signed by the client CA: CN the user, O each group. */
export function clientCertificate(
  dir: string,
  name: string,
  subject: { cn: string; groups: readonly string[] },
  ca: { certPath: string; keyPath: string },
): CertificateFiles {
  mkdirSync(dir, { recursive: true });
  const paths = { certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const subj = `/CN=${subject.cn}${subject.groups.map((g) => `/O=${g}`).join('')}`;
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', paths.keyPath, '-out', csr, '-subj', subj,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  // prettier-ignore
  execFileSync('openssl', [
    'x509', '-req', '-in', csr, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial',
    '-out', paths.certPath, '-days', '3650',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return paths;
}

/** A kubeconfig that logs in with a client certificate. */
export function certificateKubeconfig(server: string, caPath: string, user: string, cert: CertificateFiles): string {
  const b64 = (path: string) => readFileSync(path).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${user}`,
    'clusters:',
    '- name: safehold-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPath)}`,
    'contexts:',
    `- name: ${user}`,
    '  context:',
    '    cluster: safehold-test',
    `    user: ${user}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(cert.certPath)}`,
    `    client-key-data: ${b64(cert.keyPath)}`,
    '',
  ].join('\n');
}
