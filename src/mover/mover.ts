// One run of the mover: read the task, run it, and report. Progress goes to
// stdout as JSON lines; the MoverResult goes to stdout too and to the
// termination message, which is what the controller reads. restic's own
// output goes to stderr for people reading logs. Nothing printed carries a
// secret.
import { writeFile } from 'node:fs/promises';
import {
  moverEnv,
  moverTask,
  type MoverError,
  type MoverMessage,
  type MoverResult,
  type MoverTask,
} from '../api/index.ts';
import { runBackup } from './backup.ts';
import { runBlockBackup } from './block-backup.ts';
import { runBlockRestore } from './block-restore.ts';
import { runDownload } from './download.ts';
import { probeEndpoint } from './endpoint-probe.ts';
import { s3RepositoryObjects } from './restic/repository-objects.ts';
import { connectRbd } from './rbd.ts';
import { runMaintenance } from './maintenance.ts';
import { runRestore } from './restore.ts';
import { lineForLog } from './restic/output.ts';
import { runRestic, type Restic } from './restic/process.ts';
import { secretRedactor } from './secrets.ts';
import { encodeResult } from './termination-message.ts';

export interface MoverInput {
  /** The MoverTask as JSON ($SAFEHOLD_TASK). */
  task: string | undefined;
  /** From the run's Secret, by the names in moverEnv. */
  credentials: {
    resticPassword?: string | undefined;
    accessKeyId?: string | undefined;
    secretAccessKey?: string | undefined;
    /** A download's presigned PUT URL: its query string is a signature. */
    uploadUrl?: string | undefined;
    /** The Ceph user's key for a block backup's rbd diff. */
    cephKey?: string | undefined;
  };
  /** The argv that runs this program (a block backup's image stream is one of its commands). */
  selfCommand: string[];
  /** Variables restic needs from the mover's own environment (see inheritedEnvNames). */
  inheritedEnv: Readonly<Record<string, string>>;
  resticBinary: string;
  terminationMessagePath: string;
}

export interface MoverIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  nowMs: () => number;
  /** Aborts when the Pod is asked to stop; restic gets SIGTERM and cleans up. */
  signal?: AbortSignal | undefined;
  limits?: Partial<MoverLimits> | undefined;
}

export interface MoverLimits {
  probeTimeoutMs: number;
  openTimeoutMs: number;
  progressIntervalMs: number;
  /** A download's upload gives up when nothing moves for this long. */
  uploadIdleTimeoutMs: number;
}

export const defaultLimits: MoverLimits = {
  probeTimeoutMs: 5_000,
  openTimeoutMs: 120_000,
  progressIntervalMs: 1_000,
  uploadIdleTimeoutMs: 120_000,
};

/**
 * What restic may take from the mover's environment: where programs and temp
 * files are, proxies, CAs. Not TZ: restic runs in UTC (see snapshot-time.ts).
 */
export const inheritedEnvNames = [
  'PATH',
  'HOME',
  'TMPDIR',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
] as const;

export async function runMover(input: MoverInput, io: MoverIo): Promise<MoverResult> {
  const redact = secretRedactor([
    input.credentials.resticPassword,
    input.credentials.accessKeyId,
    input.credentials.secretAccessKey,
    input.credentials.uploadUrl,
    querySecret(input.credentials.uploadUrl),
    input.credentials.cephKey,
  ]);
  const print = (message: MoverMessage) => io.stdout(`${JSON.stringify(message)}\n`);
  const log = (text: string) => io.stderr(`${redact(text)}\n`);

  const result = redactResult(await run(input, io, log, print), redact);
  print(result);
  try {
    await writeFile(input.terminationMessagePath, encodeResult(result));
  } catch (error) {
    log(`cannot write the termination message to ${input.terminationMessagePath}: ${String(error)}`);
  }
  return result;
}

async function run(
  input: MoverInput,
  io: MoverIo,
  log: (text: string) => void,
  print: (message: MoverMessage) => void,
): Promise<MoverResult> {
  const parsed = parseTask(input.task);
  if (!parsed.ok) return parsed.error;
  const task = parsed.task;
  if (input.credentials.resticPassword === undefined || input.credentials.resticPassword === '') {
    return {
      type: 'error',
      code: 'WrongPassword',
      message: `the repository password is empty: ${task.repository.source?.password ?? "the BackupRepository's spec.password Secret"} must hold the password`,
    };
  }
  const limits = { ...defaultLimits, ...io.limits };
  const env = resticEnv(task, input);
  const restic: Restic = (args, options = {}) =>
    runRestic({
      binary: input.resticBinary,
      args,
      env,
      signal: io.signal,
      timeoutMs: options.timeoutMs,
      stopWhen: options.stopWhen,
      onAnswer: options.onAnswer,
      onStdout: options.onStdout,
      onLine: (line) => {
        const said = lineForLog(line);
        if (said !== undefined) log(`restic: ${said}`);
        options.onLine?.(line);
      },
    });
  // A proxy in between means the endpoint is not ours to probe directly.
  const proxied = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].some((n) => input.inheritedEnv[n]);
  const repository = {
    restic,
    probe: (endpoint: string) =>
      proxied
        ? Promise.resolve({ reachable: true as const })
        : probeEndpoint(endpoint, limits.probeTimeoutMs, io.signal),
    openTimeoutMs: limits.openTimeoutMs,
    objects: s3RepositoryObjects({
      url: task.repository.url,
      region: task.repository.region,
      accessKeyId: input.credentials.accessKeyId,
      secretAccessKey: input.credentials.secretAccessKey,
      now: () => new Date(io.nowMs()),
    }),
    warn: (text: string) => log(`warning: ${text}`),
  };
  const warn = (text: string) => log(`warning: ${text}`);
  switch (task.kind) {
    case 'backup':
      return runBackup(task, {
        ...repository,
        progressIntervalMs: limits.progressIntervalMs,
        nowMs: io.nowMs,
        progress: print,
        warn,
      });
    case 'maintenance':
      return runMaintenance(task, { ...repository, nowMs: io.nowMs, log, warn });
    case 'restore':
      return runRestore(task, {
        ...repository,
        progressIntervalMs: limits.progressIntervalMs,
        nowMs: io.nowMs,
        progress: print,
        log,
        warn,
      });
    case 'download':
      return runDownload(task, {
        ...repository,
        uploadUrl: input.credentials.uploadUrl,
        // The Job mounts an emptyDir at /tmp.
        tempDir: input.inheritedEnv.TMPDIR ?? '/tmp',
        caFile: input.inheritedEnv.SSL_CERT_FILE,
        uploadIdleTimeoutMs: limits.uploadIdleTimeoutMs,
        signal: io.signal,
        nowMs: io.nowMs,
        log,
        warn,
      });
    case 'block-backup': {
      const tempDir = input.inheritedEnv.TMPDIR ?? '/tmp';
      return runBlockBackup(task, {
        ...repository,
        progressIntervalMs: limits.progressIntervalMs,
        nowMs: io.nowMs,
        progress: print,
        warn,
        tempDir,
        imageStreamCommand: (plan) => [...input.selfCommand, imageStreamCommandName, plan],
        rbd: (extents) => connectRbd(extents.ceph, input.credentials.cephKey, tempDir),
      });
    }
    case 'block-restore':
      return runBlockRestore(task, { ...repository, nowMs: io.nowMs, log });
  }
}

/** The hidden command restic runs for a block backup: `safehold image-stream PLAN`. */
export const imageStreamCommandName = 'image-stream';

/** The query string of a presigned URL (its signature), hidden on its own too should a message quote only it. */
function querySecret(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const query = new URL(url).search.slice(1);
    return query === '' ? undefined : query;
  } catch {
    return undefined;
  }
}

/** restic's words reach the result in error messages and in what maintenance found; none may carry a secret. */
function redactResult(result: MoverResult, redact: (text: string) => string): MoverResult {
  switch (result.type) {
    case 'summary':
    case 'restored':
    case 'downloaded':
      return result;
    case 'error':
      return { ...result, message: redact(result.message) };
    case 'maintenance':
      return {
        ...result,
        ...(result.prune === undefined ? {} : { prune: { ...result.prune, message: redact(result.prune.message) } }),
        ...(result.check === undefined ? {} : { check: { ...result.check, message: redact(result.check.message) } }),
      };
  }
}

export type TaskResult = { ok: true; task: MoverTask } | { ok: false; error: MoverError };

export function parseTask(json: string | undefined): TaskResult {
  const invalid = (message: string): TaskResult => ({
    ok: false,
    error: { type: 'error', code: 'InvalidTask', message },
  });
  if (json === undefined || json.trim() === '') return invalid(`${moverEnv.task} is not set: the Job carries no task`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return invalid(`${moverEnv.task} is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = moverTask.safeParse(value);
  if (parsed.success) return { ok: true, task: parsed.data };
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(task)'}: ${issue.message}`);
  return invalid(`the task in ${moverEnv.task} is not valid: ${problems.join('; ')}`);
}

function resticEnv(task: MoverTask, input: MoverInput): Record<string, string> {
  const { resticPassword, accessKeyId, secretAccessKey } = input.credentials;
  const env: Record<string, string> = {
    ...input.inheritedEnv,
    RESTIC_REPOSITORY: task.repository.url,
    RESTIC_CACHE_DIR: task.cacheDir,
    // restic reads --time in local time, and its messages then show the times the API shows.
    TZ: 'UTC',
  };
  if (resticPassword !== undefined) env.RESTIC_PASSWORD = resticPassword;
  if (accessKeyId !== undefined) env.AWS_ACCESS_KEY_ID = accessKeyId;
  if (secretAccessKey !== undefined) env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
  if (task.repository.region !== undefined) env.AWS_DEFAULT_REGION = task.repository.region;
  return env;
}
