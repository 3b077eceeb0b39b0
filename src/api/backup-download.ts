// BackupDownload (namespaced): a tenant reads one path of a backup from
// outside the cluster, without the repository's keys: a listing of a folder or
// one file's bytes. A mover uploads it to a staging object in the repository's
// bucket; the status then carries a short-lived presigned URL for it. The
// staging object is deleted when the BackupDownload is, or when it expires.
import { z } from 'zod';
import { backupChoice, chosenBackup } from './backup-choice.ts';
import { condition } from './conditions.ts';
import { runFailureReasons } from './mover-protocol.ts';
import { duration } from './duration.ts';
import type { NamespacedMeta } from './object-meta.ts';

export const downloadPhases = ['Pending', 'Running', 'Succeeded', 'Failed', 'Expired'] as const;
export type DownloadPhase = (typeof downloadPhases)[number];

export const downloadReasons = [
  'Waiting',
  'MaintenanceWindow',
  'ConcurrencyLimit',
  'MoverRunning',
  'Succeeded',
  'Expired',
  'InvalidSpec',
  'Forbidden',
  'BackupNotFound',
  'RepositoryNotFound',
  'SecretNotFound',
  ...runFailureReasons,
] as const;
export type DownloadReason = (typeof downloadReasons)[number];

export const backupDownloadSpec = z.object({
  ...backupChoice,
  source: z
    .object({
      pvc: z.string().min(1).optional().describe('The PVC whose backups to read (it may no longer exist).'),
      dump: z
        .string()
        .min(1)
        .optional()
        .describe('Instead of a PVC: the ApplicationDump whose dumps to read (backup is then a DumpRun name or id).'),
      namespace: backupChoice.source.shape.namespace,
    })
    .describe('The volume, or the application dump, whose backup to read: exactly one of pvc and dump.'),
  path: z.string().min(1).default('/').describe('The path inside the volume ("/" is its root).'),
  what: z
    .enum(['listing', 'file'])
    .default('listing')
    .describe('listing: the entries under path, as JSON lines; file: the bytes of the file at path.'),
  depth: z.int().min(1).max(64).default(1).describe('A listing goes this many folder levels below path.'),
  ttl: duration.default('1h').describe('How long the URL and the staging object live after the upload (e.g. 15m).'),
});

export const backupDownloadStatus = z.object({
  phase: z.enum(downloadPhases).optional(),
  reason: z.enum(downloadReasons).optional(),
  message: z.string().optional(),
  backup: chosenBackup.optional(),
  url: z.string().optional().describe('A presigned GET URL of the staging object, valid until expiresAt.'),
  expiresAt: z.string().optional(),
  bytes: z.number().optional(),
  entries: z.int().optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  conditions: z.array(condition).optional(),
});

export type BackupDownloadSpec = z.input<typeof backupDownloadSpec>;
export type BackupDownloadStatus = z.infer<typeof backupDownloadStatus>;

export interface BackupDownload {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: BackupDownloadSpec;
  status?: BackupDownloadStatus;
}
