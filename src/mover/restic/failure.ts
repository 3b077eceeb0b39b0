// Why a restic command failed, from its exit code and what it printed, as the
// Failure the mover reports: each message says what to fix. Exit codes
// are restic 0.17+'s: 10 no repository, 11 locked, 12 wrong password.
import type { RepositoryTarget } from '../../api/index.ts';
import type { Failure, FailureCode } from '../failure.ts';
import { someOf, type ResticLine } from './output.ts';
import type { ResticExit } from './process.ts';

export interface ResticFailure {
  exitCode: number | null;
  /** What restic said, oldest first: exit_error and error messages and plain stderr lines. */
  messages: readonly string[];
  /** Set when the mover stopped restic because it kept retrying past the mover's own limit. */
  gaveUpAfterSeconds?: number | undefined;
  /** Set when restic was stopped by a signal to the mover (the Job was deleted or hit its deadline). */
  interrupted?: boolean | undefined;
}

export interface RepositoryNames {
  url: string;
  /** The S3 endpoint, for S3 repositories. */
  endpoint?: string | undefined;
  /** Why the mover did not create a missing repository, and what to check. */
  notCreated?: string | undefined;
  /** Where the password and S3 keys come from, in the user's words (from the task). */
  source?: RepositoryTarget['source'];
  /** The endpoint answered (the probe, or an earlier restic command), so silence is a stall, not the network. */
  reached?: boolean | undefined;
}

const wrongPassword = /wrong password or no key found/i;
const locked = /repository is already locked/i;
const unknownKey = /InvalidAccessKeyId|Access Key Id you provided does not exist/i;
const wrongSecret = /SignatureDoesNotMatch|signature we calculated does not match/i;
const denied = /AccessDenied|Access Denied|Forbidden|ExpiredToken/i;
// The connection itself failed: DNS, routing, a closed port, a firewall dropping the dial.
const unreachable =
  /connection refused|no such host|dial tcp[^\n]*i\/o timeout|TLS handshake timeout|network is unreachable|no route to host|connection reset|server misbehaving/i;
// Connected, but the request never completed: an S3 service whose storage stalls (a full Ceph cluster).
const stalled =
  /stuck request|context deadline exceeded|i\/o timeout|timeout awaiting response headers|Client\.Timeout/i;
const halfInitialized = /repository already contains keys/i;
const noRepository = /repository does not exist/i;
const noBucket = /bucket does not exist|NoSuchBucket/i;
const retrying = /returned error, retrying after/i;
// restore --verify found a restored file other than the backup recorded (restic's VerifyFiles).
const readBackDiffers =
  /Invalid file size for|Unexpected content in|Unable to fetch blob|Expected .+ to be a regular file/i;
// Stored data that fails its checks when read: a damaged or cut pack.
const damagedData =
  /ciphertext verification failed|hash mismatch|decryption failed|decompression failed|file is too short/i;
const shownChars = 240;

/** Whether restic's words say stored data failed its checks when read (a damaged or cut pack). */
export function isDamagedData(text: string): boolean {
  return damagedData.test(text);
}

// Lines restic adds around the reason, which say nothing about it.
const noise = [
  /^Is there a repository at the following location\?$/,
  /^(s3|rest|b2|azure|gs|sftp|swift|rclone):\S*$/,
  /signal \w+ received, cleaning up/,
  /context canceled/,
  /^the `unlock` command can be used/,
];

/** The line of restic's output that best says what went wrong, without restic's decorations. */
export function failureReason(messages: readonly string[]): string | undefined {
  let reason: string | undefined;
  for (const message of messages) {
    const line = message
      .split('\n')
      .map(clean)
      .find((l) => l !== '' && !noise.some((pattern) => pattern.test(l)));
    if (line !== undefined) reason = line;
  }
  return reason;
}

function clean(line: string): string {
  return line
    .replace(/^Fatal: /, '')
    .replace(/^\S+\(.*?\) returned error, retrying after [^:]+: /, '')
    .trim();
}

export function classifyFailure(failure: ResticFailure, repository: RepositoryNames): Failure {
  const { exitCode, messages } = failure;
  const all = messages.join('\n');
  const reason = failureReason(messages);
  const endpoint = repository.endpoint ?? repository.url;
  const error = (code: FailureCode, message: string): Failure => ({ type: 'error', code, message });

  const source = repository.source;
  if (exitCode === 12 || wrongPassword.test(all)) {
    const from = source?.password ?? "the BackupRepository's spec.password Secret (or its generated key Secret)";
    return error(
      'WrongPassword',
      `the password from ${from} does not open the restic repository ${repository.url}: it must be the password the repository was created with; put that password back there${source === undefined ? '' : ` (or point ${source.repository} spec.password at a Secret that holds it)`}, or give the BackupRepository a prefix where no repository exists yet`,
    );
  }
  if (exitCode === 11 || locked.test(all)) {
    const holder = /already locked (?:exclusively )?by (.+)/i.exec(all)?.[1];
    const since = /lock was created at (.+)/i.exec(all)?.[1];
    const who =
      holder === undefined
        ? ''
        : ` (PID ${holder.replace(/^PID /, '')}${since === undefined ? '' : `, since ${since}`})`;
    return error(
      'RepositoryLocked',
      `${repository.url} is locked by another restic process${who}: wait for it (a prune or check) to finish; a lock whose holder is gone turns stale after 30 minutes and the next run removes it`,
    );
  }
  const rejected = unknownKey.test(all)
    ? 'it does not know the access key'
    : wrongSecret.test(all)
      ? 'the secret key does not match the access key'
      : denied.test(all)
        ? 'access denied'
        : undefined;
  if (rejected !== undefined) {
    return error(
      'WrongCredentials',
      `S3 rejected the access key for ${repository.url} (${rejected}): check ${source?.s3Keys ?? "the BackupRepository's spec.s3.accessKeyId and spec.s3.secretAccessKey Secrets"}, and that the key may use the bucket`,
    );
  }
  const silence = failure.gaveUpAfterSeconds !== undefined && reason === undefined;
  if (unreachable.test(all) || (silence && repository.reached !== true)) {
    return unreachableError(endpoint, reason, source);
  }
  if (stalled.test(all) || silence) {
    return stalledError(endpoint, reason ?? `no answer within ${failure.gaveUpAfterSeconds ?? 0} s`);
  }
  if (halfInitialized.test(all)) return incompleteError(repository.url);
  if (repositoryMissing({ exitCode, messages })) {
    return error(
      'EngineFailed',
      `there is no restic repository at ${repository.url} and ${repository.notCreated ?? 'the task does not allow creating one: check the URL, or set initialize'}`,
    );
  }
  if (failure.interrupted === true || exitCode === 130) {
    return error(
      'Interrupted',
      'restic was stopped by a signal to the mover: its Pod was deleted, evicted or reached its deadline',
    );
  }
  const detail = reason ?? 'it printed no reason';
  if (failure.gaveUpAfterSeconds !== undefined) {
    return error('EngineFailed', `restic was still retrying after ${failure.gaveUpAfterSeconds} s: ${detail}`);
  }
  return error('EngineFailed', `restic failed${exitCode === null ? '' : ` (exit code ${exitCode})`}: ${detail}`);
}

/** The endpoint cannot be connected to at all. */
export function unreachableError(
  endpoint: string,
  reason: string | undefined,
  source: RepositoryTarget['source'],
): Failure {
  return {
    type: 'error',
    code: 'RepositoryUnreachable',
    message: `cannot connect to ${endpoint}${reason === undefined ? '' : ` (${reason})`}: check ${source === undefined ? "the BackupRepository's" : source.repository} spec.s3.endpoint, and that the mover's network can reach it (DNS, NetworkPolicy, firewall)`,
  };
}

/** The endpoint accepts connections but does not finish requests: its storage, not the network. */
export function stalledError(endpoint: string, reason: string): Failure {
  return {
    type: 'error',
    code: 'RepositoryStalled',
    message: `${endpoint} accepts connections but does not complete requests (${reason}): the S3 service or the storage behind it is stuck, not the network; check its health (on Ceph: \`ceph health detail\` for full OSDs or pools, and the radosgw log), then run the backup again`,
  };
}

/** A restic repository with keys but no config: an init that was interrupted, or a config that was deleted. */
export function incompleteError(url: string, why?: string): Failure {
  const keys = s3Folder(url, 'keys');
  return {
    type: 'error',
    code: 'RepositoryIncomplete',
    message: `the restic repository ${url} has keys but no config: an earlier \`restic init\` was interrupted, or the config object was deleted${why === undefined ? '' : ` (${why})`}. If it holds no backups (nothing under its snapshots/ and data/), delete its keys/ folder (${keys === undefined ? 'keys/' : `aws s3 rm --recursive ${keys}`}) and the next backup creates the repository again; if it holds backups, restore its config object from the bucket's object versions`,
  };
}

/** s3://bucket/prefix/<folder>/ of an s3: repository URL, for a command to paste. */
function s3Folder(url: string, folder: string): string | undefined {
  const match = /^s3:(?:https?:\/\/)?[^/]+\/(.+?)\/*$/.exec(url);
  return match?.[1] === undefined ? undefined : `s3://${match[1]}/${folder}/`;
}

/** restic init found keys but no config: an init cut short, or a config deleted. */
export function keysWithoutConfig(messages: readonly string[]): boolean {
  return halfInitialized.test(messages.join('\n'));
}

/** A line in which restic says it is retrying a backend error. */
export function isRetrying(text: string): boolean {
  return retrying.test(text);
}

/** restic found no repository: exit code 10, or a missing bucket it was retrying. */
export function repositoryMissing(exit: { exitCode: number | null; messages: readonly string[] }): boolean {
  const all = exit.messages.join('\n');
  return exit.exitCode === 10 || noRepository.test(all) || noBucket.test(all);
}

/**
 * A backend error restic is retrying that retrying cannot fix: it would go on
 * for 15 minutes. Without a region restic asks for the bucket's location
 * first, and retries both a missing bucket and rejected keys.
 */
export function retryCannotHelp(line: ResticLine): boolean {
  if (line.kind !== 'text' || !retrying.test(line.text)) return false;
  return [noBucket, unknownKey, wrongSecret, denied].some((pattern) => pattern.test(line.text));
}

/** The Failure for a restic command that did not succeed. */
export function resticError(exit: ResticExit, repository: RepositoryNames, timeoutMs?: number): Failure {
  if (exit.notReady !== undefined) return exit.notReady;
  if (exit.spawnError !== undefined) {
    return {
      type: 'error',
      code: 'EngineFailed',
      message: `cannot start restic (${exit.spawnError}): the mover image needs restic on PATH, or SAFEHOLD_RESTIC naming it`,
    };
  }
  return classifyFailure(
    {
      exitCode: exit.exitCode,
      messages: exit.messages,
      gaveUpAfterSeconds:
        exit.stopped === 'timeout' && timeoutMs !== undefined ? Math.round(timeoutMs / 1000) : undefined,
      interrupted: exit.stopped === 'signal',
    },
    repository,
  );
}

/**
 * A restore drill's failure (Unverified) from what restic said: the entries it could not restore
 * or verify (`item: message`) and its last messages; undefined when none is about the backup's
 * data. Data restic cannot read fails a drill too: finding that is what a drill is for.
 */
export function unverifiedError(failures: readonly string[], messages: readonly string[]): Failure | undefined {
  const matching = (pattern: RegExp, texts: readonly string[]) => [
    ...new Set(texts.filter((text) => pattern.test(text)).map(clip)),
  ];
  const damaged = matching(damagedData, failures);
  const said = damaged.length > 0 ? damaged : matching(damagedData, messages);
  if (said.length > 0) {
    return {
      type: 'error',
      code: 'Unverified',
      message: `restic cannot read all of the backup (${someOf(said, 3)}): the repository holds damaged data, which no restore brings back; run a repository check that reads all data to find what else is damaged, and take a new backup of the volume`,
    };
  }
  const differs = matching(readBackDiffers, failures);
  if (differs.length > 0) {
    return {
      type: 'error',
      code: 'Unverified',
      message: `restic read back restored files that differ from the backup (${someOf(differs, 3)}): the target's storage did not keep what was written, or something wrote to the target during the restore; run the drill again, and check that storage if it repeats`,
    };
  }
  return undefined;
}

/** The text, its middle left out when long: the item comes first, restic's reason last. */
function clip(text: string): string {
  const head = shownChars / 3;
  return text.length > shownChars ? `${text.slice(0, head)}…${text.slice(head - shownChars)}` : text;
}
