// The mover's bucket tasks (ADR 0030): a bucket's objects into the repository,
// incrementally, and a stored bucket written back; where the bucket is and how
// it is named. Its S3 keys reach the mover from the run's Secret
// (moverEnv.bucket*), never in the task.
import { z } from 'zod';
import { compressionModes } from './backup-repository.ts';
import { repositoryTarget, resticSnapshotId } from './restic-target.ts';

/** An S3 bucket's name as S3 allows it: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit. */
export const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3 to 63 lowercase letters, digits, "." and "-"');

/** An S3 endpoint (path-style addressing): scheme, host and port, no path. */
export const s3Endpoint = z
  .string()
  .regex(/^https?:\/\/[^\s/]+\/?$/, 'an S3 endpoint: http(s)://host[:port], without a path')
  .refine((url) => URL.canParse(url), 'a URL that parses');

/** Where a bucket is and how it is addressed (path-style); the keys come from the run's Secret (moverEnv.bucket*). */
export const bucketSource = z.object({
  endpoint: s3Endpoint,
  name: bucketName,
  region: z.string().min(1).default('us-east-1'),
});
export type BucketSource = z.infer<typeof bucketSource>;

/** A key prefix as S3 takes it: any text up to 1024 bytes, '' for the whole bucket. */
const bucketPrefix = z
  .string()
  .refine((prefix) => Buffer.byteLength(prefix, 'utf8') <= 1024, 'a key prefix of at most 1024 bytes');

/**
 * An object-storage bucket (or the keys under a prefix) into the repository, incrementally: only new and
 * changed objects are read, the rest come from the previous snapshot of the same host (ADR 0026's kinds).
 */
export const bucketBackupTask = z.object({
  kind: z.literal('bucket-backup'),
  repository: repositoryTarget,
  bucket: bucketSource,
  prefix: bucketPrefix.optional(),
  host: z.string().min(1),
  tags: z.array(z.string()),
  cacheDir: z.string().startsWith('/'),
  compression: z.enum(compressionModes).default('auto'),
});
export type BucketBackupTask = z.infer<typeof bucketBackupTask>;

/** A bucket backup's objects written back to a bucket (the same or another), all or those under a prefix. */
export const bucketRestoreTask = z.object({
  kind: z.literal('bucket-restore'),
  repository: repositoryTarget,
  snapshotId: resticSnapshotId,
  /** The bucket the snapshot was taken of: the snapshot's manifest must name it. */
  sourceBucket: bucketName,
  /** Where the objects are written. */
  bucket: bucketSource,
  /** Only the keys under it. */
  prefix: bucketPrefix.optional(),
  /** Delete the target's objects under prefix that the snapshot does not have. */
  deleteNewer: z.boolean().default(false),
  cacheDir: z.string().startsWith('/'),
});
export type BucketRestoreTask = z.infer<typeof bucketRestoreTask>;
