// Application dumps (ADR 0026). An ApplicationDump (namespaced, a tenant's to
// write) declares a command whose output is the application's backup
// (pg_dumpall, mysqldump --single-transaction, slapcat, redis-cli --rdb -):
// which Pod and container run it, the file it is stored as, its schedule and
// retention, and the volumes it protects. Each run of it is a DumpRun: the
// command runs in the application's container, with the container's own
// credentials, and its output streams through the operator into a mover,
// which stores it as one file; nothing lands on a disk on the way.
import { z } from 'zod';
import { retention, schedule } from './backup-policy.ts';
import { condition } from './conditions.ts';
import { duration } from './duration.ts';
import { etcdSnapshotFileName, etcdSource } from './etcd-source.ts';
import { labelSelector } from './label-selector.ts';
import { bucketName, s3Endpoint } from './bucket-protocol.ts';
import { gitUrl } from './git-protocol.ts';
import { runFailureReasons } from './mover-protocol.ts';
import type { NamespacedMeta } from './object-meta.ts';

export const dumpFileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a file name of letters, digits, ".", "_" and "-" (e.g. all.sql)');

/** The sources a dump reads without a Pod; a dump has at most one of them, or a command. */
const podlessSources = ['objects', 'git', 'bucket', 'etcd'] as const;

export const applicationDumpSpec = z
  .object({
    objects: z
      .object({
        scope: z
          .enum(['Namespace', 'Cluster'])
          .default('Namespace')
          .describe(
            "Namespace: this namespace's objects. Cluster: the cluster-scoped ones (CRDs, ClusterRoles, StorageClasses, PersistentVolumes, ...), only for a dump in Safehold's own namespace.",
          ),
        excludeKinds: z
          .array(z.string().min(1))
          .optional()
          .describe('Kinds left out, as Kind or Kind.group (e.g. ConfigMap, Certificate.cert-manager.io).'),
      })
      .optional()
      .describe(
        "Instead of a command: this namespace's API objects (every kind discovery lists, custom resources and Secrets included), stripped of what the API server fills in, stored as one JSON-lines file; `safehold restore-resources` puts them back. Needs no Pod.",
      ),
    git: z
      .object({
        url: gitUrl.describe(
          'The repository: https://, http://, ssh://, user@host:path or file:// (no password in it).',
        ),
        secretRef: z
          .object({ name: z.string().min(1) })
          .optional()
          .describe(
            "A Secret in this namespace with username and password (HTTPS) or identity and known_hosts (SSH), the keys Flux's GitRepository reads.",
          ),
      })
      .optional()
      .describe(
        'Instead of a command: a Git repository, mirrored with every branch and tag and stored as one bundle that `git bundle verify` passed (repository.bundle unless fileName says otherwise). Needs no Pod.',
      ),
    bucket: z
      .object({
        name: bucketName.describe('The bucket.'),
        endpoint: s3Endpoint.describe("The object store's S3 endpoint, e.g. http://rook-ceph-rgw-store.rook-ceph:80."),
        region: z.string().min(1).default('us-east-1').describe('The S3 region signatures name.'),
        prefix: z.string().min(1).optional().describe('Only the objects whose keys start with this.'),
        secretRef: z
          .object({ name: z.string().min(1) })
          .describe(
            'A Secret in this namespace with accessKeyId and secretAccessKey of a user that may list and read the bucket (a policy keeps them in step for the buckets it discovers).',
          ),
      })
      .optional()
      .describe(
        'Instead of a command: an object-storage bucket, stored incrementally: only objects new or changed since the last dump are read, each as a file, with a manifest of keys, ETags, content types and metadata (manifest.jsonl). `safehold restore-bucket` puts a point in time back. Needs no Pod.',
      ),
    etcd: etcdSource
      .optional()
      .describe(
        "Instead of a command: the cluster's etcd, saved with `etcdctl snapshot save` on a control-plane node (host network, etcd's client certificates mounted read-only) and stored as one file (etcd.db unless fileName says otherwise) once `etcdutl snapshot status` has checked it. Only for a dump in Safehold's namespace. Needs no Pod.",
      ),
    podSelector: labelSelector
      .optional()
      .describe(
        'The Pods of the application, in this namespace: the dump runs in one of them that is Running (the first by name). Required unless a source that needs no Pod (spec.objects, spec.git, spec.bucket) is set.',
      ),
    container: z
      .string()
      .min(1)
      .optional()
      .describe("The container the command runs in; the Pod's first when left out."),
    command: z
      .array(z.string())
      .min(1)
      .optional()
      .describe(
        "The command that writes the dump to its stdout, and its arguments (no shell unless you name one). It runs with the container's own environment: credentials stay in the application's Secret. Required unless a source that needs no Pod (spec.objects, spec.git, spec.bucket) is set.",
      ),
    fileName: dumpFileName
      .optional()
      .describe(
        'The file the dump is stored as (e.g. all.sql). Required with a command; objects.jsonl for spec.objects.',
      ),
    repository: z
      .string()
      .min(1)
      .optional()
      .describe('The BackupRepository; by default that of the policy protecting the volumes the dump covers.'),
    covers: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'The PVCs this dump protects: coverage shows them protected by it. By default the PVCs the selected Pod mounts (none for spec.objects).',
      ),
    schedule: schedule.optional().describe('When the dump runs; without a schedule it runs only when asked.'),
    retention: retention
      .default({ keepDaily: 7, keepWeekly: 4, keepMonthly: 3, orphanGracePeriod: '30d' })
      .describe('Which dumps are kept, counted like volume backups (GFS).'),
    timeout: duration
      .default('1h')
      .describe('How long one dump may take, from its command starting to the file being stored.'),
    restoreCommand: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('What `safehold dump --into` pipes the dump into by default (e.g. ["psql", "-U", "postgres"]).'),
    suspend: z.boolean().default(false).describe('No scheduled runs while true; asked-for runs still go.'),
  })
  .superRefine((spec, ctx) => {
    const sources = podlessSources.filter((field) => spec[field] !== undefined);
    for (const field of sources.slice(1))
      ctx.addIssue({ code: 'custom', path: [field], message: `not with spec.${sources[0]}: one source per dump` });
    if (sources.length > 0) {
      const source = `spec.${sources[0]}`;
      for (const field of ['podSelector', 'container', 'command', 'restoreCommand'] as const)
        if (spec[field] !== undefined)
          ctx.addIssue({ code: 'custom', path: [field], message: `not with ${source} (it needs no Pod)` });
      if (spec.bucket !== undefined && spec.fileName !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['fileName'],
          message: `not with spec.bucket (a bucket is stored as ${bucketManifestFileName} and its objects)`,
        });
      return;
    }
    for (const field of ['podSelector', 'command', 'fileName'] as const)
      if (spec[field] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `required (unless one of ${podlessSources.map((f) => `spec.${f}`).join(', ')} is set)`,
        });
  });

/** The objects of a namespace, as an objects dump stores them (objects-file.ts says how). */
export const objectsFileName = 'objects.jsonl';

/** A Git repository's bundle, unless the dump names its file. */
export const gitBundleFileName = 'repository.bundle';

/** A bucket's dump: the manifest of its objects, beside the objects/ folder. */
export const bucketManifestFileName = 'manifest.jsonl';

/** The file a dump is stored as: its declared name, else the objects file, the Git bundle or the bucket's manifest. */
export function dumpFileOf(spec: {
  fileName?: string | undefined;
  git?: object | undefined;
  bucket?: object | undefined;
  etcd?: object | undefined;
}): string {
  if (spec.fileName === undefined && spec.etcd !== undefined) return etcdSnapshotFileName;
  return (
    spec.fileName ??
    (spec.git !== undefined ? gitBundleFileName : spec.bucket !== undefined ? bucketManifestFileName : objectsFileName)
  );
}

export const applicationDumpStatus = z.object({
  lastRun: z
    .object({ name: z.string(), phase: z.string(), time: z.string() })
    .optional()
    .describe('The newest DumpRun and how it ended.'),
  lastSuccess: z
    .object({ name: z.string(), time: z.string(), bytes: z.number().optional() })
    .optional()
    .describe('The newest DumpRun that stored a complete dump.'),
  covers: z.array(z.string()).optional().describe('The PVCs the dump protects, as the operator resolved them.'),
  conditions: z.array(condition).optional(),
});

export type ApplicationDumpSpec = z.input<typeof applicationDumpSpec>;
/** The spec with its defaults filled in, as applicationDumpSpec parses it. */
export type ParsedApplicationDumpSpec = z.infer<typeof applicationDumpSpec>;
export type ApplicationDumpStatus = z.infer<typeof applicationDumpStatus>;

export interface ApplicationDump {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: ApplicationDumpSpec;
  status?: ApplicationDumpStatus;
}

export const dumpRunPhases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type DumpRunPhase = (typeof dumpRunPhases)[number];

export const dumpRunReasons = [
  'Waiting',
  'ConcurrencyLimit',
  'MaintenanceWindow',
  'PodNotReady',
  'MoverStarting',
  'Streaming',
  'Mirroring',
  'Reading',
  'Snapshotting',
  'Succeeded',
  'InvalidSpec',
  'DumpNotFound',
  'PodNotFound',
  'ContainerNotFound',
  'RepositoryNotFound',
  'SecretNotFound',
  'StreamLost',
  ...runFailureReasons,
] as const;
export type DumpRunReason = (typeof dumpRunReasons)[number];

export const dumpRunSpec = z.object({
  dump: z.string().min(1).describe('The ApplicationDump to run, in this namespace.'),
  trigger: z.enum(['schedule', 'catch-up', 'manual']).default('manual'),
  scheduledFor: z.string().optional().describe('The schedule slot this run belongs to (RFC 3339).'),
});

export const dumpRunStatus = z.object({
  phase: z.enum(dumpRunPhases).optional(),
  reason: z.enum(dumpRunReasons).optional(),
  message: z.string().optional(),
  repository: z.string().optional(),
  pod: z.string().optional().describe('The application Pod the command ran in.'),
  container: z.string().optional(),
  command: z.array(z.string()).optional(),
  fileName: z.string().optional(),
  covers: z.array(z.string()).optional().describe('The PVCs the dump protected when it ran.'),
  attempt: z.int().optional().describe('The attempt: a run whose stream was lost is tried again.'),
  startTime: z.string().optional(),
  streamStartTime: z
    .string()
    .optional()
    .describe('When the operator started the command and the stream into the mover: a run streams once.'),
  completionTime: z.string().optional(),
  snapshotTime: z.string().optional(),
  snapshotId: z.string().optional().describe("The dump's snapshot in the repository."),
  bytes: z.number().optional().describe('The size of the dump.'),
  conditions: z.array(condition).optional(),
});

export type DumpRunSpec = z.input<typeof dumpRunSpec>;
export type DumpRunStatus = z.infer<typeof dumpRunStatus>;

export interface DumpRun {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: DumpRunSpec;
  status?: DumpRunStatus;
}

/** Labels on a DumpRun and on its objects. */
export const dumpLabels = {
  dump: 'safehold.io/dump',
  run: 'safehold.io/dump-run',
} as const;
