// What a storage backend does for the test environment's CSI stand-in: make
// and remove volumes and point-in-time snapshots, and show a volume to the
// node agent as a directory or a block device. Backends: dir-backend.ts,
// rbd-backend.ts and cephfs-backend.ts. Like a CSI driver, a backend gets the
// PV's volume attributes (volume context) and a snapshot's source volume.

export type VolumeMode = 'Filesystem' | 'Block';

/** The StorageClass parameter external-provisioner takes a Filesystem volume's fstype from. */
export const fstypeParameter = 'csi.storage.k8s.io/fstype';

export interface CreateVolumeRequest {
  /** Stable per PV, so a retried create finds the same volume. */
  name: string;
  sizeBytes: number;
  mode: VolumeMode;
  parameters: Record<string, string>;
  fromSnapshot?: SnapshotRef;
}

/** A volume as a PV names it: spec.csi.volumeHandle and spec.csi.volumeAttributes. */
export interface VolumeRef {
  volumeHandle: string;
  attributes: Record<string, string>;
}

/** A snapshot as its VolumeSnapshotContent names it: status.snapshotHandle and spec.source.volumeHandle. */
export interface SnapshotRef {
  snapshotHandle: string;
  sourceVolumeHandle: string;
}

export interface CreatedVolume {
  volumeHandle: string;
  volumeAttributes?: Record<string, string>;
}

export interface CreatedSnapshot {
  snapshotHandle: string;
  sizeBytes: number;
  creationTime: Date;
}

export type Published =
  | { kind: 'directory'; path: string; release(): Promise<void> }
  | { kind: 'device'; path: string; release(): Promise<void> };

export interface VolumeBackend {
  readonly driver: string;
  createVolume(request: CreateVolumeRequest): Promise<CreatedVolume>;
  deleteVolume(volume: VolumeRef): Promise<void>;
  /** `name` is stable per VolumeSnapshotContent, so a retry finds the same snapshot. */
  createSnapshot(name: string, source: VolumeRef): Promise<CreatedSnapshot>;
  deleteSnapshot(snapshot: SnapshotRef): Promise<void>;
  /**
   * Only where the storage can: the volumes at one moment, one snapshot each (in order),
   * each deleted on its own with deleteSnapshot. `name` is stable per group content.
   */
  createGroupSnapshot?(name: string, sources: VolumeRef[]): Promise<CreatedSnapshot[]>;
  /** Makes the volume usable on this machine: a directory, or a block device for Block mode. */
  publish(volume: VolumeRef, mode: VolumeMode, readOnly: boolean): Promise<Published>;
}
