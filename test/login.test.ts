// Logging in like kubectl, against the real API server, with `safehold status`
// and `safehold backups` run as processes (no operator needed): a user whose
// client certificate and key are files beside the kubeconfig; a user whose
// token comes from an exec plugin, run once per process and again after a 401
// or once its credential expired; a KUBECONFIG of two files (cluster and user
// in one, the context in the other); a cluster reached through an http proxy;
// and failures (a plugin that fails, a certificate file that is missing) that
// name the user and the plugin or file and exit non-zero.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantClusterRoles } from '../src/api/index.ts';
import { kinds, KubeClient, kubeconfigConnection, nodeLoginIo, type KubeObject } from '../src/kube/index.ts';
import { clientAs, createClaim, createNamespace, deleteNamespace, testEnv } from './support/cluster.ts';
import { installCrds } from './support/safehold.ts';

const cliPath = join(import.meta.dirname, '../src/bin/safehold.ts');
const v1 = 'client.authentication.k8s.io/v1';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The CLI as a process with exactly this environment (no inherited KUBECONFIG), from `cwd`. */
function cli(args: string[], env: Record<string, string>, cwd = '/'): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      {
        encoding: 'utf8',
        cwd,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), NO_COLOR: '1', ...env },
      },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
          ms: Math.round(performance.now() - started),
        }),
    );
  });
}

const yaml = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const linesIn = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '').length;

describe('logging in like kubectl', () => {
  const work = mkdtempSync(join(tmpdir(), 'login-test-'));
  const timings: string[] = [];
  let admin: KubeClient;
  let namespace = '';
  const claim = 'login-data';

  /** Runs status and backups in the namespace; both must succeed and show what is there. */
  const statusAndBackups = async (label: string, env: Record<string, string>, extra: string[] = []) => {
    const status = await cli([...extra, 'status', '-n', namespace], env);
    const backups = await cli([...extra, 'backups', '-n', namespace], env);
    timings.push(`${label}: status ${status.ms} ms, backups ${backups.ms} ms`);
    expect(status, status.stderr).toMatchObject({ code: 0 });
    expect(status.stdout).toContain(claim);
    expect(backups, backups.stderr).toMatchObject({ code: 0 });
    expect(backups.stdout).toBe('No backups.\n');
  };

  beforeAll(async () => {
    const env = testEnv();
    admin = clientAs('admin');
    await installCrds(admin);
    // What the chart installs: Safehold's kinds join the built-in admin role that the users get below.
    for (const role of tenantClusterRoles() as KubeObject[])
      await admin.apply(kinds.clusterRole, role, { force: true });
    namespace = await createNamespace(admin, 'login');
    await createClaim(admin, namespace, claim);
    // carol logs in with a certificate, alice through a plugin; both administer this namespace only.
    for (const user of ['carol', 'alice'])
      await admin.create(kinds.roleBinding, {
        metadata: { name: `${user}-admin`, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      } as KubeObject);
    // The cluster's CA and carol's certificate and key, signed by the environment's client CA.
    const certs = join(work, 'certs');
    mkdirSync(certs);
    copyFileSync(join(env.dir, 'kube/apiserver-certs/apiserver.crt'), join(certs, 'ca.crt'));
    // prettier-ignore
    execFileSync('openssl', [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(certs, 'carol.key'), '-out', join(certs, 'carol.csr'), '-subj', '/CN=carol/O=login-testers',
    ], { stdio: 'pipe' });
    // prettier-ignore
    execFileSync('openssl', [
      'x509', '-req', '-in', join(certs, 'carol.csr'), '-CA', env.clientCa.certPath, '-CAkey', env.clientCa.keyPath,
      '-CAcreateserial', '-out', join(certs, 'carol.crt'), '-days', '1',
    ], { stdio: 'pipe' });
  });

  afterAll(async () => {
    console.log(`login journeys, CLI runs:\n  ${timings.join('\n  ')}`);
    if (namespace !== '') await deleteNamespace(admin, namespace);
    admin.close();
    rmSync(work, { recursive: true, force: true });
  });

  const cluster = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    cluster: { server: testEnv().server, ...extra },
  });
  const carol = (folder: string) => ({
    name: 'carol',
    user: { 'client-certificate': `${folder}carol.crt`, 'client-key': `${folder}carol.key` },
  });

  it('logs in with a client certificate and key in files, paths relative to the kubeconfig', async () => {
    const config = join(work, 'certs', 'config');
    writeFileSync(
      config,
      yaml({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'carol',
        clusters: [cluster('test', { 'certificate-authority': 'ca.crt' })],
        users: [carol('')],
        contexts: [{ name: 'carol', context: { cluster: 'test', user: 'carol' } }],
      }),
    );
    await statusAndBackups('client certificate in files', {}, ['--kubeconfig', config]);
    // The API server knows who this is: outside her namespace carol is refused by name, not as anonymous.
    const elsewhere = await cli(['--kubeconfig', config, 'status', '-n', 'kube-system'], {});
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain('User "carol" cannot list');
  });

  it('runs an exec plugin once per process, again after a 401, and honours KUBERNETES_EXEC_INFO', async () => {
    const env = testEnv();
    const dir = join(work, 'plugin');
    mkdirSync(dir);
    const runs = join(dir, 'runs');
    const info = join(dir, 'exec-info.json');
    writeFileSync(runs, '');
    // Prints alice's token from kube-apiserver's --token-auth-file, except while BAD_RUNS runs are still owed a wrong one.
    writeFileSync(
      join(dir, 'get-token.sh'),
      [
        '#!/bin/sh',
        'echo run >> "$RUNS"',
        'printf "%s" "$KUBERNETES_EXEC_INFO" > "$INFO"',
        'token=$(grep ",$1,$1," "$TOKENS" | cut -d, -f1)',
        'if [ "$(wc -l < "$RUNS")" -le "${BAD_RUNS:-0}" ]; then token=not-a-token; fi',
        'expiry=""',
        'if [ -n "$EXPIRES" ]; then expiry=",\\"expirationTimestamp\\":\\"$EXPIRES\\""; fi',
        `printf '{"apiVersion":"${v1}","kind":"ExecCredential","status":{"token":"%s"%s}}' "$token" "$expiry"`,
        '',
      ].join('\n'),
    );
    chmodSync(join(dir, 'get-token.sh'), 0o755);
    const kubeconfig = (pluginEnv: Record<string, string>) => {
      const path = join(dir, 'config');
      writeFileSync(
        path,
        yaml({
          'current-context': 'alice',
          clusters: [cluster('test', { 'insecure-skip-tls-verify': true })],
          users: [
            {
              name: 'alice',
              user: {
                exec: {
                  apiVersion: v1,
                  command: './get-token.sh',
                  args: ['alice'],
                  env: Object.entries({
                    RUNS: runs,
                    INFO: info,
                    TOKENS: join(env.dir, 'kube/tokens.csv'),
                    ...pluginEnv,
                  }).map(([name, value]) => ({ name, value })),
                  interactiveMode: 'IfAvailable',
                  provideClusterInfo: true,
                },
              },
            },
          ],
          contexts: [{ name: 'alice', context: { cluster: 'test', user: 'alice' } }],
        }),
      );
      return path;
    };

    // status sends eight LISTs at once, backups three or more: one plugin run per process.
    await statusAndBackups('exec plugin', {}, ['--kubeconfig', kubeconfig({})]);
    expect(linesIn(runs)).toBe(2);
    expect(JSON.parse(readFileSync(info, 'utf8'))).toEqual({
      apiVersion: v1,
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: env.server, 'insecure-skip-tls-verify': true } },
    });

    // The first credential is refused (401): the plugin runs again and the command succeeds.
    writeFileSync(runs, '');
    const afterRefusal = await cli(['--kubeconfig', kubeconfig({ BAD_RUNS: '1' }), 'status', '-n', namespace], {});
    timings.push(`exec plugin, first token refused: status ${afterRefusal.ms} ms`);
    expect(afterRefusal, afterRefusal.stderr).toMatchObject({ code: 0 });
    expect(linesIn(runs)).toBe(2);

    // In a long-lived process (the operator's case) a credential is kept until its expirationTimestamp.
    writeFileSync(runs, '');
    const expires = new Date(Date.now() + 3000).toISOString();
    const path = kubeconfig({ EXPIRES: expires });
    const io = nodeLoginIo({ env: { PATH: process.env.PATH ?? '' }, stdinIsTerminal: false });
    const client = new KubeClient(kubeconfigConnection([{ path, text: readFileSync(path, 'utf8') }], undefined, io));
    try {
      for (let i = 0; i < 5; i++) await client.list(kinds.persistentVolumeClaim, { namespace });
      expect(linesIn(runs)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, Date.parse(expires) - Date.now() + 200));
      await client.list(kinds.persistentVolumeClaim, { namespace });
      expect(linesIn(runs)).toBe(2);
    } finally {
      client.close();
    }
  });

  it('merges a KUBECONFIG of two files: cluster and user in one, the context in the other', async () => {
    const a = join(work, 'split-a');
    const b = join(work, 'split-b');
    mkdirSync(a);
    mkdirSync(b);
    for (const file of ['ca.crt', 'carol.crt', 'carol.key']) copyFileSync(join(work, 'certs', file), join(a, file));
    writeFileSync(
      join(a, 'config'),
      yaml({ clusters: [cluster('test', { 'certificate-authority': 'ca.crt' })], users: [carol('./')] }),
    );
    // The second file's cluster of the same name loses to the first file's, as in kubectl.
    writeFileSync(
      join(b, 'config'),
      yaml({
        'current-context': 'split',
        clusters: [{ name: 'test', cluster: { server: 'https://127.0.0.1:1' } }],
        contexts: [{ name: 'split', context: { cluster: 'test', user: 'carol', namespace } }],
      }),
    );
    const list = [join(a, 'config'), join(work, 'absent', 'config'), join(b, 'config')].join(':');
    const status = await cli(['status'], { KUBECONFIG: list });
    const backups = await cli(['backups'], { KUBECONFIG: list });
    timings.push(`two-file KUBECONFIG: status ${status.ms} ms, backups ${backups.ms} ms`);
    expect(status, status.stderr).toMatchObject({ code: 0 });
    expect(status.stdout).toContain(claim);
    expect(backups, backups.stderr).toMatchObject({ code: 0, stdout: 'No backups.\n' });
  });

  it('reaches the API server through an http proxy (proxy-url), and refuses a SOCKS one clearly', async () => {
    let tunnels = 0;
    const proxy: Server = createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req, socket, head) => {
      tunnels += 1;
      const [host, port] = (req.url ?? '').split(':');
      const upstream = netConnect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const config = (proxyUrl: string) => {
        const path = join(work, 'certs', 'proxied');
        writeFileSync(
          path,
          yaml({
            'current-context': 'carol',
            clusters: [cluster('test', { 'certificate-authority': 'ca.crt', 'proxy-url': proxyUrl })],
            users: [carol('')],
            contexts: [{ name: 'carol', context: { cluster: 'test', user: 'carol' } }],
          }),
        );
        return path;
      };
      await statusAndBackups('through an http proxy', {}, ['--kubeconfig', config(`http://127.0.0.1:${port}`)]);
      expect(tunnels).toBeGreaterThanOrEqual(2);
      const socks = await cli(['--kubeconfig', config('socks5://127.0.0.1:1080'), 'status', '-n', namespace], {});
      expect(socks.code).not.toBe(0);
      expect(socks.stderr).toContain(
        'kubeconfig cluster "test": proxy-url socks5://127.0.0.1:1080: only http:// and https:// proxies are supported',
      );
    } finally {
      proxy.close();
      proxy.closeAllConnections();
    }
  });

  it('names the user and the plugin or file when logging in fails, and exits non-zero', async () => {
    const bin = join(work, 'bin');
    mkdirSync(bin);
    const plugin = join(bin, 'safehold-test-login');
    writeFileSync(plugin, '#!/bin/sh\necho "The SSO session associated with this profile has expired." >&2\nexit 1\n');
    chmodSync(plugin, 0o755);
    const config = join(work, 'failing');
    writeFileSync(
      config,
      yaml({
        clusters: [cluster('test', { 'insecure-skip-tls-verify': true })],
        users: [
          {
            name: 'eks',
            user: { exec: { apiVersion: v1, command: 'safehold-test-login', interactiveMode: 'Never' } },
          },
          { name: 'carol', user: { 'client-certificate': 'certs/missing.crt', 'client-key': 'certs/carol.key' } },
        ],
        contexts: [
          { name: 'eks', context: { cluster: 'test', user: 'eks' } },
          { name: 'carol', context: { cluster: 'test', user: 'carol' } },
        ],
      }),
    );
    const path = `${bin}:${process.env.PATH ?? ''}`;
    for (const command of ['status', 'backups']) {
      const failed = await cli(['--kubeconfig', config, '--context', 'eks', command, '-n', namespace], { PATH: path });
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain(
        'kubeconfig user "eks": exec plugin safehold-test-login failed (exit 1): The SSO session associated with this profile has expired.',
      );
      const missing = await cli(['--kubeconfig', config, '--context', 'carol', command, '-n', namespace], {});
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain(
        `kubeconfig user "carol": client-certificate ${join(work, 'certs/missing.crt')}: no such file`,
      );
    }
  });
});
