// The undo snapshot of a restore into an existing PVC: a VolumeSnapshot of the
// target taken before the mover writes, kept for a while after the restore
// ends (24 h unless the spec says otherwise), then deleted by the sweep. It
// has no owner: deleting the VolumeRestore leaves it to its expiry, and the
// sweep's leftover rule never takes it for a temporary.
import { durationMs, timestamp, undoSnapshotKeys, type VolumeRestore } from '../api/index.ts';

export const defaultUndoKeep = '24h';

/** How long the spec keeps an undo snapshot, or that it asks for none. */
export type UndoKeep = { kind: 'none' } | { kind: 'keep'; ms: number; text: string };

export function undoKeep(restore: VolumeRestore): UndoKeep {
  const text = restore.spec.target.keepUndoSnapshot ?? defaultUndoKeep;
  return text === 'none' ? { kind: 'none' } : { kind: 'keep', ms: durationMs(text), text };
}

/** A name of its own per restore (the uid), so a later restore of the same name never takes it for its own. */
export function undoSnapshotName(restore: VolumeRestore): string {
  const uid = (restore.metadata.uid ?? '').replace(/-/g, '').slice(0, 8);
  const name = restore.metadata.name.slice(0, 200).replace(/-+$/, '');
  return uid === '' ? `${name}-undo` : `${name}-undo-${uid}`;
}

/** When an undo snapshot goes: `keep` after `from` (its taking, then the restore's end). */
export function undoExpiry(keep: Extract<UndoKeep, { kind: 'keep' }>, from: Date): string {
  return timestamp(new Date(from.getTime() + keep.ms));
}

/** Whether the sweep deletes this snapshot now: an undo snapshot whose expiry has passed. */
export function undoSnapshotExpired(
  snapshot: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } },
  now: Date,
): boolean {
  if (snapshot.metadata?.labels?.[undoSnapshotKeys.undo] !== 'true') return false;
  const expires = Date.parse(snapshot.metadata.annotations?.[undoSnapshotKeys.expires] ?? '');
  return !Number.isNaN(expires) && expires <= now.getTime();
}

/**
 * The VolumeSnapshotClass (or, with the group API's annotation, VolumeGroupSnapshotClass) for a CSI
 * driver: the one marked default, else the first; none if the driver has none.
 */
export function snapshotClassFor<C extends { driver?: string; metadata?: { annotations?: Record<string, string> } }>(
  classes: readonly C[],
  driver: string | undefined,
  defaultAnnotation = 'snapshot.storage.kubernetes.io/is-default-class',
): C | undefined {
  if (driver === undefined) return undefined;
  const matching = classes.filter((c) => c.driver === driver);
  return matching.find((c) => c.metadata?.annotations?.[defaultAnnotation] === 'true') ?? matching[0];
}
