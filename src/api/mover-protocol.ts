// The contract between the controller and the mover. The controller puts a
// MoverTask (JSON) in the mover Job; secrets reach the mover only as
// environment variables from Secrets, never inside the task. The mover prints
// MoverMessage JSON lines while it works and leaves its MoverResult as the
// container's termination message (at most 4096 bytes), which the controller
// reads from the Pod's status: no log scraping.
import { z } from 'zod';
import { blockBackupTask, blockImageReport, blockRestoreReport, blockRestoreTask } from './block-protocol.ts';
import { compressionModes } from './backup-repository.ts';
import { bucketBackupTask, bucketRestoreTask } from './bucket-protocol.ts';
import { etcdSnapshotReport, etcdSnapshotTask } from './etcd-source.ts';
import { gitBackupTask } from './git-protocol.ts';
import { repositoryTarget, resticSnapshotId } from './restic-target.ts';

/** Environment variables the Job sets from Secrets for the mover. */
export const moverEnv = {
  task: 'SAFEHOLD_TASK',
  resticPassword: 'RESTIC_PASSWORD',
  /** A download's presigned S3 PUT URL, where the mover uploads what it was asked for. */
  uploadUrl: 'SAFEHOLD_UPLOAD_URL',
  /** The key of the Ceph user a block backup's `rbd diff` runs as (optional in the Secret). */
  cephKey: 'CEPH_USER_KEY',
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  /** A git-backup's HTTP credentials (its task's credentials kind 'basic'), from the Git repository's Secret. */
  gitUsername: 'GIT_USERNAME',
  gitPassword: 'GIT_PASSWORD',
  /** A git-backup's SSH private key (credentials kind 'ssh'), and the server's keys as known_hosts lines (optional). */
  gitSshKey: 'GIT_SSH_KEY',
  gitKnownHosts: 'GIT_KNOWN_HOSTS',
  /** A bucket-backup's or bucket-restore's S3 keys for the bucket (not the repository's), from the run's Secret. */
  bucketAccessKeyId: 'BUCKET_ACCESS_KEY_ID',
  bucketSecretAccessKey: 'BUCKET_SECRET_ACCESS_KEY',
} as const;

export const backupTask = z.object({
  kind: z.literal('backup'),
  repository: repositoryTarget,
  /** The folder the volume is mounted at, inside the mover. */
  sourcePath: z.string().startsWith('/'),
  /** restic --host: one per volume, so histories line up. */
  host: z.string().min(1),
  tags: z.array(z.string()),
  cacheDir: z.string().startsWith('/'),
  /** How the data is compressed (BackupRepository spec.compression); auto: as a sample of the data says. */
  compression: z.enum(compressionModes).default('auto'),
  /** Whether the engine checks each piece it uploads against its hash first (BackupRepository spec.verifyBeforeUpload). */
  verifyBeforeUpload: z.boolean().default(true),
  /**
   * How restic tells a changed file: 'inode' (mtime, size, ctime and inode: never misses a change),
   * or 'mtime-size' (misses a file rewritten in place with the same size and mtime), only when a
   * policy opts in (changeDetection: mtime-size).
   */
  changeDetection: z.enum(['inode', 'mtime-size']).default('inode'),
  /**
   * The time the data was captured (RFC 3339): the VolumeSnapshot's time, or
   * the run's start for a live copy. restic records it as the snapshot's time
   * (--time), so retention buckets follow capture, not upload.
   */
  snapshotTime: z.iso.datetime({ offset: true }).optional(),
  /**
   * CephFS without CSI snapshots: make a CephFS snapshot `<sourcePath>/.snap/<name>` (the
   * volume is mounted writable for that alone), back it up, and remove it.
   */
  cephfsSnapshot: z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/) }).optional(),
});

/**
 * Repository maintenance, run by the controller only while no backup writes
 * to the repository: forget the snapshots retention dropped (the controller
 * decides the set; the mover only carries it out, and ids already gone count
 * as done), then prune, then check.
 */
export const maintenanceTask = z.object({
  kind: z.literal('maintenance'),
  repository: repositoryTarget,
  cacheDir: z.string().startsWith('/'),
  forget: z.array(resticSnapshotId).default([]),
  prune: z.boolean().default(false),
  /** restic check; readDataSubset as restic takes it ("5%", "1/10", "200M"); absent: structure only. */
  check: z.object({ readDataSubset: z.string().min(1).optional() }).optional(),
});

/**
 * Where a backup's files are: one restic snapshot, and the folder inside it that held the volume
 * (the backup mover's sourcePath).
 */
export const snapshotSource = z.object({
  snapshotId: resticSnapshotId,
  snapshotPath: z.string().startsWith('/'),
});

/** A path inside a volume: absolute, as the volume's root is "/", with no "." or ".." parts. */
export const volumePath = z
  .string()
  .startsWith('/', 'a path inside the volume, starting with "/"')
  .refine((p) => !p.split('/').some((part) => part === '.' || part === '..'), 'no "." or ".." parts');

/**
 * Restore a backup (or some paths of it) into the folder the target volume is mounted at. The
 * repository is only opened, never created. restic restores permissions, owners, times, symlinks,
 * hardlinks, empty directories and holes (--sparse).
 */
export const restoreTask = z.object({
  kind: z.literal('restore'),
  repository: repositoryTarget,
  cacheDir: z.string().startsWith('/'),
  source: snapshotSource,
  /** The folder the target volume is mounted at, inside the mover (writable). */
  targetPath: z.string().startsWith('/'),
  /** Paths inside the volume to restore, with everything under them; empty: the whole volume. */
  paths: z.array(volumePath).default([]),
  /** Delete what the target has that the backup does not (a whole-volume restore into a used volume). */
  deleteExtra: z.boolean().default(false),
  /**
   * A restore drill: after the restore, read every restored file back and compare its content with
   * the hashes the backup recorded (restic restore --verify); a difference fails the task (Unverified).
   */
  verify: z.boolean().default(false),
});

/**
 * Read one path of a backup for someone outside the cluster: a listing (JSON lines, one entry each,
 * recursive under a folder) or one file's bytes, uploaded with a single PUT to the presigned URL
 * the Job's Secret carries as SAFEHOLD_UPLOAD_URL.
 */
export const downloadTask = z.object({
  kind: z.literal('download'),
  repository: repositoryTarget,
  cacheDir: z.string().startsWith('/'),
  source: snapshotSource,
  path: volumePath,
  what: z.enum(['listing', 'file']),
  /** A listing goes this many folder levels below path (1: the folder's own entries). */
  depth: z.int().min(1).default(1),
});

/**
 * An application dump (ADR 0026): the operator writes the dump command's output as frames
 * (dump-frames.ts) on the mover's stdin; the mover stores it as one file, only when complete.
 */
export const dumpBackupTask = z.object({
  kind: z.literal('dump-backup'),
  repository: repositoryTarget,
  /** The file the dump is stored as, e.g. all.sql. */
  fileName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  host: z.string().min(1),
  tags: z.array(z.string()),
  cacheDir: z.string().startsWith('/'),
  compression: z.enum(compressionModes).default('auto'),
  verifyBeforeUpload: z.boolean().default(true),
});
export type DumpBackupTask = z.infer<typeof dumpBackupTask>;

export const moverTask = z.discriminatedUnion('kind', [
  backupTask,
  dumpBackupTask,
  gitBackupTask,
  etcdSnapshotTask,
  maintenanceTask,
  restoreTask,
  downloadTask,
  blockBackupTask,
  blockRestoreTask,
  bucketBackupTask,
  bucketRestoreTask,
]);

/** Why a mover failed, as it reports it; each is also a run's reason (see runFailureReasons). */
export const errorCodes = [
  'RepositoryUnreachable',
  'RepositoryStalled',
  'WrongCredentials',
  'WrongPassword',
  'RepositoryLocked',
  'RepositoryIncomplete',
  'Interrupted',
  'SourceMissing',
  'SnapshotNotFound',
  'PathNotFound',
  'TargetMissing',
  'TargetTooSmall',
  'UploadFailed',
  /** An application dump that did not arrive whole: its command failed or wrote nothing, or the stream was cut. */
  'DumpFailed',
  /** An application dump cut short on its way (fewer bytes arrived than its command wrote): tried again. */
  'DumpIncomplete',
  /** A restore drill read back something other than what the backup holds (or the backup could not be read whole). */
  'Unverified',
  'InvalidTask',
  'ResticFailed',
] as const;

/**
 * Why a run's mover did not succeed, as the run's status.reason, its Failed condition and the
 * failure metric's label: the mover's own error code, or what happened to its Pod when it could
 * not say (killed, out of memory, past the Job's deadline), or MoverFailed when nothing tells.
 */
export const runFailureReasons = [
  ...errorCodes,
  'MoverKilled',
  'MoverOutOfMemory',
  'MoverDeadlineExceeded',
  'MoverFailed',
] as const;
export type RunFailureReason = (typeof runFailureReasons)[number];

export const backupSummary = z.object({
  type: z.literal('summary'),
  snapshotId: z.string(),
  filesNew: z.int(),
  filesChanged: z.int(),
  filesUnmodified: z.int(),
  dirsNew: z.int(),
  dirsChanged: z.int(),
  bytesAdded: z.number(),
  bytesProcessed: z.number(),
  filesProcessed: z.int(),
  durationSeconds: z.number(),
  /** A block volume's image. */
  block: blockImageReport.optional(),
  /** A Git repository's bundle: the refs it holds (branches, tags and any other, HEAD not counted). */
  git: z.object({ refs: z.int() }).optional(),
  /** An etcd snapshot: what `etcdutl snapshot status` said of it before it was stored. */
  etcd: etcdSnapshotReport.optional(),
  /** A bucket: the objects the snapshot holds, and the bodies this run downloaded (the rest came from the previous snapshot). */
  bucket: z.object({ objects: z.int(), bytes: z.number(), read: z.int(), readBytes: z.number() }).optional(),
});

export const maintenanceSummary = z.object({
  type: z.literal('maintenance'),
  /** Snapshots removed by this run's forget. */
  forgotten: z.int(),
  /** Snapshots the task named that were already gone (a repeated run). */
  alreadyGone: z.int(),
  prune: z
    .object({
      /** Bytes of pack files deleted or repacked away, as restic reports them. */
      bytesFreed: z.number(),
      message: z.string(),
    })
    .optional(),
  check: z
    .object({
      ok: z.boolean(),
      readDataSubset: z.string().optional(),
      /** restic's own words when the check found errors (bounded). */
      message: z.string(),
      /** The damaged pack files (their ids' first 16 hex digits), when the check named them. */
      damagedPacks: z.array(z.string()).optional(),
      /** The snapshots holding data in those packs (first 16 hex digits, at most 50), as restic find says. */
      affectedSnapshots: z.array(z.string()).optional(),
      /** How many more snapshots hold data in them than affectedSnapshots names. */
      affectedMore: z.int().optional(),
      /** Why the affected snapshots are not known, when they are not (restic find failed). */
      affectedUnknown: z.string().optional(),
    })
    .optional(),
  /** Snapshots left in the repository after the run. */
  snapshots: z.int(),
  /** The repository's stored size after the run (restic stats --mode raw-data), when known. */
  repositoryBytes: z.number().optional(),
  durationSeconds: z.number(),
});

export const restoreSummary = z.object({
  type: z.literal('restored'),
  /** The snapshot restored: as the task named it (an id or a unique prefix), in full when the mover listed it. */
  snapshotId: z.string(),
  filesRestored: z.int(),
  filesSkipped: z.int(),
  /** Files, folders and links restic counted for the restore. */
  totalFiles: z.int(),
  bytesRestored: z.number(),
  bytesSkipped: z.number(),
  totalBytes: z.number(),
  /** Entries deleted from the target because the backup does not have them (deleteExtra). */
  filesDeleted: z.int().optional(),
  durationSeconds: z.number(),
  /** A block volume written back. */
  block: blockRestoreReport.optional(),
  /** A bucket written back: objects put, objects the target already had alike (same ETag and size), objects deleted (deleteNewer). */
  bucket: z.object({ written: z.int(), unchanged: z.int(), deleted: z.int() }).optional(),
  /** A restore drill (verify): what was read back and found equal to the backup. */
  verified: z
    .object({
      /** Files whose content was compared with the backup's hashes (file volumes). */
      files: z.int().optional(),
      /** Bytes read back from the target and compared. */
      bytes: z.number(),
      /** How: restic's --verify (file volumes), or the device read back against every image of the chain. */
      method: z.enum(['restic-verify', 'device-compare']),
    })
    .optional(),
});

export const downloadSummary = z.object({
  type: z.literal('downloaded'),
  snapshotId: z.string(),
  what: z.enum(['listing', 'file']),
  /** Bytes uploaded. */
  bytes: z.number(),
  /** Entries in a listing. */
  entries: z.int().optional(),
  durationSeconds: z.number(),
});

/** One entry of a download listing (a JSON line of the uploaded object), path relative to the volume's root. */
export const listingEntry = z.object({
  path: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular']),
  size: z.number().optional(),
  mode: z.int().optional(),
  uid: z.int().optional(),
  gid: z.int().optional(),
  mtime: z.string().optional(),
  linkTarget: z.string().optional(),
});

export const moverError = z.object({
  type: z.literal('error'),
  code: z.enum(errorCodes),
  message: z.string(),
});

export const moverProgress = z.object({
  type: z.literal('progress'),
  /** 0 to 100 (restic reports a fraction; the mover scales it). */
  percentDone: z.number(),
  filesDone: z.int(),
  totalFiles: z.int(),
  bytesDone: z.number(),
  totalBytes: z.number(),
  secondsElapsed: z.number(),
});

export const moverResult = z.discriminatedUnion('type', [
  backupSummary,
  maintenanceSummary,
  restoreSummary,
  downloadSummary,
  moverError,
]);
export const moverMessage = z.discriminatedUnion('type', [
  moverProgress,
  backupSummary,
  maintenanceSummary,
  restoreSummary,
  downloadSummary,
  moverError,
]);

export type MoverTask = z.infer<typeof moverTask>;
export type BackupTask = z.infer<typeof backupTask>;
export type BackupSummary = z.infer<typeof backupSummary>;
export type MaintenanceTask = z.infer<typeof maintenanceTask>;
export type MaintenanceSummary = z.infer<typeof maintenanceSummary>;
export type RestoreTask = z.infer<typeof restoreTask>;
export type RestoreSummary = z.infer<typeof restoreSummary>;
export type DownloadTask = z.infer<typeof downloadTask>;
export type DownloadSummary = z.infer<typeof downloadSummary>;
export type ListingEntry = z.infer<typeof listingEntry>;
export type MoverError = z.infer<typeof moverError>;
export type MoverErrorCode = MoverError['code'];
export type MoverProgress = z.infer<typeof moverProgress>;
export type MoverResult = z.infer<typeof moverResult>;
export type MoverMessage = z.infer<typeof moverMessage>;
