// BucketRestore (namespaced): a tenant puts a bucket, or the keys under a
// prefix, back as one of its bucket dumps stored them (an ApplicationDump with
// spec.bucket in the same namespace): into the bucket itself or into another,
// with the keys of a user that may write there. One mover Job in Safehold's
// namespace reads the dump's snapshot and writes each object that differs,
// with its content type and metadata; deleteNewer also deletes what the dump
// did not hold.
import { z } from 'zod';
import { condition } from './conditions.ts';
import { bucketName, s3Endpoint } from './bucket-protocol.ts';
import { runFailureReasons } from './mover-protocol.ts';
import type { NamespacedMeta } from './object-meta.ts';

export const bucketRestorePhases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type BucketRestorePhase = (typeof bucketRestorePhases)[number];

export const bucketRestoreReasons = [
  'Waiting',
  'MaintenanceWindow',
  'ConcurrencyLimit',
  'MoverRunning',
  'Succeeded',
  'InvalidSpec',
  'DumpNotFound',
  'BackupNotFound',
  'RepositoryNotFound',
  'SecretNotFound',
  ...runFailureReasons,
] as const;
export type BucketRestoreReason = (typeof bucketRestoreReasons)[number];

/** An S3 key prefix: at most 1024 bytes (S3's limit on a key), no control characters. */
const keyPrefix = z
  .string()
  .min(1)
  .refine((p) => Buffer.byteLength(p, 'utf8') <= 1024, 'at most 1024 bytes, the longest key S3 allows')
  // eslint-disable-next-line no-control-regex
  .refine((p) => !/[\u0000-\u001f\u007f]/.test(p), 'no control characters');

export const bucketRestoreSpec = z.object({
  dump: z.string().min(1).describe('The ApplicationDump with spec.bucket, in this namespace, whose dumps to read.'),
  backup: z
    .string()
    .min(1)
    .default('latest')
    .describe('"latest", a DumpRun name, or a restic snapshot id (8 to 64 hex digits) of one of its dumps.'),
  asOf: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('The newest dump stored at or before this time (RFC 3339); only with backup "latest".'),
  prefix: keyPrefix
    .optional()
    .describe('Only the keys that start with this (e.g. invoices/2026/); by default every key the dump holds.'),
  into: z
    .object({
      bucket: bucketName.optional().describe("Another bucket to write into; by default the dump's own."),
      endpoint: s3Endpoint.optional().describe("That bucket's S3 endpoint; by default the dump's."),
      region: z.string().min(1).optional().describe("The S3 region signatures name; by default the dump's."),
    })
    .optional()
    .describe("Where the objects go: by default back into the dump's bucket."),
  secretRef: z
    .object({ name: z.string().min(1) })
    .describe('A Secret in this namespace with accessKeyId and secretAccessKey of a user that may write the bucket.'),
  deleteNewer: z
    .boolean()
    .default(false)
    .describe(
      'Also delete the objects under the prefix that the dump does not hold (made after it): the bucket is then as it was.',
    ),
});

/** The stored dump a BucketRestore settled on when it started: it does not move as new dumps come. */
export const chosenDump = z.object({
  run: z.string().describe('The DumpRun that stored it.'),
  snapshotId: z.string().describe("The dump's snapshot in the repository."),
  snapshotTime: z.string().optional(),
  repository: z.string(),
});

export const bucketRestoreStatus = z.object({
  phase: z.enum(bucketRestorePhases).optional(),
  reason: z.enum(bucketRestoreReasons).optional(),
  message: z.string().optional(),
  backup: chosenDump.optional(),
  sourceBucket: z
    .string()
    .optional()
    .describe('The bucket the dump was taken of (its spec.bucket.name when the restore started).'),
  target: z
    .object({
      endpoint: z.string(),
      bucket: z.string(),
      region: z.string().optional(),
      prefix: z.string().optional(),
    })
    .optional()
    .describe('Where the objects were written, and the keys restored (a prefix, else every key).'),
  objects: z
    .object({
      written: z.int().describe('Objects written, as the dump holds them.'),
      unchanged: z.int().describe('Objects the bucket already held as the dump does (same ETag and size).'),
      deleted: z.int().describe('Objects deleted because the dump does not hold them (deleteNewer).'),
    })
    .optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  conditions: z.array(condition).optional(),
});

export type BucketRestoreSpec = z.input<typeof bucketRestoreSpec>;
export type BucketRestoreStatus = z.infer<typeof bucketRestoreStatus>;
export type ChosenDump = z.infer<typeof chosenDump>;

export interface BucketRestore {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: BucketRestoreSpec;
  status?: BucketRestoreStatus;
}

/** On the temporary objects of a BucketRestore (its Secret and Job). */
export const bucketRestoreLabel = 'safehold.io/bucket-restore';
