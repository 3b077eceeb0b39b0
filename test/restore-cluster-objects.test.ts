// The cluster-scoped objects come back from a cluster objects file (scope
// Cluster), made by the operator's own producer: `safehold restore-resources
// --cluster` creates deleted CRDs (Established before the custom resources of
// theirs), a ClusterRole and its binding, a StorageClass and a PriorityClass,
// each equal to what was dumped; --dry-run makes nothing; a second run changes nothing; a changed
// ClusterRole is a conflict until --force; a ClusterRole Kubernetes manages is
// never replaced; a tenant is refused object by object and makes nothing; a
// file cut short is refused. The shared cluster holds many cluster objects:
// every run names only this journey's own with --kind and --name.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namespaceObjects } from '../src/controller/dump/namespace-objects.ts';
import { sanitizeObject, type ApiObject } from '../src/core/index.ts';
import {
  apiVersionOf,
  isNotFound,
  kinds,
  type KubeClient,
  type KubeObject,
  type ResourceKind,
} from '../src/kube/index.ts';
import { clientAs, createNamespace, deleteNamespace, uniqueName, waitFor } from './support/cluster.ts';
import { safehold } from './support/safehold.ts';

const priorityClass: ResourceKind = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  namespaced: false,
};

interface StepRecord {
  kind: string;
  name: string;
  action: string;
  result: string;
}

type Definition = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

describe('restoring the cluster-scoped objects from a cluster objects file', () => {
  let admin: KubeClient;
  const work = mkdtempSync(join(tmpdir(), 'restore-cluster-'));
  const clusterFile = join(work, 'cluster.jsonl');
  const namespaceFile = join(work, 'namespace.jsonl');
  const truncatedFile = join(work, 'truncated.jsonl');
  const managedFile = join(work, 'managed.jsonl');
  const id = uniqueName('rc');
  const group = `${id}.safehold.test`;
  const widget: ResourceKind = { group, version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };
  const gadget: ResourceKind = { group, version: 'v1', kind: 'Gadget', plural: 'gadgets', namespaced: false };
  const name = { role: `${id}-reader`, storageClass: `${id}-fast`, priority: `${id}-high`, gadget: `${id}-g` };
  let namespace = '';
  /** This journey's cluster objects, in the order a restore makes them. */
  const ours: { k: ResourceKind; name: string }[] = [
    { k: kinds.customResourceDefinition, name: `gadgets.${group}` },
    { k: kinds.customResourceDefinition, name: `widgets.${group}` },
    { k: kinds.clusterRole, name: name.role },
    { k: kinds.clusterRoleBinding, name: name.role },
    { k: kinds.storageClass, name: name.storageClass },
    { k: priorityClass, name: name.priority },
    { k: gadget, name: name.gadget },
  ];
  const only = [
    ...['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PriorityClass'].flatMap(
      (k) => ['--kind', k],
    ),
    ...['--kind', `Gadget.${group}`],
    ...ours.flatMap((o) => ['--name', o.name]),
  ];
  const before = new Map<string, ApiObject>();

  /** The live object as a dump holds it; undefined when it is not there. */
  const sanitizedLive = async (k: ResourceKind, objectName: string, ns?: string): Promise<ApiObject | undefined> => {
    try {
      const live = await admin.get(k, { name: objectName, ...(ns === undefined ? {} : { namespace: ns }) });
      const sanitized = sanitizeObject({ ...live, apiVersion: apiVersionOf(k), kind: k.kind });
      if (!sanitized.keep) throw new Error(sanitized.reason);
      return sanitized.object;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const expectAsBefore = async () => {
    for (const { k, name: n } of ours)
      expect(await sanitizedLive(k, n), `${k.kind} ${n}`).toEqual(before.get(n + k.kind));
  };
  const established = async (crd: string) => {
    const got = await admin.get<Definition>(kinds.customResourceDefinition, { name: crd });
    return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
  };
  const deleteOurs = async (which: readonly { k: ResourceKind; name: string }[]) => {
    for (const { k, name: n } of [...which].reverse())
      await admin.delete(k, { name: n }).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    await waitFor(`${which.length} cluster objects deleted`, async () => {
      for (const { k, name: n } of which) if ((await sanitizedLive(k, n)) !== undefined) return false;
      return true;
    });
  };
  /** The producer's objects file, as the operator stores it. */
  const produce = async (ns: string | undefined): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of namespaceObjects(admin, ns, [], new Date())) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  };

  beforeAll(async () => {
    admin = clientAs('admin');
    namespace = await createNamespace(admin, 'rc-widgets');
    const definition = (k: ResourceKind) => ({
      metadata: { name: `${k.plural}.${group}` },
      spec: {
        group,
        scope: k.namespaced ? 'Namespaced' : 'Cluster',
        names: { plural: k.plural, singular: k.kind.toLowerCase(), kind: k.kind, listKind: `${k.kind}List` },
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
    });
    for (const k of [widget, gadget]) {
      await admin.create(kinds.customResourceDefinition, definition(k));
      await waitFor(`CRD ${k.plural}.${group} Established`, () => established(`${k.plural}.${group}`));
    }
    await admin.create(gadget, { metadata: { name: name.gadget }, spec: { size: 3 } } as KubeObject);
    await admin.create(widget, { metadata: { name: 'w1', namespace }, spec: { size: 1 } } as KubeObject);
    await admin.create(kinds.clusterRole, {
      metadata: { name: name.role, labels: { team: id } },
      rules: [{ apiGroups: [group], resources: ['widgets', 'gadgets'], verbs: ['get', 'list'] }],
    } as KubeObject);
    await admin.create(kinds.clusterRoleBinding, {
      metadata: { name: name.role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: name.role },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `${id}-readers` }],
    } as KubeObject);
    await admin.create(kinds.storageClass, {
      metadata: { name: name.storageClass, annotations: { note: 'fast disks' } },
      provisioner: `${id}.safehold.test/none`,
      reclaimPolicy: 'Retain',
      parameters: { tier: 'fast' },
    } as KubeObject);
    await admin.create(priorityClass, {
      metadata: { name: name.priority },
      value: 1000,
      description: 'the journey’s own',
    } as KubeObject);
    for (const { k, name: n } of ours) {
      const made = await sanitizedLive(k, n);
      if (made === undefined) throw new Error(`${k.kind} ${n} was not made`);
      before.set(n + k.kind, made);
    }

    const cluster = await produce(undefined);
    writeFileSync(clusterFile, cluster);
    writeFileSync(namespaceFile, await produce(namespace));
    const lines = cluster.trimEnd().split('\n');
    writeFileSync(truncatedFile, `${lines.slice(0, -1).join('\n')}\n`);
    // The backup's copy of a role the API server makes, changed as a backup of another version would have it.
    writeFileSync(
      managedFile,
      `${lines
        .map((line) => {
          const o = JSON.parse(line) as ApiObject;
          if (o.kind !== 'ClusterRole' || o.metadata.name !== 'system:basic-user') return line;
          return JSON.stringify({ ...o, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });
        })
        .join('\n')}\n`,
    );
    expect(lines.filter((l) => l.includes(id)).length).toBeGreaterThanOrEqual(ours.length);

    // An accident: this journey's cluster objects are deleted; the CRDs take their custom resources with them.
    await deleteOurs(ours);
    await waitFor(`Widget ${namespace}/w1 gone with its CRD`, async () => {
      const left = await admin.list<KubeObject>(kinds.customResourceDefinition, {});
      return !left.items.some((c) => c.metadata?.name === `widgets.${group}`);
    });
  });

  afterAll(async () => {
    await deleteOurs(ours).catch(() => undefined);
    if (namespace !== '') await deleteNamespace(admin, namespace);
    admin.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('with --dry-run prints the plan and makes nothing', async () => {
    const run = await safehold(['restore-resources', '--cluster', '--file', clusterFile, ...only, '--dry-run']);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`Dry run: ${ours.length} to create, 0 to replace, 0 unchanged, 0 in conflict`);
    for (const { k, name: n } of ours) expect(await sanitizedLive(k, n), `${k.kind} ${n}`).toBeUndefined();
  });

  it('refuses a NAMESPACE with --cluster, and a file cut short, making nothing', async () => {
    const both = await safehold(['restore-resources', namespace, '--cluster', '--file', clusterFile]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give NAMESPACE');
    const cut = await safehold(['restore-resources', '--cluster', '--file', truncatedFile, ...only]);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/incomplete: the file ends at line \d+ without its trailer.*nothing was restored/);
    expect(await sanitizedLive(kinds.clusterRole, name.role)).toBeUndefined();
  });

  it('refuses a tenant object by object, and makes nothing', async () => {
    const denied = await safehold(['restore-resources', '--cluster', '--file', clusterFile, ...only], 'alice');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      new RegExp(`ClusterRole ${name.role}: not restored: cannot get ClusterRole ${name.role}: 403 Forbidden`),
    );
    expect(denied.stderr).toMatch(new RegExp(`StorageClass ${name.storageClass}: not restored: .*403 Forbidden`));
    expect(denied.stdout).toContain(`0 created, 0 replaced, 0 unchanged, 0 skipped, ${ours.length} failed.`);
    for (const { k, name: n } of ours) expect(await sanitizedLive(k, n), `${k.kind} ${n}`).toBeUndefined();
  });

  it('creates each object in dependency order, equal to what was dumped, the CRDs Established', async () => {
    const run = await safehold(['restore-resources', '--cluster', '--file', clusterFile, ...only]);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    const order = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('create '))
      .map((l) => l.split(/ +/).slice(1, 3).join(' '));
    expect(order).toEqual(ours.map((o) => `${o.k.kind} ${o.name}`));
    expect(run.stdout).toContain(`${ours.length} created, 0 replaced, 0 unchanged, 0 skipped, 0 failed.`);
    await expectAsBefore();
    expect(await established(`widgets.${group}`)).toBe(true);

    // The namespace's objects next: its custom resource, with the CRD back.
    const widgets = await safehold([
      'restore-resources',
      namespace,
      '--file',
      namespaceFile,
      '--kind',
      `Widget.${group}`,
    ]);
    expect(widgets, widgets.stderr).toMatchObject({ code: 0 });
    expect(widgets.stdout).toContain('1 created, 0 replaced, 0 unchanged, 0 skipped, 0 failed.');
    const w1 = await sanitizedLive(widget, 'w1', namespace);
    expect(w1?.['spec']).toEqual({ size: 1 });
  });

  it('changes nothing when run again: every object is unchanged', async () => {
    const run = await safehold(['restore-resources', '--cluster', '--file', clusterFile, ...only, '-o', 'json']);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    const steps = (JSON.parse(run.stdout) as { steps: StepRecord[] }).steps;
    expect(steps).toHaveLength(ours.length);
    expect(steps.filter((s) => s.action !== 'unchanged' || s.result !== 'unchanged')).toEqual([]);
  });

  it('leaves a changed ClusterRole alone as a conflict (exit 1) until --force replaces it', async () => {
    const changed = { rules: [{ apiGroups: [group], resources: ['widgets'], verbs: ['*'] }] };
    await admin.mergePatch(kinds.clusterRole, { name: name.role }, changed);
    const role = ['--kind', 'ClusterRole', '--name', name.role];
    const refused = await safehold(['restore-resources', '--cluster', '--file', clusterFile, ...role]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`^conflict +ClusterRole +${name.role} +rules`, 'm'));
    expect(refused.stderr).toMatch(/1 object exists and differs: .*pass --force to replace it/);
    expect((await sanitizedLive(kinds.clusterRole, name.role))?.['rules']).toEqual(changed.rules);

    const forced = await safehold(['restore-resources', '--cluster', '--file', clusterFile, ...role, '--force']);
    expect(forced, forced.stderr).toMatchObject({ code: 0 });
    expect(forced.stdout).toContain('0 created, 1 replaced, 0 unchanged, 0 skipped, 0 failed.');
    await expectAsBefore();
  });

  it('never replaces a ClusterRole Kubernetes manages, even with --force, and says why', async () => {
    const now = await sanitizedLive(kinds.clusterRole, 'system:basic-user');
    const basic = ['--kind', 'ClusterRole', '--name', 'system:basic-user', '--force'];
    const run = await safehold(['restore-resources', '--cluster', '--file', managedFile, ...basic]);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(
      /^managed +ClusterRole +system:basic-user +left as it is: .*kubernetes\.io\/bootstrapping=rbac-defaults/m,
    );
    expect(run.stdout).toContain('0 created, 0 replaced, 0 unchanged, 1 skipped, 0 failed.');
    expect(await sanitizedLive(kinds.clusterRole, 'system:basic-user')).toEqual(now);
  });
});
