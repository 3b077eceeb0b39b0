import { describe, expect, it } from 'vitest';
import { ExecPlugin, parseExecCredential, type PluginOutcome, type PluginRun } from './exec-plugin.ts';
import type { ExecConfig } from './kubeconfig.ts';

const v1 = 'client.authentication.k8s.io/v1';
const config: ExecConfig = {
  apiVersion: v1,
  command: 'aws',
  args: ['eks', 'get-token'],
  env: [{ name: 'AWS_PROFILE', value: 'prod' }],
  provideClusterInfo: true,
  interactiveMode: 'IfAvailable',
};
const cluster = { server: 'https://eks:443', insecureSkipTlsVerify: false, caPem: 'PEM' };
const credential = (status: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: v1, kind: 'ExecCredential', status });

function fakePlugin(
  outputs: PluginOutcome[],
  options: { terminal?: boolean; mode?: ExecConfig['interactiveMode'] } = {},
) {
  const runs: PluginRun[] = [];
  let now = Date.parse('2026-01-01T00:00:00Z');
  const plugin = new ExecPlugin(
    'eks',
    { ...config, interactiveMode: options.mode ?? config.interactiveMode },
    cluster,
    {
      run: (run) => {
        runs.push(run);
        const next = outputs.shift();
        if (next === undefined) throw new Error('ran more often than expected');
        return Promise.resolve(next);
      },
      now: () => now,
      env: { PATH: '/bin', AWS_PROFILE: 'dev' },
      stdinIsTerminal: options.terminal ?? false,
    },
  );
  return { plugin, runs, advance: (ms: number) => (now += ms) };
}

const ok = (stdout: string): PluginOutcome => ({ started: true, exitCode: 0, signal: null, stdout, stderr: '' });

describe('ExecPlugin', () => {
  it('runs the command with its env and KUBERNETES_EXEC_INFO, without stdin when not on a terminal', async () => {
    const { plugin, runs } = fakePlugin([ok(credential({ token: 't1' }))]);
    expect(await plugin.credential()).toEqual({ token: 't1' });
    const run = runs[0];
    expect(run).toMatchObject({ command: 'aws', args: ['eks', 'get-token'], stdin: 'none' });
    expect(run?.env).toMatchObject({ PATH: '/bin', AWS_PROFILE: 'prod' });
    expect(JSON.parse(run?.env.KUBERNETES_EXEC_INFO ?? '')).toEqual({
      apiVersion: v1,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: { server: 'https://eks:443', 'certificate-authority-data': Buffer.from('PEM').toString('base64') },
      },
    });
  });

  it('hands over the terminal only when stdin is one and the mode allows it', async () => {
    const terminal = fakePlugin([ok(credential({ token: 't' }))], { terminal: true });
    await terminal.plugin.credential();
    expect(terminal.runs[0]?.stdin).toBe('terminal');
    const never = fakePlugin([ok(credential({ token: 't' }))], { terminal: true, mode: 'Never' });
    await never.plugin.credential();
    expect(never.runs[0]?.stdin).toBe('none');
    const always = fakePlugin([], { terminal: false, mode: 'Always' });
    await expect(always.plugin.credential()).rejects.toThrow(
      'kubeconfig user "eks": exec plugin aws needs a terminal (interactiveMode Always), and stdin is not one',
    );
  });

  it('runs once for concurrent callers and keeps the credential until it expires', async () => {
    const expiry = '2026-01-01T00:10:00Z';
    const { plugin, runs, advance } = fakePlugin([
      ok(credential({ token: 't1', expirationTimestamp: expiry })),
      ok(credential({ token: 't2' })),
    ]);
    const [a, b] = await Promise.all([plugin.credential(), plugin.credential()]);
    expect([a.token, b.token, runs.length]).toEqual(['t1', 't1', 1]);
    advance(9 * 60_000);
    expect((await plugin.credential()).token).toBe('t1');
    advance(60_000);
    expect((await plugin.credential()).token).toBe('t2');
    expect(runs).toHaveLength(2);
  });

  it('runs again after the server refused the kept token, not after it refused an older one', async () => {
    const { plugin, runs } = fakePlugin([ok(credential({ token: 't1' })), ok(credential({ token: 't2' }))]);
    await plugin.credential();
    plugin.refused({ token: 'old' });
    expect((await plugin.credential()).token).toBe('t1');
    plugin.refused({ token: 't1' });
    expect((await plugin.credential()).token).toBe('t2');
    expect(runs).toHaveLength(2);
  });

  it('says the exit code and stderr of a failed run, and runs again next time', async () => {
    const { plugin } = fakePlugin([
      { started: true, exitCode: 1, signal: null, stdout: '', stderr: 'The SSO session has expired.\n' },
      ok(credential({ token: 't' })),
    ]);
    await expect(plugin.credential()).rejects.toThrow(
      'kubeconfig user "eks": exec plugin aws failed (exit 1): The SSO session has expired.',
    );
    expect((await plugin.credential()).token).toBe('t');
  });

  it('says when the command is missing, with its install hint', async () => {
    const error = Object.assign(new Error('spawn aws ENOENT'), { code: 'ENOENT' });
    const { plugin } = fakePlugin([{ started: false, error }]);
    await expect(plugin.credential()).rejects.toThrow('kubeconfig user "eks": exec plugin aws not found');
  });
});

describe('parseExecCredential', () => {
  it('reads a token, a certificate pair and an expiry', () => {
    expect(
      parseExecCredential(
        v1,
        credential({ clientCertificateData: 'C', clientKeyData: 'K', expirationTimestamp: '2026-01-01T00:00:00Z' }),
      ),
    ).toEqual({ ok: true, value: { cert: 'C', key: 'K', expiresAt: Date.parse('2026-01-01T00:00:00Z') } });
  });

  it('refuses what client-go refuses', () => {
    expect(parseExecCredential(v1, 'token').ok).toBe(false);
    expect(parseExecCredential(v1, credential({})).ok).toBe(false);
    expect(parseExecCredential(v1, credential({ clientCertificateData: 'C' })).ok).toBe(false);
    expect(parseExecCredential('client.authentication.k8s.io/v1beta1', credential({ token: 't' }))).toEqual({
      ok: false,
      error: `apiVersion ${v1}, but the kubeconfig asks for client.authentication.k8s.io/v1beta1`,
    });
  });
});
