// BackupRepository (cluster-scoped): a repository (restic's format) on S3 (or one per
// namespace, with {namespace} in the prefix), where its credentials and its
// password live, how each volume appears in it, and when it is maintained.
import { z } from 'zod';
import { condition } from './conditions.ts';
import { cronField, timeZoneField } from './cron.ts';

const secretKeyRef = (defaultKey: string) =>
  z.object({
    namespace: z
      .string()
      .min(1)
      .describe("The Secret's namespace; the chart lets Safehold read Secrets only in its own."),
    name: z.string().min(1).describe("The Secret's name."),
    key: z.string().min(1).default(defaultKey).describe('The key in the Secret.'),
  });

/** The repository formats Safehold writes; a repository's snapshot ids are in its engine's format. */
export const repositoryEngines = ['restic'] as const;
export type RepositoryEngineName = (typeof repositoryEngines)[number];

/** How backups compress what they store (BackupRepository spec.compression). */
export const compressionModes = ['auto', 'off', 'max'] as const;
export type CompressionMode = (typeof compressionModes)[number];

export const backupRepositorySpec = z.object({
  engine: z
    .enum(repositoryEngines)
    .default('restic')
    .describe(
      "The repository's format. Recorded here once: the snapshot ids in VolumeBackups and VolumeHistories are this engine's.",
    ),
  compression: z
    .enum(compressionModes)
    .default('auto')
    .describe(
      "How backups compress what they store. auto: each volume backup compresses a sample of the volume's files first, and compresses the data (restic's fast level) only when the sample shrinks by a tenth or more; random, already compressed or encrypted data is stored as it is, which saves the CPU that would gain nothing (a block volume's image is always compressed). off: never. max: always, at the strongest level (slower, smaller). Only what is stored changes, never what is restored.",
    ),
  verifyBeforeUpload: z
    .boolean()
    .default(true)
    .describe(
      'true: before a backup uploads a piece of data, the engine decrypts it again and checks it against its hash (restic does this by default), so a bit flipped in memory or by a faulty CPU fails the backup instead of storing a piece that cannot be restored. false: about a tenth less CPU per byte backed up (2 GiB of random data: 21 s instead of 23.5 s here), and such a fault is found only when the piece is read: by a restore or by a check that reads data (maintenance.check.readDataSubset). This is what kopia does. Leave it true unless the hardware has ECC memory and backups are short of CPU.',
    ),
  s3: z
    .object({
      endpoint: z.url().describe('e.g. http://rgw.storage.svc:7480 or https://s3.eu-central-1.amazonaws.com'),
      bucket: z.string().min(3).max(63).describe('The S3 bucket.'),
      prefix: z.string().optional().describe('Path inside the bucket; {namespace} makes one repository per namespace.'),
      region: z.string().default('us-east-1').describe('The S3 region.'),
      publicEndpoint: z
        .url()
        .optional()
        .describe(
          'The endpoint as users outside the cluster reach it, for the download URLs of `safehold ls` and `safehold dump` (default: endpoint).',
        ),
      accessKeyId: secretKeyRef('AWS_ACCESS_KEY_ID').describe('The Secret key holding the S3 access key id.'),
      secretAccessKey: secretKeyRef('AWS_SECRET_ACCESS_KEY').describe('The Secret key holding the S3 secret key.'),
    })
    .describe('The S3 bucket and the credentials to reach it.'),
  password: secretKeyRef('password')
    .optional()
    .describe(
      'The restic repository password. Leave it out and Safehold generates a random one per repository (per namespace with {namespace} in the prefix), kept in its own namespace.',
    ),
  ceph: z
    .object({
      monitors: z.array(z.string().min(1)).min(1).describe('The Ceph monitors, host:port.'),
      user: z
        .string()
        .min(1)
        .default('admin')
        .describe('The Ceph user, without "client."; read access to RBD suffices (profile rbd-read-only).'),
      key: secretKeyRef('userKey').describe("The Secret holding the user's key (ceph-csi names it userKey)."),
      clusterID: z
        .string()
        .optional()
        .describe('Only RBD volumes whose PV names this ceph-csi clusterID use it (default: every RBD volume).'),
    })
    .optional()
    .describe(
      'Ceph access for block volumes on RBD: the mover reads only allocated ranges (`rbd diff`) and can back up incrementally against a kept snapshot.',
    ),
  hostTemplate: z
    .string()
    .default('k8s-{namespace}-nspvc-{pvc}')
    .describe('The restic --host of each volume; {namespace} and {pvc} are replaced.'),
  maxConcurrentMovers: z
    .int()
    .min(1)
    .optional()
    .describe(
      "At most this many backups write to this repository at once; wins over a policy's concurrency.perRepository.",
    ),
  maintenance: z
    .object({
      prune: z
        .object({
          cron: cronField().default('0 3 * * 0').describe('When forget and prune start.'),
          timeZone: timeZoneField().default('UTC').describe('The IANA time zone of cron.'),
        })
        .default({ cron: '0 3 * * 0', timeZone: 'UTC' })
        .describe('Forget what retention drops, then prune. Backups to the repository wait while it runs.'),
      check: z
        .object({
          cron: cronField().default('0 5 * * 0').describe('When restic check starts.'),
          timeZone: timeZoneField().default('UTC').describe('The IANA time zone of cron.'),
          readDataSubset: z
            .string()
            .regex(/^([0-9]+(\.[0-9]+)?%|[0-9]+\/[0-9]+|[0-9]+[KMGT]?)$/, 'like 5%, 1/10 or 500M')
            .default('5%')
            .describe('How much pack data each check reads and verifies, as restic --read-data-subset takes it.'),
          rollingSlices: z
            .int()
            .min(2)
            .max(1000)
            .optional()
            .describe(
              'Instead of readDataSubset: each check reads the next of this many slices of the pack data (restic --read-data-subset n/N), so every pack, new ones included, is read once every N checks (weekly checks and 4: every pack every four weeks).',
            ),
        })
        .default({ cron: '0 5 * * 0', timeZone: 'UTC', readDataSubset: '5%' })
        .describe('restic check of the repository, reading a subset of its data.'),
    })
    .default({
      prune: { cron: '0 3 * * 0', timeZone: 'UTC' },
      check: { cron: '0 5 * * 0', timeZone: 'UTC', readDataSubset: '5%' },
    })
    .describe("When the repository (each namespace's, for a per-namespace one) is pruned and checked."),
});

/** What the last maintenance of one restic repository (one tenant's, for per-namespace repositories) found. */
export const tenantHealth = z.object({
  tenant: z.string().describe('The namespace of a per-namespace repository; empty for a shared one.'),
  lastForgetTime: z.string().optional(),
  lastPruneTime: z.string().optional(),
  lastCheckTime: z.string().optional(),
  checkOk: z.boolean().optional(),
  checkMessage: z.string().optional(),
  lastReadDataSubset: z
    .string()
    .optional()
    .describe(
      'The slice of pack data the last check that ran to its end read ("3/12"): the next rolling check reads the one after.',
    ),
  snapshots: z.int().optional(),
  bytes: z.number().optional(),
});

/**
 * The reasons of a BackupRepository's Ready condition, from its periodic probe: Ready and
 * NotInitialised (the first backup creates it) are Ready=True; the rest say what to fix.
 */
export const repositoryReadyReasons = [
  'Ready',
  'NotInitialised',
  'SecretNotFound',
  'EndpointUnreachable',
  'CredentialsRejected',
  'BucketMissing',
  'WrongPassword',
  'ProbeFailed',
] as const;
export type RepositoryReadyReason = (typeof repositoryReadyReasons)[number];

export const backupRepositoryStatus = z.object({
  conditions: z.array(condition).optional(),
  lastProbeTime: z
    .string()
    .optional()
    .describe('When Safehold last checked that the bucket is reachable and the password opens the repository.'),
  lastBackupTime: z.string().optional(),
  tenants: z.array(tenantHealth).optional(),
});

export type BackupRepositorySpec = z.infer<typeof backupRepositorySpec>;
export type BackupRepositoryStatus = z.infer<typeof backupRepositoryStatus>;
export type TenantHealth = z.infer<typeof tenantHealth>;

export interface BackupRepository {
  metadata: { name: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; generation?: number };
  spec: BackupRepositorySpec;
  status?: BackupRepositoryStatus;
}

/** The restic repository URL for one namespace's volumes. */
export function repositoryUrl(spec: BackupRepositorySpec, namespace: string): string {
  const endpoint = spec.s3.endpoint.replace(/\/+$/, '');
  const prefix = (spec.s3.prefix ?? '').replaceAll('{namespace}', namespace).replace(/^\/+|\/+$/g, '');
  return `s3:${endpoint}/${spec.s3.bucket}${prefix === '' ? '' : `/${prefix}`}`;
}

export function resticHost(spec: BackupRepositorySpec, namespace: string, pvc: string): string {
  return spec.hostTemplate.replaceAll('{namespace}', namespace).replaceAll('{pvc}', pvc);
}

/** Whether each namespace gets a restic repository (and a password) of its own. */
export function isPerNamespace(spec: BackupRepositorySpec): boolean {
  return (spec.s3.prefix ?? '').includes('{namespace}');
}

/** The tenant a namespace's backups belong to in this repository: the namespace, or '' when shared. */
export function tenantOf(spec: BackupRepositorySpec, namespace: string): string {
  return isPerNamespace(spec) ? namespace : '';
}
