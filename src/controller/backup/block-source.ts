// What a block volume's backup reads and how: the device of the snapshot's
// clone, and where its allocated ranges come from. On Ceph RBD, with Ceph
// access on the repository, from `rbd diff` of the snapshot the clone came
// from (ceph-csi names a snapshot's RBD snapshot csi-snap-<uuid of its
// handle>), incrementally since the last backup's snapshot when that is still
// kept; everywhere else, from a zero scan of the device.
import type { PersistentVolume } from 'kubernetes-types/core/v1.js';
import { rbdCsiDriver, type BackupRepository, type BlockExtents, type VolumeBackup } from '../../api/index.ts';
import { chooseIncremental, planRetention, type IncrementalChoice } from '../../core/index.ts';
import { kinds } from '../../kube/index.ts';
import type { BackupControllerDeps } from './backup-kind.ts';
import { snapshotName } from './backup-observation.ts';

/** The RBD image behind a ceph-csi PV: pool[/radosNamespace]/imageName. */
export function rbdImageOf(
  pv: PersistentVolume | undefined,
): { pool: string; radosNamespace?: string; image: string; clusterID?: string } | undefined {
  const csi = pv?.spec?.csi;
  const attributes = csi?.volumeAttributes ?? {};
  const pool = attributes.pool;
  const image = attributes.imageName;
  if (csi?.driver !== rbdCsiDriver || pool === undefined || image === undefined) return undefined;
  return {
    pool,
    image,
    ...(attributes.radosNamespace ? { radosNamespace: attributes.radosNamespace } : {}),
    ...(attributes.clusterID === undefined ? {} : { clusterID: attributes.clusterID }),
  };
}

/** ceph-csi's snapshot handle ends in a UUID; its RBD snapshot is named csi-snap-<UUID>. */
export function rbdSnapshotName(snapshotHandle: string): string | undefined {
  const uuid = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(snapshotHandle)?.[1];
  return uuid === undefined ? undefined : `csi-snap-${uuid}`;
}

/** The block task's extents and parent: rbd diff (incremental when it can be) or a zero scan. */
export async function blockExtents(
  deps: Pick<BackupControllerDeps, 'client' | 'cache' | 'now'>,
  backup: VolumeBackup,
  repository: BackupRepository,
  policy: { keepSnapshots: number; block: { incremental: boolean; maxChainLength: number } },
  method: string,
): Promise<{ extents: BlockExtents; parent?: string; fullBecause?: string }> {
  const ns = backup.metadata.namespace;
  const pv = deps.cache.volumes.get(deps.cache.claims.get(`${ns}/${backup.spec.pvc}`)?.spec?.volumeName ?? '');
  const rbd = rbdImageOf(pv);
  const ceph = repository.spec.ceph;
  const zeroScan = { extents: { source: 'zero-scan' as const } };
  if (rbd === undefined || ceph === undefined || method !== 'snapshot') return zeroScan;
  if (ceph.clusterID !== undefined && ceph.clusterID !== rbd.clusterID) return zeroScan;
  const snapshot = deps.cache.snapshots.get(`${ns}/${snapshotName(backup)}`);
  const contentName = snapshot?.status?.boundVolumeSnapshotContentName;
  if (contentName === undefined) return zeroScan;
  const content = await deps.client.get<{ status?: { snapshotHandle?: string } }>(kinds.volumeSnapshotContent, {
    name: contentName,
  });
  const name = rbdSnapshotName(content.status?.snapshotHandle ?? '');
  if (name === undefined) return zeroScan;
  const image = [rbd.pool, rbd.radosNamespace, rbd.image].filter((p) => p !== undefined).join('/');
  const choice =
    policy.block.incremental && policy.keepSnapshots > 0
      ? incrementalChoice(deps, backup, image, policy.block.maxChainLength)
      : undefined;
  const extents: BlockExtents = {
    source: 'rbd-diff',
    ceph: { monitors: ceph.monitors, user: ceph.user },
    snapshot: {
      pool: rbd.pool,
      ...(rbd.radosNamespace === undefined ? {} : { radosNamespace: rbd.radosNamespace }),
      image: rbd.image,
      snapshot: name,
    },
    ...(choice?.kind === 'incremental' ? { fromSnapshot: choice.fromSnapshot } : {}),
  };
  if (choice?.kind === 'incremental') return { extents, parent: choice.parent };
  return { extents, ...(choice?.because === undefined ? {} : { fullBecause: choice.because }) };
}

function incrementalChoice(
  deps: Pick<BackupControllerDeps, 'cache' | 'now'>,
  backup: VolumeBackup,
  image: string,
  maxChainLength: number,
): IncrementalChoice {
  const ns = backup.metadata.namespace;
  const mine = deps.cache.volumeBackups
    .list()
    .filter((b) => b.metadata.namespace === ns && b.spec.pvc === backup.spec.pvc && b.status?.phase === 'Succeeded');
  const kept = new Set(
    deps.cache.snapshots
      .list()
      .filter(
        (s) =>
          s.metadata?.namespace === ns &&
          s.spec?.source?.persistentVolumeClaimName === backup.spec.pvc &&
          s.status?.readyToUse === true &&
          s.metadata.deletionTimestamp === undefined,
      )
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
  return chooseIncremental({ backups: mine, image, snapshotsKept: kept, maxChainLength, droppedByRetention: dropped });
}
