// Which VolumeBackups a finished maintenance deletes, so the catalogue follows
// the repository: those whose restic snapshot it forgot, and failed runs older
// than a week. Never a volume's newest finished run: it is what says whether
// the volume's last backup failed (the failing alert, the dashboard), and a
// failure must stay visible until a success replaces it.
import { snapshotIdOf, type VolumeBackup } from '../api/index.ts';
import { sameSnapshot } from './volume-history.ts';

/** Failed backup runs older than this are deleted by maintenance. */
export const failedRunAgeMs = 7 * 86_400_000;

export function catalogueDeletions(
  backups: readonly VolumeBackup[],
  forgotten: readonly string[],
  now: Date,
): VolumeBackup[] {
  const newest = new Map<string, VolumeBackup>();
  for (const backup of backups) {
    if (backup.status?.phase !== 'Succeeded' && backup.status?.phase !== 'Failed') continue;
    const key = `${backup.metadata.namespace}/${backup.spec.pvc}`;
    const seen = newest.get(key);
    if (seen === undefined || finishedAt(seen) < finishedAt(backup)) newest.set(key, backup);
  }
  return backups.filter((backup) => {
    const id = snapshotIdOf(backup.status);
    const gone = id !== undefined && forgotten.some((f) => sameSnapshot(id, f));
    const staleFailure =
      backup.status?.phase === 'Failed' &&
      now.getTime() - Date.parse(backup.status.completionTime ?? '') > failedRunAgeMs &&
      newest.get(`${backup.metadata.namespace}/${backup.spec.pvc}`) !== backup;
    return gone || staleFailure;
  });
}

function finishedAt(backup: VolumeBackup): string {
  return backup.status?.completionTime ?? backup.metadata.creationTimestamp ?? '';
}
