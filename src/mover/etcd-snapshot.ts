// etcd into the repository as one snapshot file (issue 21): the mover runs on
// a control-plane node with the host's network and etcd's client certificates
// mounted read-only. The certificate files are checked first (a missing one is
// named with its path on the node), then each endpoint in turn is asked for
// its status (bounded, so an unreachable etcd fails in seconds, not never),
// and the first that answers gives `etcdctl snapshot save`. The file counts
// as good only once the SHA-256 etcd appends to it matches its content and
// `etcdutl snapshot status` reads its revision, keys and hash; only then does
// the engine store it, at the snapshot's root. The work folder is removed
// whatever happens.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupSummary, EtcdSnapshotReport, EtcdSnapshotTask } from '../api/index.ts';
import type { BackupSteps } from './backup.ts';
import { compressionFor } from './compression-choice.ts';
import { etcdClientSaid, etcdHint, parseSnapshotStatus } from './etcd-output.ts';
import type { Failure, Outcome } from './failure.ts';
import { throttledProgress } from './progress-throttle.ts';

export interface EtcdSnapshotSteps extends BackupSteps {
  /** What etcdctl and etcdutl may take from the mover's environment (inheritedEnvNames). */
  inheritedEnv: Readonly<Record<string, string>>;
  tempDir: string;
  signal?: AbortSignal | undefined;
  /** How long one endpoint may take to answer its status before the next is tried. */
  statusTimeoutSeconds?: number | undefined;
}

/** etcd appends the SHA-256 of the database to the snapshot it streams. */
const hashBytes = 32;

export async function runEtcdSnapshot(
  task: EtcdSnapshotTask,
  steps: EtcdSnapshotSteps,
): Promise<BackupSummary | Failure> {
  const notReady = await steps.repository.prepare({ create: task.repository.initialize });
  if (notReady !== undefined) return notReady;
  const missing = await missingCertificate(task);
  if (missing !== undefined) return missing;
  const dir = await mkdtemp(join(steps.tempDir, 'etcd-'));
  try {
    const run = (program: string, args: string[]) =>
      runTool(program, args, { env: { ...steps.inheritedEnv }, signal: steps.signal });
    const { certificates: c } = task;
    const tls = ['--cacert', join(c.dir, c.caFile), '--cert', join(c.dir, c.certFile), '--key', join(c.dir, c.keyFile)];
    const timeout = steps.statusTimeoutSeconds ?? 15;
    // In a folder of its own: etcdctl writes <file>.part beside it until the snapshot is whole.
    await mkdir(join(dir, 'snapshot'));
    const file = join(dir, 'snapshot', task.fileName);
    const refused: string[] = [];
    let endpoint: string | undefined;
    for (const candidate of task.endpoints) {
      const client = ['--endpoints', candidate, ...tls, '--dial-timeout=5s'];
      const status = await run('etcdctl', [
        ...client,
        `--command-timeout=${timeout}s`,
        'endpoint',
        'status',
        '-w',
        'json',
      ]);
      if (status.exitCode !== 0) {
        const failed = stopped('etcdctl', status);
        if (failed !== undefined) return failed;
        refused.push(reasonAt(candidate, status, task));
        continue;
      }
      steps.log(`etcd at ${candidate} answers; saving a snapshot`);
      const saved = await run('etcdctl', [...client, 'snapshot', 'save', file]);
      if (saved.exitCode === 0) {
        endpoint = candidate;
        break;
      }
      const failed = stopped('etcdctl', saved);
      if (failed !== undefined) return failed;
      refused.push(`${reasonAt(candidate, saved, task)} (etcdctl snapshot save)`);
      await rm(join(dir, 'snapshot'), { recursive: true, force: true });
      await mkdir(join(dir, 'snapshot'));
    }
    if (endpoint === undefined)
      return {
        type: 'error',
        code: 'SourceMissing',
        message: `no etcd snapshot, nothing stored: ${refused.join('; ')}`,
      };
    const checked = await verify(file, run);
    if (!checked.ok) return checked.error;
    const report: EtcdSnapshotReport = { endpoint, ...checked.value };
    steps.log(
      `snapshot of ${endpoint} verified: revision ${report.revision}, ${report.keys} keys, hash ${report.hash}, ${report.bytes} bytes`,
    );
    const stored = await steps.repository.backupStream(
      {
        host: task.host,
        tags: task.tags,
        fileName: task.fileName,
        command: ['cat', '--', file],
        compression: compressionFor(task.compression, undefined),
        verifyBeforeUpload: true,
      },
      throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress),
    );
    if (!stored.ok) return stored.error;
    return { ...stored.value, etcd: report };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first certificate file the mover cannot read, named by its path on the node and its field. */
async function missingCertificate(task: EtcdSnapshotTask): Promise<Failure | undefined> {
  const c = task.certificates;
  for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
    const name = c[field];
    try {
      await access(join(c.dir, name), constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const held = await readdir(c.dir).catch(() => undefined);
      const folder =
        held === undefined
          ? `the folder ${c.hostPath} is not there`
          : held.length === 0
            ? `the folder ${c.hostPath} is empty`
            : `the folder ${c.hostPath} holds ${held.sort().slice(0, 12).join(', ')}`;
      return {
        type: 'error',
        code: 'SourceMissing',
        message: `etcd's certificate file ${join(c.hostPath, name)} (spec.etcd.certificates.${field}) ${code === 'ENOENT' ? 'is not on this node' : `cannot be read (${code ?? String(error)})`}: ${folder}; nothing stored`,
      };
    }
  }
  return undefined;
}

/** The snapshot whole and readable: etcd's SHA-256 matches, and etcdutl reads its status. */
async function verify(
  file: string,
  run: (program: string, args: string[]) => Promise<ToolExit>,
): Promise<Outcome<Omit<EtcdSnapshotReport, 'endpoint'>>> {
  const failure = (what: string): Failure => ({
    type: 'error',
    code: 'DumpFailed',
    message: `the etcd snapshot does not verify, nothing stored: ${what}`,
  });
  const bad = (what: string) => ({ ok: false as const, error: failure(what) });
  const checked = await run('etcdutl', ['snapshot', 'status', file, '-w', 'json']);
  if (checked.exitCode !== 0)
    return {
      ok: false,
      error: stopped('etcdutl', checked) ?? failure(`etcdutl snapshot status: ${etcdClientSaid(checked.stderr)}`),
    };
  const status = parseSnapshotStatus(checked.stdout);
  if (status === undefined) return bad(`etcdutl snapshot status printed no status (${checked.stdout.slice(0, 200)})`);
  const size = (await stat(file)).size;
  if (size !== status.totalSize + hashBytes)
    return bad(`it has ${size} bytes, but its database ${status.totalSize} and etcd's SHA-256 ${hashBytes}`);
  const { expected, actual } = await sha256Trailer(file, size);
  if (expected !== actual) return bad(`its SHA-256 is ${actual}, but etcd sent ${expected}`);
  return {
    ok: true,
    value: {
      revision: status.revision,
      keys: status.totalKey,
      hash: status.hash,
      bytes: status.totalSize,
      ...(status.version === undefined ? {} : { version: status.version }),
    },
  };
}

/** The SHA-256 the file ends with, and that of the bytes before it. */
async function sha256Trailer(file: string, size: number): Promise<{ expected: string; actual: string }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { end: size - hashBytes - 1 })) hash.update(chunk as Buffer);
  const handle = await open(file);
  try {
    const trailer = Buffer.alloc(hashBytes);
    await handle.read(trailer, 0, hashBytes, size - hashBytes);
    return { expected: trailer.toString('hex'), actual: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

function reasonAt(endpoint: string, exit: ToolExit, task: EtcdSnapshotTask): string {
  const reason = etcdClientSaid(exit.stderr);
  const hint = etcdHint(reason, endpoint, {
    caFile: join(task.certificates.hostPath, task.certificates.caFile),
    certFile: join(task.certificates.hostPath, task.certificates.certFile),
    keyFile: join(task.certificates.hostPath, task.certificates.keyFile),
  });
  return `etcd at ${endpoint}: ${reason}${hint === undefined ? '' : ` (${hint})`}`;
}

interface ToolExit {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The program could not start (not installed), or was stopped by the mover's signal. */
  failed?: 'missing' | 'stopped';
}

function runTool(
  program: string,
  args: readonly string[],
  options: { env: Record<string, string>; signal?: AbortSignal | undefined },
): Promise<ToolExit> {
  return new Promise((resolve) => {
    execFile(
      program,
      args,
      { env: options.env, signal: options.signal, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ exitCode: 0, stdout, stderr });
        const failed = error.name === 'AbortError' ? 'stopped' : error.code === 'ENOENT' ? 'missing' : undefined;
        const exitCode = typeof error.code === 'number' ? error.code : null;
        resolve({ exitCode, stdout, stderr, ...(failed === undefined ? {} : { failed }) });
      },
    );
  });
}

/** Why the program did not run at all, when that is why it failed. */
function stopped(program: string, exit: ToolExit): Failure | undefined {
  switch (exit.failed) {
    case undefined:
      return undefined;
    case 'missing':
      return { type: 'error', code: 'DumpFailed', message: `${program} is not installed in the mover image` };
    case 'stopped':
      return {
        type: 'error',
        code: 'Interrupted',
        message: `${program} was stopped by a signal to the mover: its Pod was deleted, evicted or reached its deadline`,
      };
  }
}
