import { describe, expect, it } from 'vitest';
import { describeDiff, objectKey, planRestore, sameJson, type PlannedObject } from './resource-restore-plan.ts';
import type { ApiObject } from './resource-sanitize.ts';

const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
  rest: Record<string, unknown> = {},
): ApiObject => ({
  apiVersion,
  kind,
  metadata: namespace === undefined ? { name } : { name, namespace },
  ...rest,
});
const refs = (steps: readonly PlannedObject[]) => steps.map((s) => `${s.action} ${s.ref}`);

describe('planRestore: order', () => {
  it('puts each kind where the API server accepts it, ties by kind, namespace and name', () => {
    const objects = [
      obj('example.com/v1', 'Widget', 'w', 'shop'),
      obj('v1', 'Pod', 'debug', 'shop'),
      obj('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'guard'),
      obj('batch/v1', 'Job', 'migrate', 'shop'),
      obj('batch/v1', 'CronJob', 'nightly', 'shop'),
      obj('apps/v1', 'DaemonSet', 'agent', 'shop'),
      obj('apps/v1', 'StatefulSet', 'db', 'shop'),
      obj('apps/v1', 'Deployment', 'web', 'shop'),
      obj('apps/v1', 'Deployment', 'api', 'shop'),
      obj('networking.k8s.io/v1', 'NetworkPolicy', 'deny', 'shop'),
      obj('v1', 'Service', 'web', 'shop'),
      obj('v1', 'PersistentVolumeClaim', 'data', 'shop'),
      obj('v1', 'ResourceQuota', 'quota', 'shop'),
      obj('v1', 'LimitRange', 'limits', 'shop'),
      obj('v1', 'ConfigMap', 'settings', 'shop'),
      obj('v1', 'Secret', 'db', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'edit', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'Role', 'edit', 'shop'),
      obj('v1', 'ServiceAccount', 'web', 'shop'),
      obj('v1', 'ServiceAccount', 'api', 'alpha'),
      obj('storage.k8s.io/v1', 'StorageClass', 'fast'),
      obj('v1', 'Namespace', 'shop'),
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
    ];
    expect(refs(planRestore({ objects, existing: [] }).steps)).toEqual([
      'create CustomResourceDefinition widgets.example.com',
      'create Namespace shop',
      'create StorageClass fast',
      'create ServiceAccount alpha/api',
      'create ServiceAccount shop/web',
      'create Role shop/edit',
      'create RoleBinding shop/edit',
      'create Secret shop/db',
      'create ConfigMap shop/settings',
      'create LimitRange shop/limits',
      'create ResourceQuota shop/quota',
      'create PersistentVolumeClaim shop/data',
      'create Service shop/web',
      'create Deployment shop/api',
      'create Deployment shop/web',
      'create StatefulSet shop/db',
      'create DaemonSet shop/agent',
      'create CronJob shop/nightly',
      'create Job shop/migrate',
      'create Pod shop/debug',
      'create NetworkPolicy shop/deny',
      'create Widget shop/w',
      'create ValidatingWebhookConfiguration guard',
    ]);
  });
});

describe('planRestore: the cluster-scoped objects', () => {
  const rbac = 'rbac.authorization.k8s.io/v1';
  it('puts CRDs first, then Namespaces, ClusterRoles, their bindings, classes, PriorityClasses and volumes', () => {
    const objects = [
      obj('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'inject'),
      obj('example.com/v1', 'Gadget', 'g'),
      obj('v1', 'PersistentVolume', 'pv-1'),
      obj('scheduling.k8s.io/v1', 'PriorityClass', 'high'),
      obj('storage.k8s.io/v1', 'StorageClass', 'fast'),
      obj('networking.k8s.io/v1', 'IngressClass', 'nginx'),
      obj(rbac, 'ClusterRoleBinding', 'ops'),
      obj(rbac, 'ClusterRole', 'ops'),
      obj('v1', 'Namespace', 'shop'),
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'gadgets.example.com'),
    ];
    expect(refs(planRestore({ objects, existing: [] }).steps)).toEqual([
      'create CustomResourceDefinition gadgets.example.com',
      'create Namespace shop',
      'create ClusterRole ops',
      'create ClusterRoleBinding ops',
      'create IngressClass nginx',
      'create StorageClass fast',
      'create PriorityClass high',
      'create PersistentVolume pv-1',
      'create Gadget g',
      'create MutatingWebhookConfiguration inject',
    ]);
  });

  const bootstrap = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
  const role = (labels?: Record<string, string>, verbs = ['get']) =>
    obj(rbac, 'ClusterRole', 'view', undefined, {
      metadata: { name: 'view', ...(labels === undefined ? {} : { labels }) },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs }],
    });
  it.each([
    { name: 'a bootstrap ClusterRole that differs', backup: role(bootstrap), live: role(bootstrap, ['list']) },
    {
      name: 'a system PriorityClass',
      backup: obj('scheduling.k8s.io/v1', 'PriorityClass', 'system-node-critical', undefined, { value: 1 }),
      live: obj('scheduling.k8s.io/v1', 'PriorityClass', 'system-node-critical', undefined, { value: 2 }),
    },
    {
      name: "the control plane's namespace",
      backup: obj('v1', 'Namespace', 'kube-system', undefined, { spec: { finalizers: ['a'] } }),
      live: obj('v1', 'Namespace', 'kube-system'),
    },
  ])('leaves $name to Kubernetes, even given force', ({ backup, live }) => {
    const [step] = planRestore({ objects: [backup], existing: [live], force: true }).steps;
    expect(step?.action).toBe('managed');
    expect(step).toMatchObject({ reason: expect.any(String) as string });
  });

  it.each([
    { name: 'equal: unchanged', live: role(bootstrap), expected: 'unchanged' },
    { name: 'missing: created', live: undefined, expected: 'create' },
    { name: 'the label gone from the live one: replaced', live: role(undefined, ['list']), expected: 'replace' },
  ])('a bootstrap ClusterRole $name', ({ live, expected }) => {
    const existing = live === undefined ? [] : [live];
    expect(planRestore({ objects: [role(bootstrap)], existing, force: true }).steps[0]?.action).toBe(expected);
  });

  it('decides nothing for an object whose live copy could not be read', () => {
    const fast = obj('storage.k8s.io/v1', 'StorageClass', 'fast');
    const unreadable = new Map([[objectKey(fast), 'cannot get StorageClass fast: 403 Forbidden']]);
    expect(planRestore({ objects: [fast], existing: [], unreadable }).steps).toEqual([
      {
        action: 'unreadable',
        ref: 'StorageClass fast',
        object: fast,
        reason: 'cannot get StorageClass fast: 403 Forbidden',
      },
    ]);
  });

  it('makes no Namespace of the file that no chosen object lives in', () => {
    const objects = [obj('v1', 'Namespace', 'shop'), obj(rbac, 'ClusterRole', 'ops')];
    expect(refs(planRestore({ objects, existing: [], include: { kinds: ['ClusterRole'] } }).steps)).toEqual([
      'create ClusterRole ops',
    ]);
  });
});

describe('planRestore: what happens to each object', () => {
  const backup = obj('apps/v1', 'Deployment', 'web', 'shop', {
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', tier: 'front' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'web', image: 'web:1.2' }] } } },
  });
  const reordered = obj('apps/v1', 'Deployment', 'web', 'shop', {
    spec: { template: { spec: { containers: [{ image: 'web:1.2', name: 'web' }] } }, replicas: 1 },
    metadata: { labels: { tier: 'front', app: 'web' }, namespace: 'shop', name: 'web' },
  });
  const scaled = obj('apps/v1', 'Deployment', 'web', 'shop', {
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: { replicas: 3, template: { spec: { containers: [{ name: 'web', image: 'web:1.3' }] } } },
  });

  it.each([
    { name: 'absent: created', existing: [], force: false, expected: { action: 'create' } },
    {
      name: 'equal whatever the order of keys: unchanged',
      existing: [reordered],
      force: false,
      expected: { action: 'unchanged' },
    },
    {
      name: 'different: a conflict, left alone, with what differs',
      existing: [scaled],
      force: false,
      expected: {
        action: 'conflict',
        diff: [
          'metadata.labels.tier: (none) -> "front"',
          'spec.replicas: 3 -> 1',
          'spec.template.spec.containers[0].image: "web:1.3" -> "web:1.2"',
        ],
      },
    },
    { name: 'different, given force: replaced', existing: [scaled], force: true, expected: { action: 'replace' } },
    {
      name: 'another kind of the same name: created',
      existing: [obj('v1', 'Service', 'web', 'shop')],
      force: false,
      expected: { action: 'create' },
    },
  ])('$name', ({ existing, force, expected }) => {
    const [step] = planRestore({ objects: [backup], existing, force }).steps;
    expect(step).toMatchObject({ ref: 'Deployment shop/web', object: backup, ...expected });
  });

  it("replaces an untouched default ServiceAccount with the backup's, and not one someone changed", () => {
    const saved = obj('v1', 'ServiceAccount', 'default', 'shop', { imagePullSecrets: [{ name: 'registry' }] });
    const made = obj('v1', 'ServiceAccount', 'default', 'shop');
    const changed = obj('v1', 'ServiceAccount', 'default', 'shop', { automountServiceAccountToken: false });
    expect(planRestore({ objects: [saved], existing: [made] }).steps[0]?.action).toBe('replace');
    expect(planRestore({ objects: [saved], existing: [changed] }).steps[0]?.action).toBe('conflict');
  });
});

describe('describeDiff', () => {
  it("never shows a Secret's values", () => {
    const now = obj('v1', 'Secret', 'db', 'shop', {
      data: { password: 'b2xk', user: 'YWRtaW4=' },
      metadata: { name: 'db', namespace: 'shop', annotations: { note: 'a' } },
    });
    const saved = obj('v1', 'Secret', 'db', 'shop', { data: { password: 'bmV3', host: 'ZGI=' }, type: 'Opaque' });
    expect(describeDiff(now, saved)).toEqual([
      'data.host: (added)',
      'data.password: (changed)',
      'data.user: (removed)',
      'metadata.annotations: (removed)',
      'type: (added)',
    ]);
  });

  it('names odd keys in brackets, hides long values, counts lists of another length, and stops at ten lines', () => {
    const long = 'x'.repeat(60);
    const now = obj('v1', 'ConfigMap', 'c', 'shop', {
      metadata: {
        name: 'c',
        namespace: 'shop',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': long },
      },
      data: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'a'])),
      list: [1, 2],
    });
    const saved = obj('v1', 'ConfigMap', 'c', 'shop', {
      metadata: {
        name: 'c',
        namespace: 'shop',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${long}!` },
      },
      data: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'b'])),
      list: [1],
    });
    const diff = describeDiff(now, saved);
    expect(diff).toHaveLength(10);
    expect(diff.slice(0, 2)).toEqual(['data.k00: "a" -> "b"', 'data.k01: "a" -> "b"']);
    expect(diff.at(-1)).toBe('... and 5 more');
    const all = describeDiff({ ...now, data: {} }, { ...saved, data: {} });
    expect(all).toEqual([
      'list: (2 items) -> (1 items)',
      'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]: (changed)',
    ]);
  });
});

describe('planRestore: into another namespace', () => {
  const moved = planRestore({
    objects: [
      obj('v1', 'Namespace', 'shop', undefined, {
        metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'a' } },
      }),
      obj('v1', 'ConfigMap', 'settings', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'edit', 'shop', {
        subjects: [
          { kind: 'ServiceAccount', name: 'web', namespace: 'shop' },
          { kind: 'ServiceAccount', name: 'ci', namespace: 'tools' },
          { kind: 'User', name: 'shop' },
        ],
      }),
      obj('v1', 'PersistentVolume', 'pv-1', undefined, { spec: { claimRef: { namespace: 'shop', name: 'data' } } }),
      obj('storage.k8s.io/v1', 'StorageClass', 'shop'),
    ],
    existing: [obj('v1', 'ConfigMap', 'settings', 'shop-copy', { data: { a: '1' } })],
    namespaces: new Map([['shop', 'shop-copy']]),
  }).steps;
  const find = (kind: string) => moved.find((s) => s.object.kind === kind)?.object;

  it('moves namespaced objects, and compares them with what the target holds', () => {
    expect(refs(moved)).toEqual([
      'create Namespace shop-copy',
      'create StorageClass shop',
      'create PersistentVolume pv-1',
      'create RoleBinding shop-copy/edit',
      'conflict ConfigMap shop-copy/settings',
    ]);
  });

  it('renames the Namespace, and its name label', () => {
    expect(find('Namespace')?.metadata).toEqual({
      name: 'shop-copy',
      labels: { 'kubernetes.io/metadata.name': 'shop-copy', team: 'a' },
    });
  });

  it("moves the source namespace's ServiceAccounts in bindings and a PV's claim, nothing else", () => {
    expect(find('RoleBinding')?.['subjects']).toEqual([
      { kind: 'ServiceAccount', name: 'web', namespace: 'shop-copy' },
      { kind: 'ServiceAccount', name: 'ci', namespace: 'tools' },
      { kind: 'User', name: 'shop' },
    ]);
    expect(find('PersistentVolume')?.['spec']).toEqual({ claimRef: { namespace: 'shop-copy', name: 'data' } });
  });
});

describe('planRestore: what the user chose', () => {
  const objects = [
    obj('v1', 'Namespace', 'shop'),
    obj('apps/v1', 'Deployment', 'web', 'shop'),
    obj('apps/v1', 'Deployment', 'api', 'shop'),
    obj('v1', 'Service', 'web', 'shop'),
  ];

  it.each([
    {
      name: 'everything without a filter',
      include: undefined,
      expected: ['Namespace shop', 'Deployment shop/api', 'Deployment shop/web', 'Service shop/web'],
    },
    {
      name: 'a kind, any case, with or without its group',
      include: { kinds: ['deployment.apps'] },
      expected: ['Deployment shop/api', 'Deployment shop/web'],
    },
    { name: 'names, across kinds', include: { names: ['web'] }, expected: ['Service shop/web', 'Deployment shop/web'] },
    {
      name: 'a kind and a name',
      include: { kinds: ['Deployment'], names: ['web'] },
      expected: ['Deployment shop/web'],
    },
  ])('$name', ({ include, expected }) => {
    const existing = [obj('v1', 'Namespace', 'shop')];
    expect(
      planRestore({ objects, existing, include })
        .steps.map((s) => s.ref)
        .sort(),
    ).toEqual([...expected].sort());
  });

  it('makes the namespace of the chosen objects when it is missing', () => {
    const plan = planRestore({ objects, existing: [], include: { kinds: ['Service'] } });
    expect(refs(plan.steps)).toEqual(['create Namespace shop', 'create Service shop/web']);
  });

  it('says which entries of the filter matched nothing', () => {
    expect(
      planRestore({ objects, existing: [], include: { kinds: ['Service', 'Ingress'], names: ['web', 'db'] } })
        .unmatched,
    ).toEqual(['kind Ingress', 'name db']);
  });
});

describe('sameJson', () => {
  it.each([
    { a: { x: 1, y: [1, { z: 2 }] }, b: { y: [1, { z: 2 }], x: 1 }, same: true },
    { a: { x: 1, y: undefined }, b: { x: 1 }, same: true },
    { a: [1, 2], b: [2, 1], same: false },
    { a: { x: null }, b: {}, same: false },
    { a: { x: [] }, b: { x: {} }, same: false },
    { a: '1', b: 1, same: false },
    { a: { x: { y: 1 } }, b: { x: { y: 1, z: 2 } }, same: false },
  ])('$a and $b: $same', ({ a, b, same }) => {
    expect(sameJson(a, b)).toBe(same);
  });
});
