// What one pass over a volume's runs and history does, decided purely: the
// history to write (Succeeded runs recorded, forgotten snapshots dropped),
// the run objects to delete (forgotten ones; recorded ones older than the
// keep-runs-for period, but only while the history holds their backup), the
// runs to mark as recorded, and when to look again.
import { snapshotIdOf, type VolumeBackup, type VolumeHistory, type VolumeHistoryStatus } from '../api/index.ts';
import { backupSet, historyEntries, sameSnapshot, nextHistory, recordedAnnotation, refOf } from './volume-history.ts';

export interface HistoryPass {
  /** The history's new status, if it changes. */
  write: VolumeHistoryStatus | undefined;
  /** Run objects (names) to delete, and to mark as recorded. */
  remove: string[];
  mark: string[];
  /** When a run's record expires or a forgotten one may still be seen: look again then. */
  againAfterMs: number | undefined;
  /** Every forgotten snapshot is out of the history and the runs: the volume's forgotten ids can go. */
  forgettingDone: boolean;
}

export function historyPass(input: {
  namespace: string;
  pvc: string;
  history: VolumeHistory | undefined;
  runs: readonly VolumeBackup[];
  forgotten: readonly string[];
  now: Date;
  keepRunsForMs: number;
}): HistoryPass {
  const { history, runs, forgotten, now } = input;
  const gone = (id: string | undefined) => id !== undefined && forgotten.some((f) => sameSnapshot(id, f));
  const recorded = (run: VolumeBackup) => run.metadata.annotations?.[recordedAnnotation] !== undefined;
  const unrecorded = runs.filter((r) => r.status?.phase === 'Succeeded' && !recorded(r));
  const write = nextHistory(history, unrecorded, forgotten);
  const written =
    write === undefined
      ? history
      : { metadata: { namespace: input.namespace, name: input.pvc }, spec: { pvc: input.pvc }, status: write };
  const held = backupSet(historyEntries(written));
  const remove: string[] = [];
  const mark: string[] = [];
  let nextExpiry = Number.POSITIVE_INFINITY;
  for (const run of runs) {
    if (gone(snapshotIdOf(run.status))) {
      remove.push(run.metadata.name);
      continue;
    }
    // Only while the history holds its backup (an admin may have deleted the history).
    if (run.status?.phase !== 'Succeeded' || !held.has(refOf(run))) continue;
    const expires = Date.parse(run.status.completionTime ?? '') + input.keepRunsForMs;
    if (!(expires > now.getTime())) remove.push(run.metadata.name);
    else {
      nextExpiry = Math.min(nextExpiry, expires);
      if (!recorded(run)) mark.push(run.metadata.name);
    }
  }
  const forgettingDone = write === undefined && !runs.some((r) => gone(snapshotIdOf(r.status)));
  const againAfterMs =
    forgotten.length > 0 && !forgettingDone
      ? 1000
      : Number.isFinite(nextExpiry)
        ? Math.max(1000, nextExpiry - now.getTime())
        : undefined;
  return { write, remove, mark, againAfterMs, forgettingDone };
}
