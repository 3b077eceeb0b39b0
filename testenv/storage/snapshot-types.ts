// The parts of the CSI snapshot API (snapshot.storage.k8s.io/v1) the storage
// stand-in reads and writes.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export interface VolumeSnapshot {
  metadata: ObjectMeta;
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { message?: string; time?: string };
  };
}

export interface VolumeSnapshotContent {
  metadata: ObjectMeta;
  spec: {
    volumeSnapshotRef: { apiVersion?: string; kind?: string; namespace: string; name: string; uid?: string };
    source: { volumeHandle?: string; snapshotHandle?: string };
    driver: string;
    deletionPolicy: 'Delete' | 'Retain';
    volumeSnapshotClassName?: string;
    sourceVolumeMode?: 'Filesystem' | 'Block';
  };
  status?: { snapshotHandle?: string; creationTime?: number; readyToUse?: boolean; restoreSize?: number };
}

export interface VolumeSnapshotClass {
  metadata: ObjectMeta;
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}

export const defaultSnapshotClassAnnotation = 'snapshot.storage.kubernetes.io/is-default-class';
export const boundProtectionFinalizer = 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';
