// What one volume's runs say that passes over the whole catalogue need: its
// last finished run (the health series), its latest schedule slot (the
// scheduler) and, per repository, its first good backup (when maintenance is
// owed from). Reduced from that volume's runs alone, so a change to one run
// costs its volume's history, never the cluster's.
import type { VolumeBackup, VolumeHistory } from '../api/index.ts';
import { backupSet, decodeEntry, refOf } from './volume-history.ts';
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

/**
 * Pure: the summary of one volume's runs (`backups` are that volume's, in any order) and of its
 * history, if given: of the history only its newest line and each repository's oldest are read.
 */
export function volumeRuns(
  namespace: string,
  pvc: string,
  backups: readonly VolumeBackup[],
  history?: VolumeHistory,
): VolumeRuns {
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
  let lastRun = latestOutcomes(backups).get(`${namespace}/${pvc}`);
  const lines = history?.status?.backups ?? [];
  const defaults = history?.status ?? {};
  const named = backupSet(backups.map(refOf));
  // An archived line keeps no finish (done): as a first good backup it counts from its capture, a little early,
  // never not at all (a volume whose oldest line was archived would otherwise owe its repository no maintenance).
  const finished = (line: string | undefined, asCaptured = false) => {
    const entry = line === undefined ? undefined : decodeEntry(line, defaults);
    if (entry === undefined || named.has(entry) || (entry.done === undefined && !asCaptured)) return undefined;
    const at = Date.parse(entry.time) + (entry.done ?? 0) * 1000;
    return { entry, at, text: new Date(at).toISOString().replace('.000Z', 'Z') };
  };
  const newest = finished(lines[0]);
  if (newest !== undefined && (lastRun === undefined || lastRun.finished < newest.text))
    lastRun = { phase: 'Succeeded', reason: 'Succeeded', finished: newest.text };
  // Lines are newest first: a repository's first good backup is its last line.
  const lastLines = lines.some((line) => line.includes(' repo=')) ? lines : lines.slice(-1);
  for (const line of lastLines) {
    const oldest = finished(line, true);
    const repository = oldest?.entry.repository;
    if (oldest === undefined || repository === undefined) continue;
    const seen = firstGood.get(repository);
    if (seen === undefined || oldest.at < seen.at) firstGood.set(repository, { at: oldest.at, text: oldest.text });
  }
  return {
    namespace,
    pvc,
    lastRun,
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
