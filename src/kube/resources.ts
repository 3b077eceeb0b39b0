// Where each kind of object lives in the API: group, version, plural, scope,
// and the URL path built from them. One table so no caller spells a path.

import { apiGroup, apiVersion } from '../api/group.ts';

export interface ResourceKind {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface ObjectRef {
  namespace?: string | undefined;
  name?: string | undefined;
}

const kind = (group: string, version: string, kindName: string, plural: string, namespaced: boolean): ResourceKind => ({
  group,
  version,
  kind: kindName,
  plural,
  namespaced,
});

export const kinds = {
  namespace: kind('', 'v1', 'Namespace', 'namespaces', false),
  node: kind('', 'v1', 'Node', 'nodes', false),
  pod: kind('', 'v1', 'Pod', 'pods', true),
  secret: kind('', 'v1', 'Secret', 'secrets', true),
  configMap: kind('', 'v1', 'ConfigMap', 'configmaps', true),
  event: kind('', 'v1', 'Event', 'events', true),
  serviceAccount: kind('', 'v1', 'ServiceAccount', 'serviceaccounts', true),
  persistentVolumeClaim: kind('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true),
  persistentVolume: kind('', 'v1', 'PersistentVolume', 'persistentvolumes', false),
  storageClass: kind('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false),
  csiDriver: kind('storage.k8s.io', 'v1', 'CSIDriver', 'csidrivers', false),
  job: kind('batch', 'v1', 'Job', 'jobs', true),
  deployment: kind('apps', 'v1', 'Deployment', 'deployments', true),
  statefulSet: kind('apps', 'v1', 'StatefulSet', 'statefulsets', true),
  lease: kind('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  customResourceDefinition: kind(
    'apiextensions.k8s.io',
    'v1',
    'CustomResourceDefinition',
    'customresourcedefinitions',
    false,
  ),
  clusterRole: kind('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  clusterRoleBinding: kind('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  role: kind('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
  roleBinding: kind('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  volumeSnapshot: kind('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshot', 'volumesnapshots', true),
  volumeSnapshotContent: kind(
    'snapshot.storage.k8s.io',
    'v1',
    'VolumeSnapshotContent',
    'volumesnapshotcontents',
    false,
  ),
  volumeSnapshotClass: kind('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshotClass', 'volumesnapshotclasses', false),
  // v1beta2: what Kubernetes 1.34's snapshot-controllers serve (the API is beta there); v1 only the newest.
  volumeGroupSnapshot: kind(
    'groupsnapshot.storage.k8s.io',
    'v1beta2',
    'VolumeGroupSnapshot',
    'volumegroupsnapshots',
    true,
  ),
  volumeGroupSnapshotContent: kind(
    'groupsnapshot.storage.k8s.io',
    'v1beta2',
    'VolumeGroupSnapshotContent',
    'volumegroupsnapshotcontents',
    false,
  ),
  volumeGroupSnapshotClass: kind(
    'groupsnapshot.storage.k8s.io',
    'v1beta2',
    'VolumeGroupSnapshotClass',
    'volumegroupsnapshotclasses',
    false,
  ),
  fluxGitRepository: kind('source.toolkit.fluxcd.io', 'v1', 'GitRepository', 'gitrepositories', true),
  objectBucketClaim: kind('objectbucket.io', 'v1alpha1', 'ObjectBucketClaim', 'objectbucketclaims', true),
  backupPolicy: kind(apiGroup, apiVersion, 'BackupPolicy', 'backuppolicies', false),
  backupRepository: kind(apiGroup, apiVersion, 'BackupRepository', 'backuprepositories', false),
  volumeBackup: kind(apiGroup, apiVersion, 'VolumeBackup', 'volumebackups', true),
  volumeHistory: kind(apiGroup, apiVersion, 'VolumeHistory', 'volumehistories', true),
  repositoryMaintenance: kind(apiGroup, apiVersion, 'RepositoryMaintenance', 'repositorymaintenances', true),
  volumeRestore: kind(apiGroup, apiVersion, 'VolumeRestore', 'volumerestores', true),
  backupDownload: kind(apiGroup, apiVersion, 'BackupDownload', 'backupdownloads', true),
  applicationDump: kind(apiGroup, apiVersion, 'ApplicationDump', 'applicationdumps', true),
  dumpRun: kind(apiGroup, apiVersion, 'DumpRun', 'dumpruns', true),
  bucketRestore: kind(apiGroup, apiVersion, 'BucketRestore', 'bucketrestores', true),
  restoreDrill: kind(apiGroup, apiVersion, 'RestoreDrill', 'restoredrills', true),
} as const satisfies Record<string, ResourceKind>;

export function apiVersionOf(k: ResourceKind): string {
  return k.group === '' ? k.version : `${k.group}/${k.version}`;
}

/** The URL path of a collection (no name) or of one object, optionally a subresource. */
export function resourcePath(k: ResourceKind, ref: ObjectRef = {}, subresource?: string): string {
  const base = k.group === '' ? `/api/${k.version}` : `/apis/${k.group}/${k.version}`;
  if (k.namespaced && ref.name !== undefined && ref.namespace === undefined) {
    throw new Error(`${k.kind} "${ref.name}" is namespaced: a namespace is required`);
  }
  const ns = k.namespaced && ref.namespace !== undefined ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  const name = ref.name === undefined ? '' : `/${encodeURIComponent(ref.name)}`;
  const sub = subresource === undefined ? '' : `/${subresource}`;
  return `${base}${ns}/${k.plural}${name}${sub}`;
}
