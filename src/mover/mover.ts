// One run of the mover: read the task, run it through the repository engine,
// and report. Progress goes to stdout as JSON lines; the MoverResult goes to
// stdout too and to the termination message, which is what the controller
// reads. The engine's own output goes to stderr for people reading logs.
// Nothing printed carries a secret.
import { writeFile } from 'node:fs/promises';
import {
  moverEnv,
  moverTask,
  type MoverError,
  type MoverMessage,
  type MoverResult,
  type MoverTask,
  type BucketSource,
} from '../api/index.ts';
import { runBackup } from './backup.ts';
import type { Readable } from 'node:stream';
import { dumpStreamCommandName, imageStreamCommandName } from './command-names.ts';
import { runDumpBackup } from './dump-backup.ts';
import { runEtcdSnapshot } from './etcd-snapshot.ts';
import { runGitBackup } from './git-backup.ts';
import { gitSecretValues, type GitSecrets } from './git-remote.ts';
import { runBlockBackup } from './block-backup.ts';
import { runBucketBackup } from './bucket-backup.ts';
import { runBucketRestore } from './bucket-restore.ts';
import { bucketClient, type BucketClient } from './s3-bucket.ts';
import { runBlockRestore } from './block-restore.ts';
import { runDownload } from './download.ts';
import { probeEndpoint } from './endpoint-probe.ts';
import type { Repository } from './engine.ts';
import { loadEngine } from './engines.ts';
import { moverError, type Failure } from './failure.ts';
import { connectRbd } from './rbd.ts';
import { runMaintenance } from './maintenance.ts';
import { runRestore } from './restore.ts';
import { secretRedactor } from './secrets.ts';
import { encodeResult } from './termination-message.ts';

export interface MoverInput {
  /** The MoverTask as JSON ($SAFEHOLD_TASK). */
  task: string | undefined;
  /** From the run's Secret, by the names in moverEnv. */
  credentials: {
    /** The repository's password. */
    password?: string | undefined;
    accessKeyId?: string | undefined;
    secretAccessKey?: string | undefined;
    /** A download's presigned PUT URL: its query string is a signature. */
    uploadUrl?: string | undefined;
    /** The Ceph user's key for a block backup's rbd diff. */
    cephKey?: string | undefined;
    /** A git-backup's Git server credentials (GIT_USERNAME, GIT_PASSWORD, GIT_SSH_KEY, GIT_KNOWN_HOSTS). */
    git?: GitSecrets | undefined;
    /** A bucket-backup's or bucket-restore's keys for the bucket (BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY). */
    bucket?: { accessKeyId?: string | undefined; secretAccessKey?: string | undefined } | undefined;
  };
  /** The argv that runs this program (a block backup's image stream is one of its commands). */
  selfCommand: string[];
  /** Variables the engine needs from the mover's own environment (see inheritedEnvNames). */
  inheritedEnv: Readonly<Record<string, string>>;
  /** The repository engine's program. */
  engineBinary: string;
  terminationMessagePath: string;
}

export interface MoverIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  nowMs: () => number;
  /** Aborts when the Pod is asked to stop; the engine's program gets SIGTERM and cleans up. */
  signal?: AbortSignal | undefined;
  limits?: Partial<MoverLimits> | undefined;
  /** The mover's stdin, opened only when read: where an application dump's frames arrive (dump-backup). */
  stdin?: (() => Readable) | undefined;
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
 * What the engine's program may take from the mover's environment: where
 * programs and temp files are, proxies, CAs. Not TZ: restic runs in UTC (see
 * snapshot-time.ts).
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
    input.credentials.password,
    input.credentials.accessKeyId,
    input.credentials.secretAccessKey,
    input.credentials.uploadUrl,
    querySecret(input.credentials.uploadUrl),
    input.credentials.cephKey,
    ...gitSecretValues(input.credentials.git ?? {}),
    input.credentials.bucket?.accessKeyId,
    input.credentials.bucket?.secretAccessKey,
  ]);
  const print = (message: MoverMessage) => io.stdout(`${JSON.stringify(message)}\n`);
  const log = (text: string) => io.stderr(`${redact(text)}\n`);

  const result = redactResult(moverResult(await run(input, io, log, print)), redact);
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
): Promise<MoverResult | Failure> {
  const parsed = parseTask(input.task);
  if (!parsed.ok) return parsed.error;
  const task = parsed.task;
  const password = input.credentials.password;
  if (password === undefined || password === '') {
    return {
      type: 'error',
      code: 'WrongPassword',
      message: `the repository password is empty: ${task.repository.source?.password ?? "the BackupRepository's spec.password Secret"} must hold the password`,
    };
  }
  const limits = { ...defaultLimits, ...io.limits };
  const warn = (text: string) => log(`warning: ${text}`);
  // A proxy in between means the endpoint is not ours to probe directly.
  const proxied = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].some((n) => input.inheritedEnv[n]);
  const engine = await loadEngine(task.repository.engine);
  const repository: Repository = engine.open({
    repository: task.repository,
    cacheDir: task.cacheDir,
    password,
    accessKeyId: input.credentials.accessKeyId,
    secretAccessKey: input.credentials.secretAccessKey,
    binary: input.engineBinary,
    inheritedEnv: input.inheritedEnv,
    signal: io.signal,
    probe: (endpoint) =>
      proxied
        ? Promise.resolve({ reachable: true as const })
        : probeEndpoint(endpoint, limits.probeTimeoutMs, io.signal),
    openTimeoutMs: limits.openTimeoutMs,
    now: () => new Date(io.nowMs()),
    log,
    warn,
  });
  const progress = { progressIntervalMs: limits.progressIntervalMs, nowMs: io.nowMs, progress: print };
  switch (task.kind) {
    case 'backup':
      return runBackup(task, { repository, ...progress, log, warn });
    case 'maintenance':
      return runMaintenance(task, { repository, nowMs: io.nowMs, log });
    case 'restore':
      return runRestore(task, { repository, ...progress, log, warn });
    case 'download':
      return runDownload(task, {
        repository,
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
        repository,
        ...progress,
        log,
        warn,
        tempDir,
        imageStreamCommand: (plan) => [...input.selfCommand, imageStreamCommandName, plan],
        rbd: (extents) => connectRbd(extents.ceph, input.credentials.cephKey, tempDir),
      });
    }
    case 'block-restore':
      return runBlockRestore(task, { repository, nowMs: io.nowMs, log });
    case 'dump-backup':
      if (io.stdin === undefined)
        return { type: 'error', code: 'InvalidTask', message: "a dump needs the mover's stdin" };
      return runDumpBackup(task, {
        repository,
        ...progress,
        log,
        warn,
        input: io.stdin(),
        tempDir: input.inheritedEnv.TMPDIR ?? '/tmp',
        dumpStreamCommand: (fifo) => [...input.selfCommand, dumpStreamCommandName, fifo],
      });
    case 'etcd-snapshot':
      return runEtcdSnapshot(task, {
        repository,
        ...progress,
        log,
        warn,
        inheritedEnv: input.inheritedEnv,
        tempDir: input.inheritedEnv.TMPDIR ?? '/tmp',
        signal: io.signal,
      });
    case 'git-backup':
      return runGitBackup(task, {
        repository,
        ...progress,
        log,
        warn,
        secrets: input.credentials.git ?? {},
        inheritedEnv: input.inheritedEnv,
        tempDir: input.inheritedEnv.TMPDIR ?? '/tmp',
        signal: io.signal,
      });
    case 'bucket-backup':
    case 'bucket-restore': {
      const bucketSteps = {
        repository,
        ...progress,
        log,
        warn,
        tempDir: input.inheritedEnv.TMPDIR ?? '/tmp',
        bucket: (source: BucketSource) => reachBucket(source, input, io),
      };
      return task.kind === 'bucket-backup' ? runBucketBackup(task, bucketSteps) : runBucketRestore(task, bucketSteps);
    }
  }
}

/** The bucket with the keys of the run's Secret; a Failure naming the variables when they are empty. */
function reachBucket(source: BucketSource, input: MoverInput, io: MoverIo): BucketClient | Failure {
  const { accessKeyId, secretAccessKey } = input.credentials.bucket ?? {};
  if (accessKeyId === undefined || accessKeyId === '' || secretAccessKey === undefined || secretAccessKey === '') {
    return {
      type: 'error',
      code: 'WrongCredentials',
      message: `the S3 keys of bucket ${source.name} are empty: the run's Secret must hold ${moverEnv.bucketAccessKeyId} and ${moverEnv.bucketSecretAccessKey}`,
    };
  }
  return bucketClient(source, {
    accessKeyId,
    secretAccessKey,
    now: () => new Date(io.nowMs()),
    signal: io.signal,
    caFile: input.inheritedEnv.SSL_CERT_FILE,
  });
}

/** The result as the protocol has it: a Failure becomes the MoverError the controller reads. */
function moverResult(result: MoverResult | Failure): MoverResult {
  return result.type === 'error' ? moverError(result) : result;
}

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

/** The engine's words reach the result in error messages and in what maintenance found; none may carry a secret. */
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
