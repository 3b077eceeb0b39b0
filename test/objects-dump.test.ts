// A namespace's API objects as a dump (issue 21, M11): an ApplicationDump with
// spec.objects streams every kind of object in its namespace (a Secret, a
// ConfigMap, a custom resource, a PVC, RBAC, a Deployment), stripped of what
// the API server fills in, through the operator into a mover on the real node
// and into the tenant's repository as one file. The stored file is complete
// (its trailer counts its lines), leaves out what must not come back (events,
// the namespace's CA bundle, Pods a controller makes), and fails loudly, never
// half, when a kind cannot be read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplicationDump, DumpRun } from '../src/api/index.ts';
import { sanitizeObject, type ObjectsRow } from '../src/core/index.ts';
import { isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { realNodePlacement } from '../testenv/real-node/kubelet.ts';
import {
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  realNodeWithImage,
  testEnv,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import { installWithRepository, runOperatorHere, safehold, waitForRun, type OperatorHere } from './support/safehold.ts';

const realNode = realNodeWithImage;

const widgetCrd = {
  metadata: { name: 'widgets.objects.safehold.test' },
  spec: {
    group: 'objects.safehold.test',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
          },
        },
      },
    ],
  },
};
const widgets = { group: 'objects.safehold.test', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };

type Line = KubeObject & Record<string, unknown>;

/** The stored file's lines: header, objects, trailer. */
async function storedObjects(namespace: string, dump: string) {
  const got = await safehold(['dump', '--application', `${namespace}/${dump}`]);
  expect(got.code, got.stderr).toBe(0);
  const lines = got.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  const header = lines[0] as { format?: string; namespace?: string; skipped?: { resource: string; reason: string }[] };
  const trailer = lines.at(-1) as { end?: boolean; objects?: number; skippedObjects?: { object: string }[] };
  return { header, trailer, objects: lines.slice(1, -1) };
}

describe('a namespace’s API objects as a dump', () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  const id = uniqueName('objects');
  const system = `safehold-${id}`;
  const repository = `repo-${id}`;
  let tenant = '';

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, {
      system,
      id,
      bucket: `safehold-${id}`,
      repository,
      endpoint: realNode().s3Endpoint,
    });
    await client.create(kinds.customResourceDefinition, widgetCrd as KubeObject).catch(() => undefined);
    tenant = await createNamespace(client, 'objects-tenant');
    operator = await runOperatorHere(system, id, { mover: { image: realNode().image, ...realNodePlacement() } });
    await client.create(kinds.configMap, {
      metadata: { name: 'settings', namespace: tenant, labels: { app: 'shop' } },
      data: { 'shop.conf': 'currency = EUR\n' },
    } as KubeObject);
    await client.create(kinds.secret, {
      metadata: { name: 'credentials', namespace: tenant },
      stringData: { password: 's3cret' },
    } as KubeObject);
    await client.create(kinds.serviceAccount, { metadata: { name: 'shop', namespace: tenant } });
    await client.create(kinds.deployment, {
      metadata: { name: 'shop', namespace: tenant },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'shop' } },
        template: {
          metadata: { labels: { app: 'shop' } },
          spec: { serviceAccountName: 'shop', containers: [{ name: 'shop', image: 'shop:1' }] },
        },
      },
    } as KubeObject);
    await createClaim(client, tenant, 'data');
    await client.create({ ...widgets }, {
      apiVersion: 'objects.safehold.test/v1',
      kind: 'Widget',
      metadata: { name: 'gear', namespace: tenant },
      spec: { size: 3 },
    } as KubeObject);
  }, 300_000);

  afterAll(async () => {
    await operator?.stop();
    if (tenant !== '') await deleteNamespace(client, tenant);
    await client.delete(kinds.backupRepository, { name: repository }).catch(() => undefined);
    await deleteNamespace(client, system);
    await client.delete(kinds.customResourceDefinition, { name: widgetCrd.metadata.name }).catch(() => undefined);
    client.close();
  });

  const runNow = async (dump: string, name: string, outcome: 'Succeeded' | 'Failed' = 'Succeeded') => {
    await client.create(kinds.dumpRun, { metadata: { name, namespace: tenant }, spec: { dump } } as KubeObject);
    return waitForRun<DumpRun>(client, kinds.dumpRun, tenant, name, { outcome, timeoutMs: 300_000 });
  };

  it('stores every kind of object of the namespace, without server fields, as one complete file', async () => {
    await client.create(kinds.applicationDump, {
      metadata: { name: 'objects', namespace: tenant },
      spec: { objects: {}, repository },
    } as KubeObject);
    const done = await runNow('objects', 'objects-1');
    expect(done.status).toMatchObject({ fileName: 'objects.jsonl', phase: 'Succeeded' });
    expect(done.status?.pod).toBeUndefined();
    expect(done.status?.message).toContain(`from the API objects of namespace ${tenant}`);

    const { header, trailer, objects } = await storedObjects(tenant, 'objects');
    expect(header).toMatchObject({ format: 'safehold.io/objects/v1', namespace: tenant });
    expect(trailer).toMatchObject({ end: true, objects: objects.length });
    const names = objects.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`);
    for (const wanted of [
      'ConfigMap/settings',
      'Secret/credentials',
      'ServiceAccount/shop',
      'Deployment/shop',
      'PersistentVolumeClaim/data',
      'Widget/gear',
    ])
      expect(names).toContain(wanted);
    // What the namespace makes by itself or a controller makes from other objects stays out, with why.
    expect(names).not.toContain('ConfigMap/kube-root-ca.crt');
    expect(header.skipped?.map((s) => s.resource)).toContain('events');
    // Each object as it is in the cluster now, less what the API server fills in.
    for (const [kind, name] of [
      [kinds.configMap, 'settings'],
      [kinds.secret, 'credentials'],
      [widgets, 'gear'],
    ] as const) {
      const live = await client.get(kind, { namespace: tenant, name });
      const stored = objects.find((o) => o.kind === kind.kind && o.metadata?.name === name);
      const sanitized = sanitizeObject({ ...live, apiVersion: stored?.apiVersion, kind: kind.kind });
      expect(sanitized.keep && sanitized.object).toEqual(stored);
      expect(stored?.metadata).not.toHaveProperty('uid');
      expect(stored?.metadata).not.toHaveProperty('resourceVersion');
      expect(stored?.metadata).not.toHaveProperty('managedFields');
    }
  });

  it('brings deleted objects back from the dump with `safehold restore-resources`, equal to what was stored', async () => {
    const { objects } = await storedObjects(tenant, 'objects');
    const gone = [
      [kinds.configMap, 'settings'],
      [kinds.secret, 'credentials'],
      [kinds.serviceAccount, 'shop'],
      [kinds.deployment, 'shop'],
      [kinds.persistentVolumeClaim, 'data'],
      [widgets, 'gear'],
    ] as const;
    for (const [kind, name] of gone) await client.delete(kind, { namespace: tenant, name });
    await waitFor('the claim gone', () =>
      client.get(kinds.persistentVolumeClaim, { namespace: tenant, name: 'data' }).then(
        () => false,
        (error: unknown) => isNotFound(error),
      ),
    );
    // A plan first: nothing changes.
    const plan = await safehold(['restore-resources', tenant, '--dump', 'objects', '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    await expect(client.get(kinds.configMap, { namespace: tenant, name: 'settings' })).rejects.toThrow();

    const restored = await safehold(['restore-resources', tenant, '--dump', 'objects']);
    expect(restored.code, restored.stderr + restored.stdout).toBe(0);
    for (const [kind, name] of gone) {
      const live = await client.get(kind, { namespace: tenant, name });
      const stored = objects.find((o) => o.kind === kind.kind && o.metadata?.name === name);
      const sanitized = sanitizeObject({ ...live, apiVersion: stored?.apiVersion, kind: kind.kind });
      expect(sanitized.keep && sanitized.object, `${kind.kind} ${name}`).toEqual(stored);
    }
    // The claim is back, bound to a new (empty) volume: its data is what a volume restore brings back.
    await waitFor('the claim bound again', async () => {
      const claim = await client.get<KubeObject & { status?: { phase?: string } }>(kinds.persistentVolumeClaim, {
        namespace: tenant,
        name: 'data',
      });
      return claim.status?.phase === 'Bound';
    });
    // Again, and everything is as stored.
    const again = await safehold(['restore-resources', tenant, '--dump', 'objects', '-o', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('"create"');
  });

  it('leaves out the kinds it is told to, and refuses a declaration that mixes objects and a command', async () => {
    await client.create(kinds.applicationDump, {
      metadata: { name: 'no-secrets', namespace: tenant },
      spec: { objects: { excludeKinds: ['Secret', 'Widget.objects.safehold.test'] }, repository },
    } as KubeObject);
    await runNow('no-secrets', 'no-secrets-1');
    const { header, objects } = await storedObjects(tenant, 'no-secrets');
    expect(objects.filter((o) => o.kind === 'Secret' || o.kind === 'Widget')).toEqual([]);
    expect(header.skipped).toEqual(
      expect.arrayContaining([
        { resource: 'secrets', reason: 'left out by spec.objects.excludeKinds' },
        { resource: 'widgets.objects.safehold.test', reason: 'left out by spec.objects.excludeKinds' },
      ]),
    );

    await client.create(kinds.applicationDump, {
      metadata: { name: 'cluster', namespace: tenant },
      spec: { objects: { scope: 'Cluster' }, repository },
    } as KubeObject);
    const refused = await runNow('cluster', 'cluster-1', 'Failed');
    expect(refused.status?.message).toBe(
      `ApplicationDump ${tenant}/cluster spec.objects.scope: Cluster only for a dump in Safehold's namespace ${system} (the cluster's objects are no tenant's)`,
    );

    await client.create(kinds.applicationDump, {
      metadata: { name: 'mixed', namespace: tenant },
      spec: { objects: {}, command: ['pg_dumpall'], repository },
    } as KubeObject);
    const failed = await runNow('mixed', 'mixed-1', 'Failed');
    expect(failed.status?.reason).toBe('InvalidSpec');
    expect(failed.status?.message).toBe(
      `ApplicationDump ${tenant}/mixed spec.command: not with spec.objects (it needs no Pod)`,
    );
  });

  it("stores the cluster-scoped objects from a dump in Safehold's namespace: CRDs, PVs, classes, RBAC", async () => {
    await client.create(kinds.applicationDump, {
      metadata: { name: 'cluster', namespace: system },
      spec: { objects: { scope: 'Cluster' }, repository },
    } as KubeObject);
    await client.create(kinds.dumpRun, {
      metadata: { name: 'cluster-1', namespace: system },
      spec: { dump: 'cluster' },
    } as KubeObject);
    const done = await waitForRun<DumpRun>(client, kinds.dumpRun, system, 'cluster-1', { timeoutMs: 300_000 });
    expect(done.status?.message).toContain('from the cluster-scoped API objects');
    const { header, trailer, objects } = await storedObjects(system, 'cluster');
    expect(header).toMatchObject({ format: 'safehold.io/objects/v1', scope: 'Cluster' });
    expect(trailer).toMatchObject({ end: true, objects: objects.length });
    const claim = await client.get<KubeObject & { spec?: { volumeName?: string } }>(kinds.persistentVolumeClaim, {
      namespace: tenant,
      name: 'data',
    });
    const names = objects.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`);
    for (const wanted of [
      `CustomResourceDefinition/${widgetCrd.metadata.name}`,
      `PersistentVolume/${claim.spec?.volumeName ?? ''}`,
      `StorageClass/${testEnv().cephStorage.rbd.storageClass}`,
      `Namespace/${tenant}`,
    ])
      expect(names).toContain(wanted);
    expect(objects.every((o) => o.metadata?.namespace === undefined)).toBe(true);
    expect(names.some((n) => n.startsWith('ClusterRole/'))).toBe(true);
    expect(names.some((n) => n.startsWith('Node/'))).toBe(false);
  });

  it("shows with `safehold status --objects` whose objects are protected, the cluster's too, and which are not", async () => {
    const mine = await safehold(['status', '--objects', '-n', tenant, '-o', 'json']);
    expect(mine.code, mine.stderr).toBe(0);
    const rows = JSON.parse(mine.stdout) as ObjectsRow[];
    expect(rows).toEqual([expect.objectContaining({ scope: 'Namespace', namespace: tenant, state: 'protected' })]);
    expect(rows[0]?.lastBackup).toBeDefined();

    const bare = await createNamespace(client, 'objects-bare');
    try {
      const all = await safehold(['status', '--objects', '--all-namespaces', '-o', 'json', '--fail-on-unprotected']);
      expect(all.code, all.stderr).toBe(3);
      const everywhere = JSON.parse(all.stdout) as ObjectsRow[];
      expect(everywhere.find((r) => r.namespace === bare)).toMatchObject({
        state: 'unprotected',
        reason: 'no objects dump in this namespace (an ApplicationDump with spec.objects)',
      });
      expect(everywhere.find((r) => r.namespace === 'kube-system')?.state).toBe('excluded');
      expect(everywhere.find((r) => r.scope === 'Cluster')).toMatchObject({
        state: 'protected',
        dump: `${system}/cluster`,
      });
      const table = await safehold(['status', '--objects', '-n', bare]);
      expect(table.stdout).toMatch(new RegExp(`namespace\\s+${bare}\\s+-\\s+UNPROTECTED`));
    } finally {
      await deleteNamespace(client, bare);
    }
  });

  it("keeps an objects dump in each namespace a policy with spec.objects protects, and the cluster's, on the policy's schedule", async () => {
    const policy = `policy-${id}`;
    await client.mergePatch(
      kinds.namespace,
      { name: tenant },
      { metadata: { labels: { 'objects.safehold.test/id': id } } },
    );
    await client.create(kinds.backupPolicy, {
      metadata: { name: policy },
      spec: {
        selector: { namespaceSelector: { matchLabels: { 'objects.safehold.test/id': id } } },
        repository: { name: repository },
        schedule: { cron: '0 3 1 1 *' },
        objects: { excludeKinds: ['Secret'], cluster: true },
      },
    } as KubeObject);
    try {
      let made: ApplicationDump | undefined;
      await waitFor('the policy to make its objects dump', async () => {
        made = await client
          .get<ApplicationDump>(kinds.applicationDump, { namespace: tenant, name: 'safehold-objects' })
          .catch(() => undefined);
        return made !== undefined;
      });
      expect(made?.metadata.labels).toMatchObject({
        'safehold.io/declared-by': 'policy',
        'safehold.io/policy': policy,
      });
      expect(made?.spec).toMatchObject({
        objects: { scope: 'Namespace', excludeKinds: ['Secret'] },
        schedule: { cron: '0 3 1 1 *' },
        repository,
      });
      await waitFor('the cluster objects dump', () =>
        client.get(kinds.applicationDump, { namespace: system, name: 'safehold-cluster-objects' }).then(
          () => true,
          () => false,
        ),
      );
      // It follows the policy: a new schedule, then no objects at all.
      await client.mergePatch(
        kinds.backupPolicy,
        { name: policy },
        { spec: { objects: { schedule: { cron: '0 4 * * *' }, excludeKinds: null } } },
      );
      await waitFor('the dump to follow the policy', async () => {
        const now = await client.get<ApplicationDump>(kinds.applicationDump, {
          namespace: tenant,
          name: 'safehold-objects',
        });
        return now.spec.schedule?.cron === '0 4 * * *' && now.spec.objects?.excludeKinds === undefined;
      });
      await client.mergePatch(kinds.backupPolicy, { name: policy }, { spec: { objects: null } });
      await waitFor("the dump deleted with the policy's objects", () =>
        client.get(kinds.applicationDump, { namespace: tenant, name: 'safehold-objects' }).then(
          () => false,
          (error: unknown) => isNotFound(error),
        ),
      );
    } finally {
      await client.delete(kinds.backupPolicy, { name: policy }).catch(() => undefined);
    }
  });
});
