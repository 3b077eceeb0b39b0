// The metadata Safehold reads of its own namespaced objects (VolumeBackup,
// VolumeRestore, BackupDownload, RepositoryMaintenance), as the API returns it.
export interface NamespacedMeta {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
}
