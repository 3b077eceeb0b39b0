// The facts a block volume's backup plan is decided from (core/block-plan.ts):
// the PV's RBD image, the repository's Ceph access, the handle of the run's
// snapshot (read from its VolumeSnapshotContent, which no cache holds, and
// only when rbd diff is possible), and what an incremental would be chosen
// from: the volume's backups, its kept snapshots, and what retention drops.
import type { BackupRepository, VolumeBackup } from '../../api/index.ts';
import {
  planBlockExtents,
  planRetention,
  rbdDiffPossible,
  rbdImageOf,
  type BlockPlan,
  type IncrementalInput,
} from '../../core/index.ts';
import { kinds } from '../../kube/index.ts';
import type { BackupDeps } from './backup-kind.ts';
import { backupSnapshotName } from './backup-observation.ts';

/** The block task's extents and parent: rbd diff (incremental when it can be) or a zero scan. */
export async function blockExtents(
  deps: Pick<BackupDeps, 'client' | 'cache' | 'now'>,
  backup: VolumeBackup,
  repository: BackupRepository,
  policy: { keepSnapshots: number; block: { incremental: boolean; maxChainLength: number } },
  method: string,
): Promise<BlockPlan> {
  const ns = backup.metadata.namespace;
  const pv = deps.cache.volumes.get(deps.cache.claims.get(`${ns}/${backup.spec.pvc}`)?.spec?.volumeName ?? '');
  const facts = { method, rbd: rbdImageOf(pv), ceph: repository.spec.ceph };
  if (!rbdDiffPossible(facts)) return planBlockExtents({ ...facts, snapshotHandle: undefined, incremental: undefined });
  const contentName = deps.cache.snapshots.get(`${ns}/${backupSnapshotName(backup)}`)?.status
    ?.boundVolumeSnapshotContentName;
  const content =
    contentName === undefined
      ? undefined
      : await deps.client.get<{ status?: { snapshotHandle?: string } }>(kinds.volumeSnapshotContent, {
          name: contentName,
        });
  return planBlockExtents({
    ...facts,
    snapshotHandle: content?.status?.snapshotHandle,
    incremental:
      policy.block.incremental && policy.keepSnapshots > 0
        ? incrementalFacts(deps, backup, policy.block.maxChainLength)
        : undefined,
  });
}

function incrementalFacts(
  deps: Pick<BackupDeps, 'cache' | 'now'>,
  backup: VolumeBackup,
  maxChainLength: number,
): Omit<IncrementalInput, 'image'> {
  const ns = backup.metadata.namespace;
  const mine = deps.cache.backupsOf(ns, backup.spec.pvc).filter((b) => b.status?.phase === 'Succeeded');
  const kept = new Set(
    deps.cache
      .snapshotsOf(ns, backup.spec.pvc)
      .filter((s) => s.status?.readyToUse === true && s.metadata?.deletionTimestamp === undefined)
      .map((s) => s.metadata?.name ?? ''),
  );
  // What retention would drop on its own merit, were it not for overlays that need it.
  const plan = planRetention({
    backups: mine,
    policies: deps.cache.parsedPolicies().valid,
    protectingPolicy: () => backup.status?.policy,
    claimExists: () => true,
    now: deps.now(),
  });
  const dropped = new Set(
    plan.flatMap((p) =>
      p.verdicts.filter((v) => !v.keep || v.reasons.every((r) => r.startsWith('parent of '))).map((v) => v.entry.id),
    ),
  );
  return { backups: mine, snapshotsKept: kept, maxChainLength, droppedByRetention: dropped };
}
