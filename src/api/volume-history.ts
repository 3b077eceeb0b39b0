// VolumeHistory (namespaced, named after its PVC): the catalogue of one
// volume's kept backups, in one compact object, so what Safehold keeps in the
// API grows with volumes, not with the length of their history. The operator
// writes it as backups succeed and as maintenance forgets them; tenants read
// it. VolumeBackups are the runs: once a run's backup is in its volume's
// history, the run object is only a record and is deleted after a while.
import { z } from 'zod';
import type { NamespacedMeta } from './object-meta.ts';
import { volumeShape } from './volume-backup.ts';

export const volumeHistorySpec = z.object({
  pvc: z.string().min(1).describe('The PVC whose backups this is, in this namespace (it may no longer exist).'),
});

export const volumeHistoryStatus = z.object({
  repository: z.string().optional().describe('The repository of the backups that name none (the newest one).'),
  policy: z.string().optional().describe('The policy of the backups that name none (the newest one).'),
  volume: volumeShape
    .optional()
    .describe('The PVC as its newest backup saw it: what a restore to a new PVC defaults to.'),
  backups: z
    .array(z.string())
    .optional()
    .describe(
      'The kept backups, newest first, one line each: "<VolumeBackup name> <capture time> <restic snapshot id>" then key=value fields (done, took, trigger, repo, policy, method, changes, bytes, added, files, vs, path, and a block image\'s image, size, data, read, from, rbd, parent, chain, full, scan). In a long history, only the newest backups and the oldest one (the last line); the ones between are in archive.',
    ),
  archived: z.number().int().min(0).optional().describe('How many kept backups the archive holds.'),
  archive: z
    .string()
    .optional()
    .describe(
      "The kept backups between the newest line and the oldest, compressed (Brotli, base64). They keep name, time, size, method and what a restore needs; a file backup's restic id is shortened to 16 digits. `safehold backups` lists them.",
    ),
});

export type VolumeHistorySpec = z.infer<typeof volumeHistorySpec>;
export type VolumeHistoryStatus = z.infer<typeof volumeHistoryStatus>;

export interface VolumeHistory {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: VolumeHistorySpec;
  status?: VolumeHistoryStatus;
}
