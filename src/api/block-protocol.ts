// Block volumes in the mover contract. A backup reads the device (only the
// clusters that hold data) and stores it as one sparse QCOW2 file in a restic
// snapshot; an incremental stores an overlay whose backing file is its
// parent's image, and tags the snapshot with its parent. A restore writes the
// device back, replaying the chain from its full image (ADR 0011).
import { z } from 'zod';
import { compressionModes } from './backup-repository.ts';
import { repositoryTarget, resticSnapshotId } from './restic-target.ts';

/** How the mover reaches Ceph for `rbd diff`; the user's key comes from the Secret (moverEnv.cephKey). */
export const cephAccess = z.object({
  monitors: z.array(z.string().min(1)).min(1),
  user: z.string().min(1),
});

/** An RBD snapshot: pool[/namespace]/image@snapshot. */
export const rbdSnapshotRef = z.object({
  pool: z.string().min(1),
  radosNamespace: z.string().min(1).optional(),
  image: z.string().min(1),
  snapshot: z.string().min(1),
});

/** Where the mover learns which ranges of the device hold data. */
export const blockExtents = z.discriminatedUnion('source', [
  /** Read the whole device and keep the clusters that are not all zeros. */
  z.object({ source: z.literal('zero-scan') }),
  /** `rbd diff` of the snapshot the device was cloned from; since fromSnapshot for an incremental. */
  z.object({
    source: z.literal('rbd-diff'),
    ceph: cephAccess,
    snapshot: rbdSnapshotRef,
    fromSnapshot: z.string().min(1).optional(),
  }),
]);

/** The restic tag that names an overlay's parent snapshot. */
export const parentTagPrefix = 'parent=';
/** The file name of a block volume's image inside its restic snapshot. */
export const imageFileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.qcow2$/, 'NAME.qcow2');

export const blockBackupTask = z.object({
  kind: z.literal('block-backup'),
  repository: repositoryTarget,
  /** The block device of the volume (a snapshot's clone), read only. */
  devicePath: z.string().startsWith('/'),
  fileName: imageFileName,
  host: z.string().min(1),
  tags: z.array(z.string()),
  cacheDir: z.string().startsWith('/'),
  /** How the image is compressed (BackupRepository spec.compression); auto: the engine's fast level. */
  compression: z.enum(compressionModes).default('auto'),
  /** Whether the engine checks each piece it uploads against its hash first (BackupRepository spec.verifyBeforeUpload). */
  verifyBeforeUpload: z.boolean().default(true),
  snapshotTime: z.iso.datetime({ offset: true }).optional(),
  extents: blockExtents,
  /** An incremental (with extents.fromSnapshot): the restic snapshot whose image this one overlays. */
  parent: resticSnapshotId.optional(),
  /** Why the controller chose a full image over an incremental, reported back in the summary. */
  fullBecause: z.string().optional(),
});

/** Write a block backup (and the images it overlays) back onto a device. */
export const blockRestoreTask = z.object({
  kind: z.literal('block-restore'),
  repository: repositoryTarget,
  cacheDir: z.string().startsWith('/'),
  snapshotId: resticSnapshotId,
  devicePath: z.string().startsWith('/'),
  /** The device may hold other data (an existing volume): write zeros wherever the image holds none. */
  zeroUnlisted: z.boolean().default(false),
  /**
   * A restore drill: after writing, read the device back and compare it with what the chain holds
   * (each cluster from the topmost image that has it, zeros where none does); a difference fails
   * the task (Unverified).
   */
  verify: z.boolean().default(false),
});

/** What a block backup stored, in its summary. */
export const blockImageReport = z.object({
  fileName: z.string(),
  virtualSize: z.number(),
  /** Guest bytes stored as data clusters. */
  dataBytes: z.number(),
  /** Bytes read from the device (a zero scan reads all of it once more). */
  bytesRead: z.number(),
  extentsFrom: z.enum(['rbd-diff', 'zero-scan']),
  /** The RBD snapshot read (pool/image@snap), for the next incremental. */
  rbdSnapshot: z.string().optional(),
  /** An overlay's parent snapshot. */
  parent: resticSnapshotId.optional(),
  /** Why an incremental was asked for but a full image was written. */
  fullBecause: z.string().optional(),
  /** Why the device was scanned although rbd diff was asked for. */
  scanBecause: z.string().optional(),
});

/** What a block restore wrote, in its summary. */
export const blockRestoreReport = z.object({
  /** Images applied: the full one and the overlays on it. */
  chain: z.array(z.string()),
  virtualSize: z.number(),
  bytesWritten: z.number(),
});

export type BlockBackupTask = z.infer<typeof blockBackupTask>;
export type BlockRestoreTask = z.infer<typeof blockRestoreTask>;
export type BlockExtents = z.infer<typeof blockExtents>;
export type BlockImageReport = z.infer<typeof blockImageReport>;
export type BlockRestoreReport = z.infer<typeof blockRestoreReport>;
export type CephAccess = z.infer<typeof cephAccess>;
export type RbdSnapshotRef = z.infer<typeof rbdSnapshotRef>;
