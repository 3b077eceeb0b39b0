// What one volume's runs say that passes over the whole catalogue need: its
// last finished run (the health series), its latest schedule slot (the
// scheduler) and, per repository, its first good backup (when maintenance is
// owed from). Reduced from that volume's runs alone, so a change to one run
// costs its volume's history, never the cluster's.
import type { VolumeBackup } from '../api/index.ts';
import { latestOutcomes, type RunOutcome } from './volume-health.ts';

export interface VolumeRuns {
  namespace: string;
  pvc: string;
  lastRun: RunOutcome | undefined;
  /** The latest slot a scheduled run was created for (spec.scheduledFor), RFC 3339. */
  lastSlot: string | undefined;
  /** Per repository this volume has good backups in: the first one's completion time. */
  firstGood: { repository: string; completionTime: string }[];
}

/** Pure: the summary of one volume's runs (`backups` are that volume's, in any order). */
export function volumeRuns(namespace: string, pvc: string, backups: readonly VolumeBackup[]): VolumeRuns {
  let lastSlot: { at: number; text: string } | undefined;
  const firstGood = new Map<string, { at: number; text: string }>();
  for (const backup of backups) {
    const slot = backup.spec.scheduledFor;
    const at = slot === undefined ? Number.NaN : Date.parse(slot);
    if (slot !== undefined && !Number.isNaN(at) && (lastSlot === undefined || lastSlot.at < at))
      lastSlot = { at, text: slot };
    const { phase, repository, completionTime } = backup.status ?? {};
    const done = Date.parse(completionTime ?? '');
    if (phase !== 'Succeeded' || repository === undefined || completionTime === undefined || Number.isNaN(done))
      continue;
    const seen = firstGood.get(repository);
    if (seen === undefined || done < seen.at) firstGood.set(repository, { at: done, text: completionTime });
  }
  return {
    namespace,
    pvc,
    lastRun: latestOutcomes(backups).get(`${namespace}/${pvc}`),
    lastSlot: lastSlot?.text,
    firstGood: [...firstGood].map(([repository, first]) => ({ repository, completionTime: first.text })),
  };
}

/** The good backups that maintenance counts from, one per volume and repository, in the shape maintenanceOwed reads. */
export function firstGoodBackups(runs: Iterable<VolumeRuns>) {
  return [...runs].flatMap((r) =>
    r.firstGood.map((g) => ({
      metadata: { namespace: r.namespace },
      status: { phase: 'Succeeded' as const, repository: g.repository, completionTime: g.completionTime },
    })),
  );
}
