// VolumeBackup (namespaced): one run of one volume's backup, its phases, its
// result. Created by the scheduler, by `safehold backup`, or by a tenant.
import { z } from 'zod';
import { hookRecord } from './hooks.ts';
import { condition } from './conditions.ts';
import { runFailureReasons } from './mover-protocol.ts';
import { verificationRecord } from './restore-drill.ts';
import type { NamespacedMeta } from './object-meta.ts';

/**
 * How a run captures a volume. snapshot: a CSI VolumeSnapshot's clone; live: the volume as it is;
 * cephfs-snapshot: a CephFS .snap snapshot the mover makes. A policy may also say auto.
 */
export const captureMethods = ['snapshot', 'live', 'cephfs-snapshot'] as const;
export type CaptureMethod = (typeof captureMethods)[number];

/**
 * How a file backup tells a changed file. full: restic's own check (size, mtime, ctime, inode), which
 * never misses a change; mtime-size: size and mtime only, which misses a file rewritten in place with
 * the same size and mtime, and is only ever used when a policy asks for it.
 */
export const changeDetectionModes = ['full', 'mtime-size'] as const;
export type ChangeDetectionMode = (typeof changeDetectionModes)[number];

export const backupPhases = ['Pending', 'Snapshotting', 'Running', 'Succeeded', 'Failed'] as const;
export type BackupPhase = (typeof backupPhases)[number];

/** Fixed reasons of the `Complete` condition and of status.reason. */
export const backupReasons = [
  'Waiting',
  'ConcurrencyLimit',
  'MaintenanceWindow',
  'VolumeBusy',
  'SnapshotPending',
  'MoverRunning',
  'Succeeded',
  'RetryScheduled',
  'RetriesExhausted',
  'DeadlineExceeded',
  'InvalidSpec',
  'NotProtected',
  'ClaimNotFound',
  'RepositoryNotFound',
  'SecretNotFound',
  'SnapshotFailed',
  'HookFailed',
  ...runFailureReasons,
] as const;
export type BackupReason = (typeof backupReasons)[number];

export const volumeBackupSpec = z.object({
  pvc: z.string().min(1).describe('The PVC to back up, in this namespace.'),
  policy: z.string().optional().describe('Defaults to the policy that protects the PVC.'),
  trigger: z
    .enum(['schedule', 'catch-up', 'manual'])
    .default('manual')
    .describe('What started the run: its schedule, a catch-up of missed schedule slots, or a person.'),
  scheduledFor: z.string().optional().describe('The schedule slot this run belongs to (RFC 3339).'),
  groupOf: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Set by Safehold: the backup of another volume of the same workload that started this one and took its snapshot together with its own, between the workload's hooks. Such a run runs no hooks and takes no snapshot of its own.",
    ),
});

/** A PVC's shape as a backup saw it: what a restore to a new PVC defaults to. */
export const volumeShape = z.object({
  capacity: z.string().optional(),
  storageClassName: z.string().optional(),
  accessModes: z.array(z.string()).optional(),
  volumeMode: z.string().optional(),
});

export const volumeBackupStatus = z.object({
  phase: z.enum(backupPhases).optional(),
  reason: z.enum(backupReasons).optional(),
  message: z.string().optional(),
  policy: z.string().optional(),
  repository: z.string().optional(),
  method: z.enum(captureMethods).optional(),
  attempt: z.int().optional(),
  node: z.string().optional().describe('The node a live run is pinned to (its volume is attached there).'),
  nextAttemptTime: z.string().optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  snapshotTime: z.string().optional().describe('When the data was captured: the time restic records for the backup.'),
  changeDetection: z
    .object({ mode: z.enum(changeDetectionModes), reason: z.string() })
    .optional()
    .describe('How the backup told changed files from unchanged ones, and why that way (file backups only).'),
  snapshotName: z
    .string()
    .optional()
    .describe("The run's VolumeSnapshot when it is not named after the run: its group snapshot's, for this volume."),
  volume: volumeShape.optional().describe('The PVC as it was when backed up: what a restore to a new PVC defaults to.'),
  snapshotId: z
    .string()
    .optional()
    .describe("The backup's snapshot in the repository, in the format of the repository's engine."),
  resticSnapshotId: z
    .string()
    .optional()
    .describe('The snapshot id as earlier versions wrote it; read when snapshotId is absent, never written.'),
  snapshotPath: z
    .string()
    .optional()
    .describe("Where the volume's files are in the restic snapshot, when not /data (a cephfs-snapshot backup)."),
  files: z.object({ new: z.int(), changed: z.int(), unmodified: z.int(), total: z.int() }).optional(),
  bytes: z.object({ added: z.number().optional(), total: z.number() }).optional(),
  block: z
    .object({
      file: z.string().describe('The QCOW2 image in the restic snapshot.'),
      virtualSize: z.number(),
      dataBytes: z.number().describe('Guest bytes stored as data.'),
      bytesRead: z.number().describe('Bytes read from the device.'),
      extentsFrom: z.enum(['rbd-diff', 'zero-scan']),
      rbdSnapshot: z
        .string()
        .optional()
        .describe('The RBD snapshot read (pool/image@snap): the base of the next incremental.'),
      parent: z.string().optional().describe('An incremental: the restic snapshot whose image this one overlays.'),
      chainLength: z.int().optional().describe('Images a restore applies: 1 for a full image.'),
      fullBecause: z.string().optional().describe('Why an incremental was possible but a full image was written.'),
      scanBecause: z
        .string()
        .optional()
        .describe('Why the device was scanned for data although rbd diff was asked for.'),
    })
    .optional()
    .describe('A block volume backed up as a QCOW2 image.'),
  group: z
    .array(z.object({ pvc: z.string(), backup: z.string() }))
    .optional()
    .describe(
      'The other volumes of the workload whose snapshots this run takes with its own, between the hooks, and the backups it started for them.',
    ),
  groupSnapshot: z
    .object({
      name: z.string().describe('The VolumeGroupSnapshot, in this namespace, named after this run.'),
      class: z.string().describe('Its VolumeGroupSnapshotClass.'),
    })
    .optional()
    .describe(
      "Where the volumes' CSI driver offers group snapshots: the VolumeGroupSnapshot that takes this volume's and the group's snapshots at one moment. Safehold deletes it once every run of the group has copied its volume.",
    ),
  hooks: z
    .array(hookRecord)
    .optional()
    .describe("The attempt's hooks, planned when it started, in the order they run, and how each went."),
  verification: verificationRecord
    .optional()
    .describe('The last restore drill of this backup that reached a verdict: whether it restores as recorded.'),
  conditions: z.array(condition).optional(),
});

export type VolumeBackupSpec = z.infer<typeof volumeBackupSpec>;
export type VolumeBackupStatus = z.infer<typeof volumeBackupStatus>;

/**
 * A backup's snapshot id, from a VolumeBackup's status or a restore's chosen backup: snapshotId,
 * else the field earlier versions wrote, so objects written before the rename keep working.
 */
export function snapshotIdOf(
  status: { snapshotId?: string | undefined; resticSnapshotId?: string | undefined } | undefined,
): string | undefined {
  return status?.snapshotId ?? status?.resticSnapshotId;
}

export interface VolumeBackup {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: VolumeBackupSpec;
  status?: VolumeBackupStatus;
}

export const runLabels = {
  run: 'safehold.io/run',
  pvc: 'safehold.io/pvc',
  /** On run objects in Safehold's namespace: the namespace of the run they belong to. */
  namespace: 'safehold.io/namespace',
  component: 'app.kubernetes.io/component',
  /** On the temporary objects of a VolumeRestore (and on the PVC it creates, while it runs). */
  restore: 'safehold.io/restore',
  /** On the temporary objects of a BackupDownload. */
  download: 'safehold.io/download',
  /** On the temporary objects of a RestoreDrill (its scratch volume, Secret and Job). */
  drill: 'safehold.io/drill',
} as const;
