// What a storage backend does for the test environment's CSI stand-in: make
// and remove volumes and point-in-time snapshots, and show a volume to the
// node agent as a directory or a block device. The directory backend is here;
// Ceph-backed ones (RBD, CephFS) plug into the same interface.

export type VolumeMode = 'Filesystem' | 'Block';

export interface CreateVolumeRequest {
  /** Stable per PV, so a retried create finds the same volume. */
  name: string;
  sizeBytes: number;
  mode: VolumeMode;
  parameters: Record<string, string>;
  fromSnapshot?: string;
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
  deleteVolume(volumeHandle: string): Promise<void>;
  /** `name` is stable per VolumeSnapshotContent, so a retry finds the same snapshot. */
  createSnapshot(name: string, volumeHandle: string): Promise<CreatedSnapshot>;
  deleteSnapshot(snapshotHandle: string): Promise<void>;
  /** Makes the volume usable on this machine: a directory, or a block device for Block mode. */
  publish(volumeHandle: string, mode: VolumeMode, readOnly: boolean): Promise<Published>;
}
