// How a block volume's backup finds its allocated ranges, decided from facts:
// on Ceph RBD, with Ceph access on the repository and a CSI snapshot to read,
// from `rbd diff` of the snapshot (ceph-csi names a snapshot's RBD snapshot
// csi-snap-<uuid of its handle>), incrementally since the last backup's
// snapshot when that is still kept; everywhere else, from a zero scan.
import type { PersistentVolume } from 'kubernetes-types/core/v1.js';
import { rbdCsiDriver, type BlockExtents } from '../api/index.ts';
import { chooseIncremental, type IncrementalInput } from './block-chain.ts';

export interface RbdImage {
  pool: string;
  radosNamespace?: string;
  image: string;
  clusterID?: string;
}

/** The RBD image behind a ceph-csi PV: pool[/radosNamespace]/imageName. */
export function rbdImageOf(pv: PersistentVolume | undefined): RbdImage | undefined {
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

export interface BlockPlanFacts {
  /** The run's capture method: rbd diff reads a CSI snapshot. */
  method: string;
  rbd: RbdImage | undefined;
  /** The repository's Ceph access, if any. */
  ceph: { monitors: string[]; user: string; clusterID?: string | undefined } | undefined;
  /** The handle of the run's VolumeSnapshotContent, once bound. */
  snapshotHandle: string | undefined;
  /** What an incremental is chosen from, when the policy allows incrementals (it keeps snapshots). */
  incremental: Omit<IncrementalInput, 'image'> | undefined;
}

export interface BlockPlan {
  extents: BlockExtents;
  parent?: string;
  fullBecause?: string;
}

/** Whether rbd diff can be asked at all (then the snapshot's handle is worth reading). */
export function rbdDiffPossible(facts: Pick<BlockPlanFacts, 'method' | 'rbd' | 'ceph'>): boolean {
  const { method, rbd, ceph } = facts;
  if (rbd === undefined || ceph === undefined || method !== 'snapshot') return false;
  return ceph.clusterID === undefined || ceph.clusterID === rbd.clusterID;
}

export function planBlockExtents(facts: BlockPlanFacts): BlockPlan {
  const zeroScan = { extents: { source: 'zero-scan' as const } };
  const { rbd, ceph } = facts;
  if (!rbdDiffPossible(facts) || rbd === undefined || ceph === undefined) return zeroScan;
  const name = rbdSnapshotName(facts.snapshotHandle ?? '');
  if (name === undefined) return zeroScan;
  const image = [rbd.pool, rbd.radosNamespace, rbd.image].filter((p) => p !== undefined).join('/');
  const choice = facts.incremental === undefined ? undefined : chooseIncremental({ ...facts.incremental, image });
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
