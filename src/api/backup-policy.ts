// BackupPolicy (cluster-scoped): which volumes are protected, when, how, where
// to, and for how long. Validation that the API server can do is here, as
// schema and CEL rules, so a bad policy is refused with a message naming the
// field before Safehold sees it.
import { z } from 'zod';
import { policyHooks } from './hooks.ts';
import { condition } from './conditions.ts';
import { cronField, timeZoneField } from './cron.ts';
import { duration } from './duration.ts';
import { etcdSource } from './etcd-source.ts';
import { labelSelector } from './label-selector.ts';
import { bucketName, s3Endpoint } from './bucket-protocol.ts';
import { drillCommand } from './restore-drill.ts';
import { captureMethods, changeDetectionModes } from './volume-backup.ts';

const count = z.int().min(0).max(100_000);

export const workloadRef = z.object({
  namespace: z.string().min(1).describe("The workload's namespace."),
  kind: z.enum(['Deployment', 'StatefulSet']),
  name: z.string().min(1).describe("The Deployment's or StatefulSet's name."),
});

export const policySelector = z.object({
  namespaceSelector: labelSelector.optional().describe('Namespaces whose labels match.'),
  pvcSelector: labelSelector.optional().describe('PVCs whose labels match.'),
  pvSelector: labelSelector
    .optional()
    .describe('PVCs whose bound PV has matching labels (e.g. backup-cephfs-volumes.cern.ch/backup=true).'),
  storageClasses: z.array(z.string().min(1)).optional().describe('PVCs of these storage classes.'),
  workloads: z.array(workloadRef).optional().describe('PVCs mounted by the Pods of these Deployments or StatefulSets.'),
});

export const schedule = z.object({
  cron: cronField()
    .default('0 2 * * *')
    .describe(
      'When backups start: five cron fields (minute hour day-of-month month day-of-week) or a macro like @daily.',
    ),
  timeZone: timeZoneField()
    .default('UTC')
    .describe('The IANA time zone of cron, and of the days, weeks and months that retention counts.'),
  spreadWindow: duration
    .default('1h')
    .describe('Each volume starts at a stable offset inside this window after the cron time.'),
});

export const retention = z.object({
  keepLast: count.optional().describe('Keep the newest N backups.'),
  keepHourly: count.optional().describe('Keep the newest backup of each of the last N hours that have backups.'),
  keepDaily: count.optional().describe('Keep the newest backup of each of the last N days that have backups.'),
  keepWeekly: count.optional().describe('Keep the newest backup of each of the last N ISO weeks that have backups.'),
  keepMonthly: count.optional().describe('Keep the newest backup of each of the last N months that have backups.'),
  keepYearly: count.optional().describe('Keep the newest backup of each of the last N years that have backups.'),
  keepWithin: duration.optional().describe('Keep every backup taken less than this long before the newest one.'),
  forgetArgs: z
    .array(z.string())
    .optional()
    .describe('Raw restic forget arguments (e.g. ["--keep-daily", "7"]), used instead of the keep* fields.'),
  orphanGracePeriod: duration
    .default('30d')
    .describe('Backups of a deleted PVC are all kept this long after Safehold saw it gone; then the rules apply.'),
});

/** A policy's objects dumps: each namespace it protects volumes in gets one, on this schedule. */
export const policyObjects = z.object({
  schedule: schedule.optional().describe("When the objects are stored; the policy's schedule by default."),
  retention: retention.optional().describe("Which objects dumps are kept; the policy's retention by default."),
  excludeKinds: z
    .array(z.string().min(1))
    .optional()
    .describe('Kinds left out, as Kind or Kind.group (e.g. ConfigMap, Certificate.cert-manager.io).'),
  cluster: z
    .boolean()
    .default(false)
    .describe(
      "Also the cluster-scoped objects (CRDs, ClusterRoles, StorageClasses, PersistentVolumes, ...), in Safehold's namespace (ApplicationDump safehold-cluster-objects).",
    ),
});

/** A policy's buckets: every bucket of an in-cluster object store, found through its admin API. */
export const policyBuckets = z.object({
  endpoint: s3Endpoint.describe(
    "The object store's S3 endpoint, which also serves its admin API (radosgw: /admin), e.g. http://rook-ceph-rgw-store.rook-ceph:80.",
  ),
  region: z.string().min(1).default('us-east-1').describe('The S3 region signatures name.'),
  adminSecretRef: z
    .object({ name: z.string().min(1) })
    .describe(
      "A Secret in Safehold's namespace with accessKeyId and secretAccessKey of an object store user with the admin caps buckets=read and users=read (radosgw-admin caps add --uid U --caps 'buckets=read;users=read'): Safehold lists the buckets with it and reads each owner's keys to put the read grant in the bucket's policy.",
    ),
  readerSecretRef: z
    .object({ name: z.string().min(1) })
    .describe(
      "A Secret in Safehold's namespace with accessKeyId and secretAccessKey of the user the backups read with: Safehold grants it list and read on every bucket it covers, in the bucket's policy (statement SafeholdBackupRead), and nothing else.",
    ),
  owners: z
    .array(z.string().min(1))
    .optional()
    .describe(
      'Only the buckets of these object store users (e.g. the users a provisioner makes for ObjectBucketClaims); the others are shown as excluded. All buckets when left out.',
    ),
  exclude: z
    .array(bucketName)
    .optional()
    .describe(
      'Buckets left out (shown as excluded). A bucket of an ObjectBucketClaim annotated safehold.io/backup: "false" is left out too.',
    ),
  discoveryInterval: duration
    .default('1m')
    .describe('How often the bucket list is read: a bucket created later is covered within one interval.'),
  schedule: schedule.optional().describe("When the buckets are backed up; the policy's schedule by default."),
  retention: retention.optional().describe("Which bucket backups are kept; the policy's retention by default."),
});

/** A policy's Git dumps: every Flux GitRepository, and more repositories by URL. */
export const policyGit = z.object({
  flux: z.boolean().default(true).describe('Every Flux GitRepository (source.toolkit.fluxcd.io), with its own Secret.'),
  urls: z
    .array(
      z.object({
        name: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, 'a short DNS label (e.g. infra)')
          .describe("Names the dump: safehold-git-<name>, in Safehold's namespace."),
        url: z
          .string()
          .min(1)
          .describe('The repository: https://, http://, ssh://, user@host:path (no password in it).'),
        secretRef: z
          .object({ name: z.string().min(1) })
          .optional()
          .describe("A Secret in Safehold's namespace: username and password, or identity and known_hosts."),
      }),
    )
    .optional()
    .describe('More repositories, by URL.'),
  schedule: schedule.optional().describe("When they are mirrored; the policy's schedule by default."),
  retention: retention.optional().describe("Which bundles are kept; the policy's retention by default."),
});

/** A policy's etcd snapshots: where etcd and its certificates are (kubeadm's layout by default), when, and how many are kept. */
export const policyEtcd = etcdSource.extend({
  schedule: schedule.optional().describe("When etcd is snapshotted; the policy's schedule by default."),
  retention: retention.optional().describe("Which etcd snapshots are kept; the policy's retention by default."),
});

export const defaultRetention = { keepDaily: 7, keepWeekly: 4, keepMonthly: 3, orphanGracePeriod: '30d' };

export const concurrency = z.object({
  global: z
    .int()
    .min(1)
    .optional()
    .describe(
      "A backup of this policy starts only while fewer backups than this run cluster-wide. It may only lower the operator's --max-concurrent-movers, which stays the ceiling.",
    ),
  perNode: z
    .int()
    .min(1)
    .optional()
    .describe(
      'A live backup of this policy starts only while fewer live backups than this run on its node (snapshot runs have no node).',
    ),
  perRepository: z
    .int()
    .min(1)
    .optional()
    .describe(
      "A backup of this policy starts only while fewer backups than this write to its repository; the repository's maxConcurrentMovers wins when set.",
    ),
});

export const retry = z.object({
  limit: z
    .int()
    .min(0)
    .max(100)
    .default(6)
    .describe('Retries after failed attempts, with growing delays (at most limit + 1 attempts).'),
  deadline: duration
    .default('4h')
    .describe('A run fails when it has not succeeded this long after its VolumeBackup was created.'),
});

export const annotationAliases = z.object({
  annotations: z
    .array(z.string().min(1))
    .optional()
    .describe('Annotation keys read like safehold.io/backup (e.g. cephbackup.hpc.nyu.edu/backup).'),
  labels: z.array(z.string().min(1)).optional().describe('Label keys read like safehold.io/backup.'),
});

const selectsSomething =
  'has(self.selector) && (has(self.selector.namespaceSelector) || has(self.selector.pvcSelector) || has(self.selector.pvSelector) || has(self.selector.storageClasses) || has(self.selector.workloads))';

export const drillSchedule = z.object({
  cron: cronField().describe('When drills start (cron, five fields), in timeZone.'),
  timeZone: timeZoneField().default('UTC'),
  window: duration
    .default('30d')
    .describe(
      'Every protected volume is proven at least this often: an alert fires for a volume whose last passing drill is older.',
    ),
  volumes: z
    .int()
    .min(1)
    .optional()
    .describe(
      'At most this many volumes are drilled per run, those proven longest ago first (never proven: first of all); by default every volume whose last drill would be older than the window before the next run.',
    ),
  storageClassName: z
    .string()
    .min(1)
    .optional()
    .describe("The scratch volumes' StorageClass; by default each volume's own."),
  command: drillCommand
    .optional()
    .describe(
      'A command run on the scratch volume after it read back as recorded; its exit code is the verdict (e.g. fsck -n "$SAFEHOLD_DRILL_DEVICE", or pg_amcheck after starting PostgreSQL on "$SAFEHOLD_DRILL_PATH").',
    ),
});

export const backupPolicySpec = z
  .object({
    default: z.boolean().default(false).describe('Protect every volume no other policy selects.'),
    priority: z
      .int()
      .min(0)
      .max(1000)
      .default(100)
      .describe('When several policies select a volume, the highest priority wins.'),
    selector: policySelector.optional().describe('The volumes this policy selects: every field given must match.'),
    aliases: annotationAliases
      .optional()
      .describe(
        "More keys read like safehold.io/backup, for sites migrating from scripts; every policy's aliases apply to every volume.",
      ),
    schedule: schedule
      .default({ cron: '0 2 * * *', timeZone: 'UTC', spreadWindow: '1h' })
      .describe('When backups run.'),
    changeDetection: z
      .enum(changeDetectionModes)
      .default('full')
      .describe(
        "How file backups tell changed files. full (default): size, mtime, ctime and inode, never missing a change; where a snapshot's clone is a copy (new inodes and ctimes), every file is read again. mtime-size: size and mtime only, much cheaper on such clones, but a file rewritten in place with the same size and mtime keeps its old content in the backup; opt in only where nothing does that.",
      ),
    method: z
      .enum(['auto', ...captureMethods])
      .default('auto')
      .describe(
        "How the data is captured. snapshot: a CSI VolumeSnapshot; live: the volume as it is, read-only; cephfs-snapshot: a CephFS .snap snapshot (static CephFS PVs); auto: snapshot when a VolumeSnapshotClass serves the volume's CSI driver, else live.",
      ),
    repository: z
      .object({ name: z.string().min(1).describe('The BackupRepository.') })
      .optional()
      .describe('Where backups go; may be left out when exactly one BackupRepository exists.'),
    retention: retention
      .default(defaultRetention)
      .describe("Which backups of each volume are kept; a volume's newest backup always is."),
    keepSnapshots: count
      .default(0)
      .describe(
        'In-cluster VolumeSnapshots kept per volume for fast restore; on RBD block volumes, also the base of the next incremental.',
      ),
    block: z
      .object({
        incremental: z
          .boolean()
          .default(true)
          .describe(
            'Back up RBD block volumes incrementally (rbd diff since the last kept snapshot, a QCOW2 overlay on its backup); needs keepSnapshots >= 1 and Ceph access on the repository.',
          ),
        maxChainLength: z
          .int()
          .min(1)
          .max(100)
          .default(7)
          .describe('At most this many images make up a restore: then the next backup is a full image again.'),
      })
      .default({ incremental: true, maxChainLength: 7 })
      .describe('Volumes with volumeMode: Block, backed up as QCOW2 images.'),
    concurrency: concurrency.optional().describe('Limits on backups running at once.'),
    retry: retry.default({ limit: 6, deadline: '4h' }).describe('How a failed run is retried.'),
    drill: drillSchedule
      .optional()
      .describe(
        "Restore drills: on this schedule, the volumes proven longest ago have their latest backup restored into a scratch volume in Safehold's namespace and read back against what the backup recorded (safehold verify does one now).",
      ),
    hooks: policyHooks
      .optional()
      .describe(
        "Commands run in the containers of the Pods that mount a volume: pre hooks before it is captured, post hooks as soon as it is. Pods may declare more with pre.hook.safehold.io/* annotations (Velero's pre.hook.backup.velero.io/* are read too).",
      ),
    git: policyGit
      .optional()
      .describe(
        "GitOps repositories: every Flux GitRepository (and each URL listed here) mirrored as one verified bundle on this schedule: Safehold keeps a Git dump (ApplicationDump safehold-git-<name>) beside each, into this policy's repository. The policy of highest priority with spec.git does.",
      ),
    buckets: policyBuckets
      .optional()
      .describe(
        "The object store's buckets: every bucket its admin API lists (those created later within one discovery interval), each backed up incrementally by a bucket dump (ApplicationDump safehold-bucket-<name> in Safehold's namespace) into this policy's repository, its reader granted read by the bucket's policy. The policy of highest priority with spec.buckets does.",
      ),
    objects: policyObjects
      .optional()
      .describe(
        "The API objects of the namespaces this policy protects volumes in (and those its namespaceSelector matches): Safehold keeps an objects dump (ApplicationDump safehold-objects) in each, into this policy's repository.",
      ),
    etcd: policyEtcd
      .optional()
      .describe(
        "The cluster's etcd (a kubeadm-style control plane, etcd's client certificates on its nodes): Safehold keeps an etcd dump (ApplicationDump safehold-etcd, in Safehold's namespace) on this schedule, into this policy's repository. The policy of highest priority with spec.etcd does.",
      ),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: `self.default || (${selectsSomething})`,
        message:
          'a policy that is not the default must select something: set selector.namespaceSelector, pvcSelector, pvSelector, storageClasses or workloads, or set default: true',
        fieldPath: '.selector',
        reason: 'FieldValueRequired',
      },
    ],
  });

export const bucketStates = ['Covered', 'Excluded', 'Uncovered'] as const;

/** What the last look at the object store found: each bucket, and whether Safehold could cover it. */
export const policyBucketsStatus = z.object({
  endpoint: z.string().optional(),
  discoveredAt: z.string().optional().describe('When the object store was last read.'),
  error: z.string().optional().describe('Why the object store could not be read at all (then no bucket is known).'),
  items: z
    .array(
      z.object({
        name: z.string(),
        owner: z.string().optional(),
        claim: z.string().optional().describe('The ObjectBucketClaim (namespace/name) the bucket is for, if any.'),
        state: z.enum(bucketStates),
        reason: z.string().optional().describe('Why it is excluded or uncovered.'),
      }),
    )
    .optional(),
});
export type PolicyBucketsStatus = z.infer<typeof policyBucketsStatus>;

export const backupPolicyStatus = z.object({
  observedGeneration: z.int().optional(),
  volumes: z
    .object({ protected: z.int(), excluded: z.int(), unprotected: z.int() })
    .optional()
    .describe('Volumes this policy protects, and cluster-wide counts of the others.'),
  buckets: policyBucketsStatus
    .optional()
    .describe("The buckets this policy's spec.buckets found, and whether each is covered (written by Safehold)."),
  conditions: z.array(condition).optional(),
});

export type BackupPolicySpec = z.infer<typeof backupPolicySpec>;
export type BackupPolicyStatus = z.infer<typeof backupPolicyStatus>;
export type Retention = z.infer<typeof retention>;
export type PolicySelector = z.infer<typeof policySelector>;
export type WorkloadRef = z.infer<typeof workloadRef>;

export interface BackupPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: BackupPolicySpec;
  status?: BackupPolicyStatus;
}

export interface ParsedPolicies {
  valid: BackupPolicy[];
  /** Policies whose spec the schema refuses, with what to fix; they are ignored, not guessed at. */
  invalid: { name: string; error: string }[];
}

export function parseBackupPolicies(
  raw: readonly { metadata?: { name?: string; generation?: number }; spec?: unknown }[],
): ParsedPolicies {
  const valid: BackupPolicy[] = [];
  const invalid: ParsedPolicies['invalid'] = [];
  for (const object of raw) {
    const name = object.metadata?.name ?? '';
    const parsed = backupPolicySpec.safeParse(object.spec ?? {});
    if (parsed.success) {
      valid.push({
        metadata: {
          name,
          ...(object.metadata?.generation === undefined ? {} : { generation: object.metadata.generation }),
        },
        spec: parsed.data,
      });
    } else {
      invalid.push({
        name,
        error: parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
      });
    }
  }
  return { valid, invalid };
}
