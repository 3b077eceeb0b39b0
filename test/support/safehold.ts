// Safehold as a user runs it: the CLI as a process, the operator as a
// process, its CRDs installed the way the chart installs them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { tenantClusterRoles, type MoverSettings, type VolumeBackup } from '../../src/api/index.ts';
import { runOperator, type OperatorOptions } from '../../src/controller/index.ts';
import { isAlreadyExists, kinds, type KubeClient, type KubeObject, type ResourceKind } from '../../src/kube/index.ts';
import { unverifiedCephKey } from '../../testenv/ceph/cluster.ts';
import { installCrds } from '../../testenv/crds.ts';
import { repoRoot } from '../../testenv/paths.ts';

export { installCrds } from '../../testenv/crds.ts';
import { clientAs, GiveUp, testEnv, waitFor } from './cluster.ts';

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

/** Runs the CLI with its stdout written to a file as bytes (a download that is not text); resolves to its exit code. */
export function safeholdToFile(args: string[], file: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [cliPath, '--kubeconfig', testEnv().kubeconfig, '--context', 'admin', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out = createWriteStream(file);
    child.stdout.pipe(out);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => out.end(() => resolve({ code: code ?? 1, stderr })));
  });
}

/**
 * A port nobody listens on, from 20000 to 29999: below the kernel's ephemeral range (32768 and up), so
 * no outgoing connection is given it between this choice and the server that binds it (a port the kernel
 * hands out, once released, can be taken that way, and the server then never starts), and apart from the
 * environment's own fixed ports.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (await bindable(port)) return port;
  }
  throw new Error('no free port from 20000 to 29999 after 100 tries');
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
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

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (no timestamps: prom-client writes none). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      labels[name ?? ''] = (value ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the first series of that name whose labels include these, if present. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  return parseExposition(text).find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/**
 * What every journey with its own repository needs, as the chart installs it: the CRDs, the tenant
 * roles (updated, should an older run have made them), Safehold's namespace, an S3 Secret there,
 * and a BackupRepository with one restic repository per namespace under tenants/, each with the
 * key Safehold generates. passwordInSecret goes into the S3 Secret as "password", for another
 * repository the test makes itself.
 */
export async function installWithRepository(
  client: KubeClient,
  options: {
    system: string;
    id: string;
    bucket: string;
    repository: string;
    passwordInSecret?: string;
    /** Give the repository Ceph access to the environment's cluster (its key in the S3 Secret as userKey). */
    ceph?: boolean;
    /** Where movers reach radosgw: the environment's S3 endpoint, or the real node's (through its bridge). */
    endpoint?: string;
  },
): Promise<void> {
  const env = testEnv();
  await installCrds(client);
  for (const role of tenantClusterRoles() as KubeObject[])
    await client.create(kinds.clusterRole, role).catch(async (error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
      await client.mergePatch(
        kinds.clusterRole,
        { name: role.metadata?.name ?? '' },
        {
          rules: (role as { rules?: unknown }).rules,
        },
      );
    });
  await client.create(kinds.namespace, { metadata: { name: options.system } }).catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
  const secret = `${options.id}-s3`;
  await client.create(kinds.secret, {
    metadata: { name: secret, namespace: options.system },
    stringData: {
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      ...(options.passwordInSecret === undefined ? {} : { password: options.passwordInSecret }),
      ...(options.ceph === true ? { userKey: unverifiedCephKey } : {}),
    },
  } as KubeObject);
  await client.create(kinds.backupRepository, {
    metadata: { name: options.repository },
    spec: {
      s3: {
        endpoint: options.endpoint ?? env.ceph.s3.endpoint,
        bucket: options.bucket,
        prefix: 'tenants/{namespace}',
        accessKeyId: { namespace: options.system, name: secret },
        secretAccessKey: { namespace: options.system, name: secret },
      },
      ...(options.ceph === true
        ? { ceph: { monitors: [env.ceph.monHost], user: 'admin', key: { namespace: options.system, name: secret } } }
        : {}),
    },
  } as KubeObject);
}

/**
 * Creates a manual VolumeBackup (naming a policy, if given) and waits for it to succeed, or, with
 * `outcome: 'Failed'`, to fail; the other ending throws with its message.
 */
export async function backUpNow(
  client: KubeClient,
  namespace: string,
  pvc: string,
  name: string,
  { policy, outcome = 'Succeeded' }: { policy?: string; outcome?: RunOutcome } = {},
): Promise<VolumeBackup> {
  await client.create(kinds.volumeBackup, {
    metadata: { name, namespace },
    spec: { pvc, trigger: 'manual', ...(policy === undefined ? {} : { policy }) },
  } as KubeObject);
  return waitForRun<VolumeBackup>(client, kinds.volumeBackup, namespace, name, { outcome });
}

interface RunObject extends KubeObject {
  status?: { phase?: string; message?: string; conditions?: { type: string; status: string; reason?: string }[] };
}

type RunOutcome = 'Succeeded' | 'Failed';

/**
 * Waits for a VolumeBackup, VolumeRestore or BackupDownload to end as `outcome` (Succeeded
 * unless told; and, if `until` says so, for more). The other ending ends the wait at once with
 * its message; a timeout says the phase, message and conditions it was left in. The default
 * timeout stays under the journeys' test timeout, so that message is what a slow run reports.
 */
export async function waitForRun<T extends RunObject>(
  client: KubeClient,
  kind: ResourceKind,
  namespace: string,
  name: string,
  {
    outcome = 'Succeeded',
    until = () => true,
    timeoutMs = 240_000,
  }: { outcome?: RunOutcome; until?: (run: T) => boolean; timeoutMs?: number } = {},
): Promise<T> {
  let done: T | undefined;
  await waitFor(
    `${kind.kind} ${namespace}/${name} ${outcome}`,
    async () => {
      done = await client.get<T>(kind, { namespace, name });
      const status = done.status;
      const phase = status?.phase;
      if ((phase === 'Failed' || phase === 'Succeeded') && phase !== outcome)
        throw new GiveUp(`${kind.kind} ${namespace}/${name} ${phase.toLowerCase()}: ${status?.message ?? ''}`);
      if (phase === outcome && until(done)) return true;
      const conditions = (status?.conditions ?? []).map(
        (c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`,
      );
      throw new Error(`phase ${phase ?? 'none'}: ${status?.message ?? ''} [${conditions.join(', ')}]`);
    },
    { timeoutMs, intervalMs: 500 },
  );
  return done as T;
}

export interface OperatorHere {
  /** What the operator logged, one line per message. */
  log: string[];
  stop: () => Promise<void>;
}

/**
 * The operator inside the test process, as a journey runs it: its own identity and lease (so it
 * leads at once), Safehold's namespace `system`, the clock the test gives. Its requests carry
 * the operator's own user agent (`safehold`), so the audit log tells them from the test's.
 */
export async function runOperatorHere(
  system: string,
  id: string,
  options: {
    now?: () => Date;
    metricsPort?: number;
    sweepIntervalMs?: number;
    maxConcurrentMovers?: number;
    maxConcurrentRestores?: number;
    keepRunsForMs?: number;
    /** Where and from which image its movers run (the real node's journeys); the node agent's stand-in by default. */
    mover?: MoverSettings;
  } = {},
): Promise<OperatorHere> {
  const stop = new AbortController();
  const log: string[] = [];
  const client = clientAs('admin');
  client.userAgent = 'safehold';
  // Not a literal: an operator that does not know sweepIntervalMs yet ignores it.
  const operatorOptions: OperatorOptions & { sweepIntervalMs?: number } = {
    namespace: system,
    identity: `operator-${id}`,
    leaseName: `lease-${id}`,
    metricsHost: '127.0.0.1',
    metricsPort: options.metricsPort ?? (await freePort()),
    mover: options.mover ?? { image: 'safehold' },
    maxConcurrentMovers: options.maxConcurrentMovers ?? 4,
    maxConcurrentRestores: options.maxConcurrentRestores ?? 4,
    ...(options.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: options.sweepIntervalMs }),
    ...(options.keepRunsForMs === undefined ? {} : { keepRunsForMs: options.keepRunsForMs }),
    // It shares the test's event loop, which a journey's own work (writing a tree, hashing a GiB) may hold
    // for longer than a production renew deadline; its Lease is its own, so nobody else could take over.
    leaderElection: { leaseDurationSeconds: 3600, renewDeadlineMs: 1_800_000, retryPeriodMs: 2000 },
  };
  const done = runOperator(
    {
      client,
      log: (message, fields) => log.push(`${message} ${JSON.stringify(fields ?? {})}`),
      now: options.now ?? (() => new Date()),
      signal: stop.signal,
    },
    operatorOptions,
  );
  return {
    log,
    stop: async () => {
      stop.abort();
      await done;
      client.close();
    },
  };
}
