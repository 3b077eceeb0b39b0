import { describe, expect, it } from 'vitest';
import { managedByKubernetes } from './kubernetes-managed.ts';
import type { ApiObject } from './resource-sanitize.ts';

const object = (apiVersion: string, kind: string, metadata: ApiObject['metadata']): ApiObject => ({
  apiVersion,
  kind,
  metadata,
});

describe('managedByKubernetes', () => {
  it.each([
    {
      name: 'a bootstrap ClusterRole',
      live: object('rbac.authorization.k8s.io/v1', 'ClusterRole', {
        name: 'system:basic-user',
        labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
      }),
      managed: /label kubernetes\.io\/bootstrapping=rbac-defaults/,
    },
    {
      name: 'a bootstrap ClusterRoleBinding',
      live: object('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', {
        name: 'cluster-admin',
        labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
      }),
      managed: /rbac-defaults/,
    },
    { name: 'kube-system', live: object('v1', 'Namespace', { name: 'kube-system' }), managed: /control plane/ },
    { name: 'default', live: object('v1', 'Namespace', { name: 'default' }), managed: /control plane/ },
    {
      name: 'system-cluster-critical',
      live: object('scheduling.k8s.io/v1', 'PriorityClass', { name: 'system-cluster-critical' }),
      managed: /refuses any change/,
    },
    {
      name: 'a FlowSchema the API server keeps',
      live: object('flowcontrol.apiserver.k8s.io/v1', 'FlowSchema', {
        name: 'exempt',
        annotations: { 'apf.kubernetes.io/autoupdate-spec': 'true' },
      }),
      managed: /apf\.kubernetes\.io\/autoupdate-spec=true/,
    },
    {
      name: 'a FlowSchema its admin took over',
      live: object('flowcontrol.apiserver.k8s.io/v1', 'FlowSchema', {
        name: 'exempt',
        annotations: { 'apf.kubernetes.io/autoupdate-spec': 'false' },
      }),
      managed: undefined,
    },
    {
      name: 'a ClusterRole of the users',
      live: object('rbac.authorization.k8s.io/v1', 'ClusterRole', { name: 'ops', labels: { team: 'a' } }),
      managed: undefined,
    },
    { name: 'a namespace of the users', live: object('v1', 'Namespace', { name: 'shop' }), managed: undefined },
    {
      name: 'the default StorageClass',
      live: object('storage.k8s.io/v1', 'StorageClass', {
        name: 'standard',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      }),
      managed: undefined,
    },
    {
      name: 'a PriorityClass of the users',
      live: object('scheduling.k8s.io/v1', 'PriorityClass', { name: 'system-like-but-not' }),
      managed: undefined,
    },
  ])('$name', ({ live, managed }) => {
    const reason = managedByKubernetes(live);
    if (managed === undefined) expect(reason).toBeUndefined();
    else expect(reason).toMatch(managed);
  });
});
