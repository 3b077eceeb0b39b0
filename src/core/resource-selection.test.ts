import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  groupKind,
  groupOf,
  resourceName,
  selectResources,
  type DiscoveredResource,
} from './resource-selection.ts';

const rw = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const r = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  verbs: readonly string[] = rw,
): DiscoveredResource => ({ group, version, kind, plural, namespaced, verbs });

/** A cluster's discovery, as the API server lists it (abridged). */
const discovery: DiscoveredResource[] = [
  r('', 'v1', 'Pod', 'pods', true),
  r('', 'v1', 'Pod', 'pods/log', true, ['get']),
  r('', 'v1', 'Service', 'services', true),
  r('', 'v1', 'ConfigMap', 'configmaps', true),
  r('', 'v1', 'Secret', 'secrets', true),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', true),
  r('', 'v1', 'TokenRequest', 'serviceaccounts/token', true, ['create']),
  r('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true),
  r('', 'v1', 'Event', 'events', true),
  r('', 'v1', 'Endpoints', 'endpoints', true),
  r('', 'v1', 'Binding', 'bindings', true, ['create']),
  r('', 'v1', 'PodTemplate', 'podtemplates', true),
  r('', 'v1', 'Namespace', 'namespaces', false),
  r('', 'v1', 'Node', 'nodes', false),
  r('', 'v1', 'ComponentStatus', 'componentstatuses', false, ['get', 'list']),
  r('', 'v1', 'PersistentVolume', 'persistentvolumes', false),
  r('apps', 'v1', 'Deployment', 'deployments', true),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', true),
  r('apps', 'v1', 'ControllerRevision', 'controllerrevisions', true),
  r('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true),
  r('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true),
  r('events.k8s.io', 'v1', 'Event', 'events', true),
  r('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true),
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  r('authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true, ['create']),
  r('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, ['create']),
  r('authentication.k8s.io', 'v1', 'TokenReview', 'tokenreviews', false, ['create']),
  r('metrics.k8s.io', 'v1beta1', 'PodMetrics', 'pods', true, ['get', 'list']),
  r('metrics.k8s.io', 'v1beta1', 'NodeMetrics', 'nodes', false, ['get', 'list']),
  r('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshot', 'volumesnapshots', true),
  r('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshotContent', 'volumesnapshotcontents', false),
  r('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshotClass', 'volumesnapshotclasses', false),
  r('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false),
  r('storage.k8s.io', 'v1', 'CSIStorageCapacity', 'csistoragecapacities', true),
  r('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
  r('apiregistration.k8s.io', 'v1', 'APIService', 'apiservices', false),
  r('certificates.k8s.io', 'v1', 'CertificateSigningRequest', 'certificatesigningrequests', false),
  r('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  r('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  r('admissionregistration.k8s.io', 'v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false),
  r('safehold.io', 'v1alpha1', 'VolumeBackup', 'volumebackups', true),
  r('safehold.io', 'v1alpha1', 'VolumeRestore', 'volumerestores', true),
  r('safehold.io', 'v1alpha1', 'VolumeHistory', 'volumehistories', true),
  r('safehold.io', 'v1alpha1', 'ApplicationDump', 'applicationdumps', true),
  r('safehold.io', 'v1alpha1', 'BackupPolicy', 'backuppolicies', false),
  r('example.com', 'v1beta1', 'Widget', 'widgets', true),
  r('example.com', 'v1', 'Widget', 'widgets', true),
  r('example.com', 'v1', 'Gadget', 'gadgets', true, ['get', 'list']),
  r('example.com', 'v1', 'ClusterWidget', 'clusterwidgets', false),
];

const names = (resources: readonly DiscoveredResource[]) => resources.map((x) => `${resourceName(x)} ${x.version}`);

describe('selectResources: a namespace backup', () => {
  const selection = selectResources({ resources: discovery, scope: 'namespace' });

  it('reads each namespaced kind that can be listed, read and created, once, sorted by group and kind', () => {
    expect(names(selection.included)).toEqual([
      'configmaps v1',
      'persistentvolumeclaims v1',
      'pods v1',
      'podtemplates v1',
      'secrets v1',
      'services v1',
      'serviceaccounts v1',
      'deployments.apps v1',
      'replicasets.apps v1',
      'horizontalpodautoscalers.autoscaling v2',
      'widgets.example.com v1',
      'rolebindings.rbac.authorization.k8s.io v1',
      'applicationdumps.safehold.io v1alpha1',
      'volumehistories.safehold.io v1alpha1',
    ]);
    expect(selection.kinds.has('Deployment.apps')).toBe(true);
    expect(selection.kinds.has('Pod')).toBe(true);
    expect(selection.kinds.has('Event')).toBe(false);
  });

  it.each([
    ['events', 'not desired state'],
    ['events.events.k8s.io', 'not desired state'],
    ['endpoints', "derived: the control plane rebuilds them from each Service's selector"],
    ['endpointslices.discovery.k8s.io', 'derived'],
    ['leases.coordination.k8s.io', 'a holder that is gone'],
    ['controllerrevisions.apps', 'StatefulSet and DaemonSet controllers'],
    ['bindings', 'never stored'],
    ['localsubjectaccessreviews.authorization.k8s.io', 'never stored'],
    ['pods.metrics.k8s.io', 'measured by the metrics server'],
    ['volumesnapshots.snapshot.storage.k8s.io', 'whose data is not in the object'],
    ['csistoragecapacities.storage.k8s.io', 'published by CSI drivers'],
    ['volumebackups.safehold.io', 'it would run again'],
    ['volumerestores.safehold.io', 'it would run again'],
    ['gadgets.example.com', 'the API does not allow create'],
  ])('leaves out %s: %s', (name, reason) => {
    const skipped = selection.skipped.find((s) => resourceName(s.resource) === name);
    expect(skipped?.reason).toContain(reason);
    expect(skipped?.reason.startsWith(`${name}: `)).toBe(true);
  });

  it('lists neither subresources, nor versions not chosen, nor cluster-scoped kinds as skipped', () => {
    const skipped = selection.skipped.map((s) => `${s.resource.plural} ${s.resource.version}`);
    expect(skipped).not.toContain('pods/log v1');
    expect(skipped).not.toContain('serviceaccounts/token v1');
    expect(skipped).not.toContain('widgets v1beta1');
    expect(skipped).not.toContain('nodes v1');
    expect(selection.skipped).toHaveLength(14);
  });
});

describe('selectResources: a cluster backup', () => {
  const selection = selectResources({ resources: discovery, scope: 'cluster' });

  it('reads the cluster-scoped kinds that are configuration, custom ones included', () => {
    expect(names(selection.included)).toEqual([
      'namespaces v1',
      'persistentvolumes v1',
      'validatingwebhookconfigurations.admissionregistration.k8s.io v1',
      'customresourcedefinitions.apiextensions.k8s.io v1',
      'clusterwidgets.example.com v1',
      'clusterroles.rbac.authorization.k8s.io v1',
      'backuppolicies.safehold.io v1alpha1',
      'volumesnapshotclasses.snapshot.storage.k8s.io v1',
      'storageclasses.storage.k8s.io v1',
    ]);
  });

  it.each([
    ['nodes', "each node's kubelet"],
    ['componentstatuses', 'health probe'],
    ['apiservices.apiregistration.k8s.io', 'breaks discovery'],
    ['certificatesigningrequests.certificates.k8s.io', 'one-time request'],
    ['tokenreviews.authentication.k8s.io', 'never stored'],
    ['selfsubjectaccessreviews.authorization.k8s.io', 'never stored'],
    ['nodes.metrics.k8s.io', 'measured'],
    ['volumesnapshotcontents.snapshot.storage.k8s.io', 'whose data is not in the object'],
  ])('leaves out %s: %s', (name, reason) => {
    expect(selection.skipped.find((s) => resourceName(s.resource) === name)?.reason).toContain(reason);
  });
});

describe('selectResources: versions', () => {
  const hpa = discovery.filter((x) => x.kind === 'HorizontalPodAutoscaler');

  it.each([
    { name: 'the most stable, newest version without a preference', preferred: undefined, version: 'v2' },
    { name: "the group's preferred version", preferred: new Map([['autoscaling', 'v1']]), version: 'v1' },
    {
      name: 'the most stable one when the preferred version does not serve the kind',
      preferred: new Map([['autoscaling', 'v3']]),
      version: 'v2',
    },
  ])('chooses $name', ({ preferred, version }) => {
    const selection = selectResources({
      resources: [...hpa].reverse(),
      scope: 'namespace',
      preferredVersions: preferred,
    });
    expect(selection.included.map((x) => x.version)).toEqual([version]);
  });

  it("sorts versions in Kubernetes' order", () => {
    const versions = ['foo10', 'v1alpha1', 'v1beta1', 'v1', 'v11alpha2', 'v2beta1', 'v1beta2', 'foo1', 'v2'];
    expect(versions.sort(compareVersions)).toEqual([
      'v2',
      'v1',
      'v2beta1',
      'v1beta2',
      'v1beta1',
      'v11alpha2',
      'v1alpha1',
      'foo1',
      'foo10',
    ]);
  });
});

describe('group and kind names', () => {
  it.each([
    ['apps/v1', 'apps', 'Deployment', 'Deployment.apps'],
    ['v1', '', 'Pod', 'Pod'],
    [
      'snapshot.storage.k8s.io/v1',
      'snapshot.storage.k8s.io',
      'VolumeSnapshot',
      'VolumeSnapshot.snapshot.storage.k8s.io',
    ],
  ])('%s %s', (apiVersion, group, kind, key) => {
    expect(groupOf(apiVersion)).toBe(group);
    expect(groupKind(group, kind)).toBe(key);
  });
});
