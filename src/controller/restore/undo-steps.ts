// The undo snapshot of a restore into an existing PVC, carried out: taken
// (no owner, so it outlives the restore), recorded in the status with a
// condition and an Event (or why there is none), and its expiry moved to the
// restore's end plus its keep time. The sweep deletes it once that has passed.
import { runLabels, undoSnapshotKeys, type VolumeRestore, type VolumeRestoreStatus } from '../../api/index.ts';
import { undoExpiry, undoKeep, type UndoRecord } from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { writeRunStatus } from '../run/run-status.ts';
import type { ObservedRestore } from './restore-observation.ts';

export interface UndoDeps {
  client: KubeClient;
  cache: ClusterCache;
}

/**
 * A VolumeSnapshot of the existing target, before anything writes into it. No owner reference (deleting
 * the restore does not delete it) and no owner record (the sweep never takes it for a leftover): it goes
 * when its expiry has passed. The run label puts it in the operator's cache; the restore label brings
 * the restore back when it becomes ready.
 */
export async function createUndoSnapshot(
  deps: UndoDeps,
  restore: VolumeRestore,
  observed: ObservedRestore,
  name: string,
  now: Date,
): Promise<void> {
  const keep = undoKeep(restore);
  if (keep.kind === 'none') return;
  const { namespace } = restore.metadata;
  await ignoreAlreadyExists(() =>
    deps.client.create(kinds.volumeSnapshot, {
      metadata: {
        name,
        namespace,
        labels: {
          [runLabels.run]: restore.metadata.name,
          [runLabels.restore]: restore.metadata.name,
          [undoSnapshotKeys.undo]: 'true',
        },
        annotations: {
          [undoSnapshotKeys.expires]: undoExpiry(keep, now),
          [undoSnapshotKeys.of]: `${namespace}/${restore.metadata.name}`,
        },
      },
      spec: {
        source: { persistentVolumeClaimName: restore.spec.target.pvc },
        ...(observed.undoClass === undefined ? {} : { volumeSnapshotClassName: observed.undoClass }),
      },
    } as never),
  );
}

/** The undo snapshot (or why there is none) in the status, a condition and an Event: never silent. */
export async function recordUndo(
  deps: UndoDeps,
  restore: VolumeRestore,
  undo: UndoRecord,
  now: Date,
  event: (type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void>,
): Promise<void> {
  const pvc = restore.spec.target.pvc;
  if (undo.kind === 'none') {
    const message = `no undo snapshot of PVC ${pvc}: ${undo.why}; the restore writes into it with no way back`;
    await writeRunStatus(
      deps.client,
      kinds.volumeRestore,
      restore,
      { undoSnapshot: { none: undo.why } },
      { type: 'UndoSnapshot', status: 'False', reason: 'NoUndoSnapshot', message },
      now,
    );
    await event('Warning', 'NoUndoSnapshot', message);
    return;
  }
  const expiresAt = deps.cache.snapshots.get(`${restore.metadata.namespace}/${undo.name}`)?.metadata?.annotations?.[
    undoSnapshotKeys.expires
  ];
  const message = `VolumeSnapshot ${undo.name} holds PVC ${pvc} as it was before the restore; kept until ${expiresAt ?? '?'} (then for ${restore.spec.target.keepUndoSnapshot ?? '24h'} after the restore ends)`;
  await writeRunStatus(
    deps.client,
    kinds.volumeRestore,
    restore,
    { undoSnapshot: { name: undo.name, ...(expiresAt === undefined ? {} : { expiresAt }) } },
    { type: 'UndoSnapshot', status: 'True', reason: 'UndoSnapshotTaken', message },
    now,
  );
  await event('Normal', 'UndoSnapshotTaken', message);
}

/** The undo snapshot is kept for its time after the restore ends: its expiry moves to then. */
export async function extendUndo(
  deps: UndoDeps,
  restore: VolumeRestore,
  now: Date,
): Promise<VolumeRestoreStatus['undoSnapshot']> {
  const recorded = restore.status?.undoSnapshot;
  const keep = undoKeep(restore);
  if (recorded?.name === undefined || keep.kind === 'none') return recorded;
  const expiresAt = undoExpiry(keep, now);
  await ignoreNotFound(() =>
    deps.client.mergePatch(
      kinds.volumeSnapshot,
      { namespace: restore.metadata.namespace, name: recorded.name ?? '' },
      { metadata: { annotations: { [undoSnapshotKeys.expires]: expiresAt } } },
    ),
  );
  return { ...recorded, expiresAt };
}

export function undoNote(undo: VolumeRestoreStatus['undoSnapshot']): string {
  if (undo?.name !== undefined)
    return `; the volume as it was before is in VolumeSnapshot ${undo.name} until ${undo.expiresAt ?? '?'}`;
  if (undo?.none !== undefined) return `; no undo snapshot: ${undo.none}`;
  return '';
}
