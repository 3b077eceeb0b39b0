import { describe, expect, it } from 'vitest';
import { objectRef, ownedByController, sanitizeObject, type ApiObject } from './resource-sanitize.ts';

/** What the API server adds to every object it returns. */
const served = {
  uid: '6f1c2b6e-0000-4000-8000-000000000001',
  resourceVersion: '48213',
  generation: 3,
  creationTimestamp: '2026-05-01T10:00:00Z',
  managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
  selfLink: '/api/v1/namespaces/shop/things/x',
};

function kept(obj: unknown): ApiObject {
  const result = sanitizeObject(obj);
  if (!result.keep) throw new Error(`expected the object kept: ${result.reason}`);
  return result.object;
}

function skipped(obj: unknown): string {
  const result = sanitizeObject(obj);
  if (result.keep) throw new Error('expected the object skipped');
  return result.reason;
}

describe('sanitizeObject: what every kind loses', () => {
  it('drops assigned metadata, owners and status, and keeps the rest, last-applied included', () => {
    const lastApplied = '{"apiVersion":"v1","kind":"ConfigMap"}';
    const out = kept({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...served,
        name: 'settings',
        namespace: 'shop',
        deletionGracePeriodSeconds: 30,
        labels: { app: 'shop' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied },
        ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Shop', name: 'shop', uid: 'u', controller: true }],
        finalizers: ['example.com/keep'],
      },
      data: { mode: 'fast' },
      status: { anything: true },
    });
    expect(out).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'settings',
        namespace: 'shop',
        labels: { app: 'shop' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied },
        finalizers: ['example.com/keep'],
      },
      data: { mode: 'fast' },
    });
  });

  it('removes label and annotation maps left empty, and entries that are not strings', () => {
    const out = kept({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { broken: 3 }, annotations: { 'deployment.kubernetes.io/revision': '7' } },
    });
    expect(out.metadata).toEqual({ name: 'web' });
  });
});

describe('sanitizeObject: kind by kind', () => {
  it.each([
    {
      name: 'a Service loses its allocated cluster IPs, families and health check port',
      input: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: {
          type: 'ClusterIP',
          clusterIP: '10.96.4.2',
          clusterIPs: ['10.96.4.2'],
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          ports: [{ port: 80, targetPort: 8080 }],
          selector: { app: 'web' },
        },
      },
      spec: {
        type: 'ClusterIP',
        ipFamilyPolicy: 'SingleStack',
        ports: [{ port: 80, targetPort: 8080 }],
        selector: { app: 'web' },
      },
    },
    {
      name: 'a headless Service stays headless',
      input: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'db' },
        spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432 }] },
      },
      spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432 }] },
    },
    {
      name: 'a LoadBalancer Service keeps its node ports, not its health check port',
      input: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'edge' },
        spec: {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.9',
          healthCheckNodePort: 32000,
          ports: [{ port: 443, nodePort: 31443 }],
        },
      },
      spec: { type: 'LoadBalancer', ports: [{ port: 443, nodePort: 31443 }] },
    },
    {
      name: 'a ClusterIP Service loses stale node ports',
      input: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'x' },
        spec: { ports: [{ port: 1, nodePort: 30001 }] },
      },
      spec: { ports: [{ port: 1 }] },
    },
    {
      name: 'a PVC loses its volume, keeps a snapshot source',
      input: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data' },
        spec: {
          volumeName: 'pvc-123',
          storageClassName: 'fast',
          dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' },
          dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' },
        },
      },
      spec: {
        storageClassName: 'fast',
        dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' },
        dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' },
      },
    },
    {
      name: 'a PVC cloned from another loses the clone source',
      input: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'copy' },
        spec: {
          dataSource: { kind: 'PersistentVolumeClaim', name: 'data' },
          dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'data' },
        },
      },
      spec: {},
    },
    {
      name: 'a PV keeps its claim by name, not by uid',
      input: {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pv-1' },
        spec: {
          claimRef: { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data', uid: 'u', resourceVersion: '9' },
        },
      },
      spec: { claimRef: { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' } },
    },
    {
      name: 'a PV keeps the rest of its spec: where its data is, its class, its reclaim policy',
      input: {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pv-2', uid: 'u-2' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          csi: { driver: 'rbd.csi.ceph.com', volumeHandle: 'vol-1' },
          storageClassName: 'fast',
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { namespace: 'shop', name: 'data', uid: 'u' },
        },
        status: { phase: 'Bound' },
      },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        csi: { driver: 'rbd.csi.ceph.com', volumeHandle: 'vol-1' },
        storageClassName: 'fast',
        persistentVolumeReclaimPolicy: 'Retain',
        claimRef: { namespace: 'shop', name: 'data' },
      },
    },
    {
      name: 'a bare Pod loses its node and ephemeral containers',
      input: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'debug' },
        spec: {
          nodeName: 'worker-2',
          containers: [{ name: 'c', image: 'busybox' }],
          ephemeralContainers: [{ name: 'dbg' }],
        },
      },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    },
    {
      name: "a Job loses the selector made from its uid, and the template's uid labels",
      input: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'migrate' },
        spec: {
          selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } },
          template: {
            metadata: {
              labels: { 'batch.kubernetes.io/controller-uid': 'u', 'controller-uid': 'u', 'job-name': 'migrate' },
            },
            spec: { restartPolicy: 'Never' },
          },
        },
      },
      spec: { template: { metadata: { labels: { 'job-name': 'migrate' } }, spec: { restartPolicy: 'Never' } } },
    },
    {
      name: 'a Job with a manual selector keeps it',
      input: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'manual' },
        spec: { manualSelector: true, selector: { matchLabels: { run: 'x' } } },
      },
      spec: { manualSelector: true, selector: { matchLabels: { run: 'x' } } },
    },
  ])('$name', ({ input, spec }) => {
    expect(kept({ ...input, metadata: { ...input.metadata, ...served } })['spec']).toEqual(spec);
  });

  it('strips the annotations that bind a PVC, keeps the others', () => {
    const out = kept({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data',
        annotations: {
          'pv.kubernetes.io/bind-completed': 'yes',
          'pv.kubernetes.io/bound-by-controller': 'yes',
          'volume.kubernetes.io/storage-provisioner': 'rbd.csi.ceph.com',
          'volume.beta.kubernetes.io/storage-provisioner': 'rbd.csi.ceph.com',
          'volume.kubernetes.io/selected-node': 'worker-1',
          'safehold.io/backup': 'true',
        },
      },
    });
    expect(out.metadata.annotations).toEqual({ 'safehold.io/backup': 'true' });
  });

  it("drops the uid labels from a Job's own labels", () => {
    const out = kept({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j', labels: { 'controller-uid': 'u', 'batch.kubernetes.io/controller-uid': 'u', team: 'a' } },
    });
    expect(out.metadata.labels).toEqual({ team: 'a' });
  });

  it("drops a ServiceAccount's generated token Secrets, keeps the others", () => {
    const out = kept({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'builder' },
      secrets: [{ name: 'builder-token-x7k2q' }, { name: 'registry' }],
      imagePullSecrets: [{ name: 'registry' }],
    });
    expect(out['secrets']).toEqual([{ name: 'registry' }]);
    expect(out['imagePullSecrets']).toEqual([{ name: 'registry' }]);
    expect(
      kept({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a' }, secrets: [{ name: 'a-token-abcde' }] }),
    ).toEqual({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a' } });
  });

  it('leaves the default ServiceAccount in, like any other', () => {
    expect(
      kept({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'shop', ...served } }),
    ).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'shop' },
    });
  });
});

describe('sanitizeObject: objects left out', () => {
  it.each([
    {
      name: 'a service account token',
      input: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: 'ci-token', namespace: 'shop' },
      },
      reason: 'Secret shop/ci-token: a service account token',
    },
    {
      name: 'the CA bundle of every namespace',
      input: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'shop' } },
      reason: 'ConfigMap shop/kube-root-ca.crt: the control plane makes this ConfigMap in every namespace',
    },
    {
      name: "a Safehold run's temporary object",
      input: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data-restore', namespace: 'shop', labels: { 'safehold.io/restore': 'r1' } },
      },
      reason:
        'PersistentVolumeClaim shop/data-restore: a temporary object of a Safehold run (label safehold.io/restore)',
    },
    {
      name: 'an object being deleted',
      input: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'old', namespace: 'shop', deletionTimestamp: '2026-05-01T10:00:00Z' },
      },
      reason: 'ConfigMap shop/old: it was being deleted',
    },
    { name: 'no kind', input: { apiVersion: 'v1', metadata: { name: 'x' } }, reason: '(no kind) x: no kind' },
    {
      name: 'no apiVersion',
      input: { kind: 'Pod', metadata: { name: 'x', namespace: 'a' } },
      reason: 'Pod a/x: no apiVersion',
    },
    {
      name: 'no name',
      input: { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'a' } },
      reason: 'Pod a/(no name): no metadata.name',
    },
    {
      name: 'no metadata',
      input: { apiVersion: 'v1', kind: 'Pod', metadata: 'x' },
      reason: 'Pod (no name): no metadata.name',
    },
    { name: 'not an object', input: ['a'], reason: 'not an API object' },
  ])('$name', ({ input, reason }) => {
    expect(skipped(input)).toContain(reason);
  });

  it('keeps Secrets of other types, values and all', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'db' },
      data: { password: 'c2VjcmV0' },
    };
    expect(kept(secret)).toEqual(secret);
  });
});

describe('sanitizeObject is total and leaves its input alone', () => {
  const cyclic: Record<string, unknown> = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'loop' } };
  cyclic['data'] = { self: cyclic };

  it.each([null, undefined, 0, 'pod', true, [], {}, { metadata: null }, { apiVersion: 1, kind: {}, metadata: [] }])(
    'gives a reason for %j',
    (input) => {
      expect(sanitizeObject(input).keep).toBe(false);
    },
  );

  it.each([
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: 'weird' },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: 'x' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [null, 3, { nodePort: 1 }] } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: '.*(' }, secrets: [null, { name: 7 }] },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', labels: null }, spec: { template: 3 } },
    { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'p' }, spec: { claimRef: 'x' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ownerReferences: 'x' }, spec: [] },
    cyclic,
  ])('keeps a malformed %# without throwing', (input) => {
    expect(sanitizeObject(input).keep).toBe(true);
  });

  it('drops a cyclic reference and values that are not JSON', () => {
    expect(kept(cyclic)['data']).toEqual({});
    const out = kept({ ...cyclic, data: { fn: () => 1, list: [() => 1, 'a', undefined], n: 1n } });
    expect(out['data']).toEqual({ list: [null, 'a', null] });
  });

  it('never changes its input', () => {
    const input = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { ...served, name: 'web', annotations: { a: 'b' }, ownerReferences: [{ kind: 'X' }] },
      spec: { clusterIP: '10.0.0.1', ports: [{ port: 80, nodePort: 30080 }] },
      status: { loadBalancer: {} },
    };
    const before = JSON.stringify(input);
    const out = kept(input);
    expect(JSON.stringify(input)).toBe(before);
    out.metadata.name = 'changed';
    expect(input.metadata.name).toBe('web');
  });
});

describe('ownedByController', () => {
  const backedUp = new Set([
    'ReplicaSet.apps',
    'Deployment.apps',
    'StatefulSet.apps',
    'CronJob.batch',
    'Job.batch',
    'Pod',
    'Widget.example.com',
  ]);
  const owned = (apiVersion: string, kind: string, owner: Record<string, unknown>) => ({
    apiVersion,
    kind,
    metadata: { name: 'x', namespace: 'shop', ownerReferences: [{ name: 'boss', uid: 'u', ...owner }] },
  });
  const controller = (apiVersion: string, kind: string) => ({ apiVersion, kind, controller: true });

  it.each([
    {
      name: 'a Pod of a ReplicaSet',
      obj: owned('v1', 'Pod', controller('apps/v1', 'ReplicaSet')),
      reason: 'Pod shop/x: made by its ReplicaSet boss',
    },
    {
      name: 'a Pod of a StatefulSet',
      obj: owned('v1', 'Pod', controller('apps/v1', 'StatefulSet')),
      reason: 'made by its StatefulSet boss',
    },
    {
      name: 'a ReplicaSet of a Deployment',
      obj: owned('apps/v1', 'ReplicaSet', controller('apps/v1', 'Deployment')),
      reason: 'made by its Deployment boss',
    },
    {
      name: 'a Job of a CronJob',
      obj: owned('batch/v1', 'Job', controller('batch/v1', 'CronJob')),
      reason: 'made by its CronJob boss',
    },
    {
      name: 'a Pod of a custom controller',
      obj: owned('v1', 'Pod', controller('example.com/v1', 'Widget')),
      reason: 'made by its Widget boss',
    },
    {
      name: "an ephemeral volume's claim",
      obj: owned('v1', 'PersistentVolumeClaim', controller('v1', 'Pod')),
      reason: 'the ephemeral volume of Pod boss',
    },
  ])('leaves out $name', ({ obj, reason }) => {
    expect(ownedByController(obj, backedUp)).toContain(reason);
  });

  it.each([
    { name: 'a Pod whose owner kind is not backed up', obj: owned('v1', 'Pod', controller('apps/v1', 'DaemonSet')) },
    {
      name: 'a Pod owned, but not by a controller',
      obj: owned('v1', 'Pod', { apiVersion: 'apps/v1', kind: 'ReplicaSet' }),
    },
    { name: "an operator's Secret", obj: owned('v1', 'Secret', controller('example.com/v1', 'Widget')) },
    { name: 'a PVC of a StatefulSet', obj: owned('v1', 'PersistentVolumeClaim', controller('apps/v1', 'StatefulSet')) },
    { name: 'an owner without a kind', obj: owned('v1', 'Pod', { controller: true }) },
    { name: 'a bare Pod', obj: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } } },
    { name: 'not an object', obj: 'pod' },
  ])('keeps $name', ({ obj }) => {
    expect(ownedByController(obj, backedUp)).toBeUndefined();
  });
});

describe('objectRef', () => {
  it.each([
    [{ kind: 'Pod', metadata: { name: 'p', namespace: 'a' } }, 'Pod a/p'],
    [{ kind: 'Namespace', metadata: { name: 'a' } }, 'Namespace a'],
    [{}, '(no kind) (no name)'],
  ])('%j is %s', (obj, ref) => {
    expect(objectRef(obj)).toBe(ref);
  });
});
