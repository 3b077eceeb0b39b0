// Whether a BackupRepository can be used, before any backup finds out: when
// to probe it, and what its Ready condition says about what a probe found.
// A probe runs when the spec changed since the last one (generation) and
// otherwise every `probeIntervalMs`, every minute while the repository is not
// Ready (so a bucket created or a Secret fixed shows soon); each finding names
// the spec field to fix.
import type { BackupRepository, BackupRepositoryStatus, RepositoryReadyReason } from '../api/index.ts';

export const probeIntervalMs = 10 * 60_000;
export const notReadyProbeIntervalMs = 60_000;

/** What one probe found, from the first thing that stands in the way. */
export type ProbeFinding =
  | { kind: 'opened' }
  | { kind: 'not-initialised'; location: string }
  | { kind: 'per-namespace'; location: string }
  | { kind: 'secret-missing'; detail: string }
  | { kind: 'unreachable'; endpoint: string; detail: string }
  | { kind: 'credentials-rejected'; code: string }
  | { kind: 'bucket-missing'; bucket: string }
  | { kind: 'wrong-password'; location: string; keys: number; generated: boolean }
  | { kind: 'no-key'; location: string; secret: string }
  | { kind: 'unexpected'; detail: string };

export interface ReadyCondition {
  type: 'Ready';
  status: 'True' | 'False';
  reason: RepositoryReadyReason;
  message: string;
  observedGeneration?: number;
}

/** When the repository is next probed: now when its spec changed or it was never probed. */
export function nextProbe(
  repository: Pick<BackupRepository, 'metadata'> & { status?: BackupRepositoryStatus },
  now: Date,
): Date {
  const ready = repository.status?.conditions?.find((c) => c.type === 'Ready');
  const last = Date.parse(repository.status?.lastProbeTime ?? '');
  if (ready === undefined || Number.isNaN(last)) return now;
  if (repository.metadata.generation !== undefined && ready.observedGeneration !== repository.metadata.generation)
    return now;
  const interval = ready.status === 'True' ? probeIntervalMs : notReadyProbeIntervalMs;
  return new Date(Math.min(last + interval, now.getTime() + interval));
}

/** The S3 error codes that mean the keys themselves are refused. */
const rejectedCodes = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken']);

/** What an S3 answer to a listing of the bucket means: the bucket is there, or what is wrong. */
export function listingFinding(
  answer: { status: number; code: string | undefined },
  bucket: string,
): ProbeFinding | undefined {
  if (answer.status === 200) return undefined;
  if (answer.code === 'NoSuchBucket') return { kind: 'bucket-missing', bucket };
  if (answer.code === 'RequestTimeTooSkewed')
    return {
      kind: 'unexpected',
      detail: "S3 says the operator's clock is too far from its own (RequestTimeTooSkewed)",
    };
  if (answer.code !== undefined && rejectedCodes.has(answer.code))
    return { kind: 'credentials-rejected', code: answer.code };
  if (answer.status === 403) return { kind: 'credentials-rejected', code: answer.code ?? 'HTTP 403' };
  return {
    kind: 'unexpected',
    detail: `listing bucket ${bucket} answered HTTP ${answer.status}${answer.code === undefined ? '' : ` ${answer.code}`}`,
  };
}

/** The Ready condition for what a probe found; its message says which spec field to look at. */
export function readyCondition(finding: ProbeFinding, generation: number | undefined): ReadyCondition {
  const condition = (status: 'True' | 'False', reason: RepositoryReadyReason, message: string): ReadyCondition => ({
    type: 'Ready',
    status,
    reason,
    message,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  });
  switch (finding.kind) {
    case 'opened':
      return condition('True', 'Ready', 'the bucket is reachable and the password opens the repository');
    case 'not-initialised':
      return condition(
        'True',
        'NotInitialised',
        `the bucket is reachable and holds no repository at ${finding.location} yet: the first backup creates it (if you expected an existing repository, check spec.s3.prefix)`,
      );
    case 'per-namespace':
      return condition(
        'True',
        'Ready',
        `the bucket is reachable; each namespace's repository under ${finding.location} is opened by its own backups`,
      );
    case 'secret-missing':
      return condition('False', 'SecretNotFound', finding.detail);
    case 'unreachable':
      return condition(
        'False',
        'EndpointUnreachable',
        `cannot reach ${finding.endpoint} (${finding.detail}): check spec.s3.endpoint and that the cluster can reach it`,
      );
    case 'credentials-rejected':
      return condition(
        'False',
        'CredentialsRejected',
        `S3 refused the access key (${finding.code}): check the Secrets named by spec.s3.accessKeyId and spec.s3.secretAccessKey`,
      );
    case 'bucket-missing':
      return condition(
        'False',
        'BucketMissing',
        `bucket ${finding.bucket} does not exist: create it, or fix spec.s3.bucket (the first backup tries to create it, which only keys allowed to create buckets can)`,
      );
    case 'wrong-password':
      return condition(
        'False',
        'WrongPassword',
        `none of the ${finding.keys} keys of the repository at ${finding.location} opens with ${finding.generated ? 'the password Safehold generated for it (was the key Secret replaced?)' : 'the password in spec.password'}: set spec.password to the repository's password, or spec.s3.prefix to another repository`,
      );
    case 'no-key':
      return condition(
        'False',
        'WrongPassword',
        `a repository already exists at ${finding.location}, and Safehold has no password for it (Secret ${finding.secret} not found): set spec.password to its password, or spec.s3.prefix to a new place`,
      );
    case 'unexpected':
      return condition('False', 'ProbeFailed', `${finding.detail}: check spec.s3.endpoint and spec.s3.region`);
  }
}
