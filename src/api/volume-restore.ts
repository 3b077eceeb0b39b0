// VolumeRestore (namespaced): a tenant gets a volume, or some paths of it,
// back from a kept backup, into a new PVC or into an existing one that no Pod
// mounts. The restore runs in a mover Job in Safehold's namespace; when the
// backup's VolumeSnapshot is still kept in the cluster, a new PVC is made from
// it directly (the fast path). Before a restore writes into an existing PVC,
// a VolumeSnapshot of it is taken where its driver can, and kept for a while
// after: the undo snapshot.
import { z } from 'zod';
import { backupChoice, chosenBackup } from './backup-choice.ts';
import { condition } from './conditions.ts';
import { durationPattern } from './duration.ts';
import { runFailureReasons } from './mover-protocol.ts';
import type { NamespacedMeta } from './object-meta.ts';

export const restorePhases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type RestorePhase = (typeof restorePhases)[number];

export const restoreReasons = [
  'Waiting',
  'MaintenanceWindow',
  'ConcurrencyLimit',
  'TargetPending',
  'MoverRunning',
  'Succeeded',
  'InvalidSpec',
  'Forbidden',
  'BackupNotFound',
  'RepositoryNotFound',
  'SecretNotFound',
  'TargetExists',
  'TargetNotFound',
  'TargetInUse',
  'TargetFailed',
  'UndoSnapshotPending',
  'UndoSnapshotFailed',
  ...runFailureReasons,
] as const;
export type RestoreReason = (typeof restoreReasons)[number];

export const volumeRestoreSpec = z.object({
  ...backupChoice,
  target: z
    .object({
      pvc: z.string().min(1).describe('The PVC to restore into, in this namespace.'),
      existing: z
        .boolean()
        .default(false)
        .describe('Restore into this PVC, which exists; otherwise it is created and must not exist.'),
      force: z
        .boolean()
        .default(false)
        .describe('Existing PVC only: restore even while a Pod mounts it (the Pod sees files change under it).'),
      keepExtraFiles: z
        .boolean()
        .default(false)
        .describe(
          'Existing PVC only: keep files the backup does not have. By default a whole-volume restore makes the volume equal to the backup.',
        ),
      keepUndoSnapshot: z
        .string()
        .regex(new RegExp(`^none$|${durationPattern}`), 'a duration such as 24h or 30m, or none')
        .optional()
        .describe(
          'Existing PVC only: how long the VolumeSnapshot of the PVC taken before the restore writes into it is kept after the restore ends (default 24h); none: take no undo snapshot.',
        ),
      size: z.string().optional().describe("New PVC only: its size (default: the source volume's)."),
      storageClassName: z.string().optional().describe("New PVC only: its StorageClass (default: the source's)."),
      accessModes: z
        .array(z.enum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']))
        .optional()
        .describe("New PVC only: its access modes (default: the source's)."),
    })
    .describe('Where to restore to.'),
  paths: z
    .array(z.string().min(1))
    .default([])
    .describe('Paths inside the volume to restore ("/etc/app.conf", "/data"), with all below them; empty: everything.'),
  useSnapshot: z
    .boolean()
    .default(true)
    .describe("Make a new PVC from the backup's kept VolumeSnapshot when there is one (the fast path)."),
});

export const volumeRestoreStatus = z.object({
  phase: z.enum(restorePhases).optional(),
  reason: z.enum(restoreReasons).optional(),
  message: z.string().optional(),
  backup: chosenBackup.optional().describe('The backup being restored, settled when the restore started.'),
  method: z
    .enum(['repository', 'snapshot'])
    .optional()
    .describe('repository: a mover reads the restic backup; snapshot: a new PVC made from the kept VolumeSnapshot.'),
  targetCreated: z
    .boolean()
    .optional()
    .describe('Safehold created the target PVC (and deletes it if the restore fails).'),
  undoSnapshot: z
    .object({
      name: z
        .string()
        .optional()
        .describe('The VolumeSnapshot of the target as it was before the restore wrote to it.'),
      expiresAt: z.string().optional().describe('When Safehold deletes it.'),
      none: z.string().optional().describe('Why there is no undo snapshot.'),
    })
    .optional()
    .describe('Existing PVC only: the way back to the target as it was before the restore.'),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  progress: z
    .object({
      percentDone: z.number(),
      filesDone: z.int(),
      totalFiles: z.int(),
      bytesDone: z.number(),
      totalBytes: z.number(),
    })
    .optional(),
  files: z.object({ restored: z.int(), skipped: z.int(), total: z.int(), deleted: z.int().optional() }).optional(),
  bytes: z.object({ restored: z.number(), skipped: z.number(), total: z.number() }).optional(),
  conditions: z.array(condition).optional(),
});

/** As written: fields with defaults may be absent on objects read from the API. */
export type VolumeRestoreSpec = z.input<typeof volumeRestoreSpec>;
export type VolumeRestoreStatus = z.infer<typeof volumeRestoreStatus>;

export interface VolumeRestore {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: VolumeRestoreSpec;
  status?: VolumeRestoreStatus;
}

/** On an undo snapshot (in the target's namespace): what marks it, when it goes, and which restore took it. */
export const undoSnapshotKeys = {
  /** Label "true": an undo snapshot, kept past its restore until it expires. */
  undo: 'safehold.io/undo',
  /** Annotation: RFC 3339 time after which Safehold deletes it. */
  expires: 'safehold.io/expires',
  /** Annotation: "namespace/name" of the VolumeRestore that took it. */
  of: 'safehold.io/undo-of',
} as const;
