// The parts of the CSI snapshot APIs (snapshot.storage.k8s.io/v1, groupsnapshot) the storage
// stand-in reads and writes.
import type { LabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1.js';

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
    volumeGroupSnapshotName?: string;
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
  status?: {
    snapshotHandle?: string;
    creationTime?: number;
    readyToUse?: boolean;
    restoreSize?: number;
    volumeGroupSnapshotHandle?: string;
  };
}

export interface VolumeSnapshotClass {
  metadata: ObjectMeta;
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}

export const defaultSnapshotClassAnnotation = 'snapshot.storage.kubernetes.io/is-default-class';
export const boundProtectionFinalizer = 'snapshot.storage.kubernetes.io/volumesnapshot-bound-protection';

// The group snapshot API (groupsnapshot.storage.k8s.io/v1beta2), as far as the stand-in serves it.

export interface VolumeGroupSnapshot {
  metadata: ObjectMeta;
  spec: {
    source: { selector?: LabelSelector; volumeGroupSnapshotContentName?: string };
    volumeGroupSnapshotClassName?: string;
  };
  status?: {
    boundVolumeGroupSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    error?: { message?: string; time?: string };
  };
}

export interface VolumeSnapshotInfo {
  volumeHandle: string;
  snapshotHandle: string;
  creationTime?: number;
  readyToUse?: boolean;
  restoreSize?: number;
}

export interface VolumeGroupSnapshotContent {
  metadata: ObjectMeta;
  spec: {
    volumeGroupSnapshotRef: { apiVersion?: string; kind?: string; namespace: string; name: string; uid?: string };
    deletionPolicy: 'Delete' | 'Retain';
    driver: string;
    volumeGroupSnapshotClassName?: string;
    source: { volumeHandles?: string[] };
  };
  status?: {
    volumeGroupSnapshotHandle?: string;
    creationTime?: string;
    readyToUse?: boolean;
    volumeSnapshotInfoList?: VolumeSnapshotInfo[];
  };
}

export interface VolumeGroupSnapshotClass {
  metadata: ObjectMeta;
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}

export const defaultGroupSnapshotClassAnnotation = 'groupsnapshot.storage.kubernetes.io/is-default-class';
export const groupBoundFinalizer = 'groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-bound-protection';
export const inGroupFinalizer = 'snapshot.storage.kubernetes.io/volumesnapshot-in-group-protection';
