// Which backup of which volume a restore or a download reads: the shared part
// of VolumeRestore and BackupDownload. The volume is a PVC name (it may have
// been deleted since: its backups stay in the catalogue); the backup is
// `latest`, one by id, or the newest captured at or before a time.
import { z } from 'zod';

export const backupChoice = {
  source: z
    .object({
      pvc: z.string().min(1).describe('The PVC whose backups to read (it may no longer exist).'),
      namespace: z
        .string()
        .min(1)
        .optional()
        .describe(
          'The PVC\'s namespace, when not this one: only allowed where that namespace\'s annotation safehold.io/restore-to names this one (or is "*").',
        ),
    })
    .describe('The volume whose backup to read.'),
  backup: z
    .string()
    .min(1)
    .default('latest')
    .describe('"latest", a restic snapshot id (8 to 64 hex digits), or a VolumeBackup name.'),
  asOf: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('The newest backup captured at or before this time (RFC 3339); only with backup "latest".'),
};

/** On a Namespace: which other namespaces may restore or read its volumes' backups ("a,b" or "*"). */
export const restoreToAnnotation = 'safehold.io/restore-to';

/** The backup a restore or download settled on when it started: it does not move as new backups come. */
export const chosenBackup = z.object({
  name: z.string().describe('The VolumeBackup.'),
  namespace: z.string(),
  pvc: z.string(),
  snapshotId: z.string().optional().describe("The backup's snapshot in the repository."),
  resticSnapshotId: z
    .string()
    .optional()
    .describe('The snapshot id as earlier versions wrote it; read when snapshotId is absent, never written.'),
  snapshotTime: z.string().optional(),
  repository: z.string(),
  /** Where the volume's files are in the restic snapshot, when not /data. */
  snapshotPath: z.string().optional(),
  /** A block volume's QCOW2 image in the restic snapshot. */
  image: z.string().optional(),
});

export type ChosenBackup = z.infer<typeof chosenBackup>;
