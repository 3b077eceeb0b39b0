import { describe, expect, it } from 'vitest';
import { mergeKubeconfigs, parseKubeconfig, resolveLogin, type Kubeconfig } from './kubeconfig.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function parsed(path: string, text: string): Kubeconfig {
  const result = parseKubeconfig(path, text);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

const first = `
current-context: dev
clusters:
- name: dev
  cluster: { server: https://dev:6443, certificate-authority: ca.crt }
users:
- name: alice
  user: { client-certificate: certs/alice.crt, client-key: /abs/alice.key }
contexts:
- name: dev
  context: { cluster: dev, user: alice, namespace: team-a }
`;

const second = `
current-context: prod
clusters:
- name: dev
  cluster: { server: https://other:6443 }
- name: prod
  cluster: { server: https://prod:6443, insecure-skip-tls-verify: true }
users:
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token]
      env: [{ name: AWS_PROFILE, value: prod }]
contexts:
- name: prod
  context: { cluster: prod, user: eks }
`;

describe('parseKubeconfig', () => {
  it('makes relative paths absolute against the file folder, keeps absolute ones', () => {
    const config = parsed('/home/me/.kube/config', first);
    expect(config.clusters.get('dev')?.ca).toEqual({ file: '/home/me/.kube/ca.crt' });
    expect(config.users.get('alice')).toMatchObject({
      clientCertificate: { file: '/home/me/.kube/certs/alice.crt' },
      clientKey: { file: '/abs/alice.key' },
    });
  });

  it('prefers inline data over a file and decodes it', () => {
    const config = parsed(
      '/k/config',
      `users: [{ name: u, user: { client-certificate-data: ${b64('CERT')}, client-certificate: x.crt } }]`,
    );
    expect(config.users.get('u')?.clientCertificate).toEqual({ data: 'CERT' });
  });

  it('resolves an exec command with a slash against the folder, a bare name not', () => {
    const text = (command: string) =>
      `users: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never, command: ${command} } } }]`;
    expect(parsed('/k/config', text('./bin/login')).users.get('u')?.exec?.command).toBe('/k/bin/login');
    expect(parsed('/k/config', text('aws')).users.get('u')?.exec?.command).toBe('aws');
  });

  it('reads exec defaults as kubectl does (v1beta1: IfAvailable)', () => {
    expect(parsed('/k/b', second).users.get('eks')?.exec).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: 'aws',
      args: ['eks', 'get-token'],
      env: [{ name: 'AWS_PROFILE', value: 'prod' }],
      provideClusterInfo: false,
      interactiveMode: 'IfAvailable',
    });
  });

  it('refuses a name listed twice in one file, and what is not YAML', () => {
    expect(parseKubeconfig('/k/c', 'clusters: [{name: a, cluster: {}}, {name: a, cluster: {}}]')).toEqual({
      ok: false,
      error: 'kubeconfig /k/c: two clusters named "a"',
    });
    expect(parseKubeconfig('/k/c', 'clusters: [').ok).toBe(false);
  });

  it('takes an empty file as an empty kubeconfig', () => {
    expect(parsed('/k/empty', '')).toEqual({ clusters: new Map(), users: new Map(), contexts: new Map() });
  });
});

describe('mergeKubeconfigs', () => {
  it('lets the first file to set a name or current-context win', () => {
    const merged = mergeKubeconfigs([parsed('/a/config', first), parsed('/b/config', second)]);
    expect(merged.currentContext).toBe('dev');
    expect(merged.clusters.get('dev')?.server).toBe('https://dev:6443');
    expect([...merged.clusters.keys()]).toEqual(['dev', 'prod']);
    expect([...merged.users.keys()]).toEqual(['alice', 'eks']);
  });

  it('takes current-context from a later file when earlier ones do not set it', () => {
    const withoutContext = parsed('/a/config', 'clusters: [{ name: c, cluster: { server: https://c } }]');
    const onlyContext = parsed(
      '/b/config',
      'current-context: x\ncontexts: [{ name: x, context: { cluster: c, user: u } }]',
    );
    const merged = mergeKubeconfigs([withoutContext, onlyContext]);
    const login = resolveLogin(merged);
    expect(login.ok && login.value.cluster.server).toBe('https://c');
  });
});

describe('resolveLogin', () => {
  const merged = mergeKubeconfigs([parsed('/a/config', first), parsed('/b/config', second)]);

  it('resolves the current context, or the one given', () => {
    const dev = resolveLogin(merged);
    expect(dev.ok && dev.value).toMatchObject({
      context: 'dev',
      namespace: 'team-a',
      cluster: { name: 'dev', server: 'https://dev:6443' },
      user: { name: 'alice' },
    });
    const prod = resolveLogin(merged, 'prod');
    expect(prod.ok && prod.value.cluster.insecureSkipTlsVerify).toBe(true);
  });

  it('names what is missing', () => {
    expect(resolveLogin(merged, 'nope')).toEqual({ ok: false, error: 'kubeconfig: context "nope" not found' });
    expect(resolveLogin(mergeKubeconfigs([]))).toMatchObject({ ok: false });
  });

  it('refuses what it cannot do, naming the user', () => {
    const config = parsed(
      '/k/c',
      `
clusters: [{ name: c, cluster: { server: https://c } }]
users:
- { name: old, user: { auth-provider: { name: oidc, config: {} } } }
- { name: v1, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: x } } }
- { name: both, user: { token: t, username: u, password: p } }
contexts:
- { name: old, context: { cluster: c, user: old } }
- { name: v1, context: { cluster: c, user: v1 } }
- { name: both, context: { cluster: c, user: both } }
`,
    );
    expect(resolveLogin(config, 'old')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^kubeconfig user "old": auth-provider "oidc" is not supported/) as unknown,
    });
    expect(resolveLogin(config, 'v1')).toEqual({
      ok: false,
      error: 'kubeconfig user "v1": exec plugin x: interactiveMode is required in client.authentication.k8s.io/v1',
    });
    expect(resolveLogin(config, 'both').ok).toBe(false);
  });

  it('refuses a CA together with insecure-skip-tls-verify, as kubectl does', () => {
    const config = parsed(
      '/k/c',
      `
clusters: [{ name: c, cluster: { server: https://c, certificate-authority: ca, insecure-skip-tls-verify: true } }]
contexts: [{ name: x, context: { cluster: c, user: nobody } }]
`,
    );
    expect(resolveLogin(config, 'x').ok).toBe(false);
  });
});
