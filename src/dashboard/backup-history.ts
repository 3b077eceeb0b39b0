// One volume's runs as the history page lists and charts them: each
// VolumeBackup of the PVC with its result, its sizes and how long it took.
import { snapshotIdOf, type VolumeBackup } from '../api/index.ts';

export interface HistoryEntry {
  name: string;
  phase: string;
  reason: string | undefined;
  message: string | undefined;
  trigger: string;
  method: string | undefined;
  startTime: string | undefined;
  /** When the data was captured (else started, else created), in ms: the run's place in time. */
  time: number;
  durationMs: number | undefined;
  bytesAdded: number | undefined;
  bytesProcessed: number | undefined;
  files: number | undefined;
  snapshotId: string | undefined;
}

/** The runs of namespace/pvc, newest first. */
export function backupHistory(backups: readonly VolumeBackup[], namespace: string, pvc: string): HistoryEntry[] {
  return backups
    .filter((b) => b.metadata.namespace === namespace && b.spec.pvc === pvc)
    .map((b) => {
      const s = b.status;
      const started = Date.parse(s?.startTime ?? '');
      const completed = Date.parse(s?.completionTime ?? '');
      return {
        name: b.metadata.name,
        phase: s?.phase ?? 'Pending',
        reason: s?.reason,
        message: s?.message,
        trigger: b.spec.trigger,
        method: s?.method,
        startTime: s?.startTime ?? b.metadata.creationTimestamp,
        time: Date.parse(s?.snapshotTime ?? s?.startTime ?? b.metadata.creationTimestamp ?? '') || 0,
        durationMs: Number.isNaN(started) || Number.isNaN(completed) ? undefined : completed - started,
        bytesAdded: s?.bytes?.added,
        bytesProcessed: s?.bytes?.total,
        files: s?.files?.total,
        snapshotId: snapshotIdOf(s),
      };
    })
    .sort((a, b) => b.time - a.time || b.name.localeCompare(a.name));
}
