// Safehold as a user runs it: the CLI as a process, the operator as a
// process, its CRDs installed the way the chart installs them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../testenv/paths.ts';

export { installCrds } from '../../testenv/crds.ts';
import { testEnv, waitFor } from './cluster.ts';

const cliPath = join(repoRoot, 'src/bin/safehold.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function safehold(args: string[], user: 'admin' | 'alice' | 'bob' = 'admin'): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, '--kubeconfig', testEnv().kubeconfig, '--context', user, ...args],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      },
    );
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface RunningOperator {
  process: ChildProcess;
  port: number;
  output: () => string;
  metrics: () => Promise<string>;
  stop: () => Promise<void>;
}

export async function startOperator(
  namespace: string,
  identity: string,
  leaseName = 'safehold-operator',
): Promise<RunningOperator> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cliPath,
      '--kubeconfig',
      testEnv().kubeconfig,
      'operator',
      '--namespace',
      namespace,
      '--identity',
      identity,
      '--lease-name',
      leaseName,
      '--metrics-bind-address',
      `127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await waitFor(
    `operator ${identity} serving metrics`,
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
    { timeoutMs: 20_000 },
  );
  return {
    process: child,
    port,
    output: () => output,
    metrics,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The value of one series in a Prometheus text exposition, if present. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelPart = line.slice(name.length, line.lastIndexOf(' '));
    if (wanted.every((w) => labelPart.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
