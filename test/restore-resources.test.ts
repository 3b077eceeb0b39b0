// A namespace's API objects come back from an objects dump: `safehold
// restore-resources` reads a file written as the operator writes one (header,
// sanitized objects, trailer), creates every object in an emptied namespace
// and in a new one (--to), each equal to the file's; a second run changes
// nothing; an object changed since is a conflict left alone until --force; a
// file cut short is refused before anything is made; and a tenant restores
// only where their own rights reach.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectsFileFormat, tenantClusterRoles } from '../src/api/index.ts';
import { groupKind, groupOf, sanitizeObject, type ApiObject } from '../src/core/index.ts';
import {
  apiVersionOf,
  isNotFound,
  kinds,
  type KubeClient,
  type KubeObject,
  type ResourceKind,
} from '../src/kube/index.ts';
import { clientAs, createClaim, createNamespace, deleteNamespace, uniqueName, waitFor } from './support/cluster.ts';
import { safehold } from './support/safehold.ts';

/** The kinds the file holds, in the operator's order (group, then kind). */
const dumped: ResourceKind[] = [
  kinds.configMap,
  kinds.persistentVolumeClaim,
  kinds.secret,
  kinds.serviceAccount,
  kinds.deployment,
  kinds.role,
  kinds.roleBinding,
];
const kindOf = new Map(dumped.map((k) => [groupKind(k.group, k.kind), k]));

interface StepRecord {
  kind: string;
  name: string;
  action: string;
  result: string;
}

describe('restoring a namespace from an objects dump', () => {
  let admin: KubeClient;
  const work = mkdtempSync(join(tmpdir(), 'restore-resources-'));
  const objectsPath = join(work, 'objects.jsonl');
  const truncatedPath = join(work, 'truncated.jsonl');
  let source = '';
  const objects: ApiObject[] = [];
  const copy = uniqueName('rr-copy');
  const neverMade = uniqueName('rr-never');
  let tenantHome = '';
  let elsewhere = '';

  /** The live object as the dump would hold it. */
  const sanitizedLive = async (k: ResourceKind, namespace: string, name: string): Promise<ApiObject> => {
    const live = await admin.get(k, { namespace, name });
    const sanitized = sanitizeObject({ ...live, apiVersion: apiVersionOf(k), kind: k.kind });
    if (!sanitized.keep) throw new Error(sanitized.reason);
    return sanitized.object;
  };
  /** Every object of the file, read back from `namespace`, equals the file's (moved there). */
  const expectRestored = async (namespace: string) => {
    for (const object of objects) {
      const k = kindOf.get(groupKind(groupOf(object.apiVersion), object.kind));
      if (k === undefined) throw new Error(`no kind for ${object.kind}`);
      const expected = moved(object, source, namespace);
      expect(await sanitizedLive(k, namespace, object.metadata.name), `${object.kind} ${object.metadata.name}`).toEqual(
        expected,
      );
    }
  };

  beforeAll(async () => {
    admin = clientAs('admin');
    for (const role of tenantClusterRoles() as KubeObject[])
      await admin.apply(kinds.clusterRole, role, { force: true });
    source = await createNamespace(admin, 'rr-source');
    await createObjects(admin, source);

    // The operator's objects file: each kind listed, each object sanitized, and what it left out.
    const lines: unknown[] = [];
    const skippedObjects: { object: string; reason: string }[] = [];
    for (const k of dumped) {
      const listed = await admin.list<KubeObject>(k, { namespace: source });
      const items = listed.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
      for (const item of items) {
        const sanitized = sanitizeObject({ ...item, apiVersion: apiVersionOf(k), kind: k.kind });
        if (sanitized.keep) objects.push(sanitized.object);
        else
          skippedObjects.push({ object: `${k.kind} ${source}/${item.metadata?.name ?? ''}`, reason: sanitized.reason });
      }
    }
    lines.push(
      {
        format: objectsFileFormat,
        namespace: source,
        capturedAt: new Date().toISOString(),
        resources: dumped.map(({ group, version, kind, plural, namespaced }) => ({
          group,
          version,
          kind,
          plural,
          namespaced,
        })),
        skipped: [{ resource: 'events', reason: 'a record of what happened, not desired state' }],
      },
      ...objects,
      { end: true, objects: objects.length, skippedObjects },
    );
    const text = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
    writeFileSync(objectsPath, text);
    writeFileSync(
      truncatedPath,
      lines
        .slice(0, -1)
        .map((l) => `${JSON.stringify(l)}\n`)
        .join(''),
    );
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ConfigMap/settings',
      'PersistentVolumeClaim/data',
      'Secret/db',
      'ServiceAccount/app',
      'ServiceAccount/default',
      'Deployment/web',
      'Role/reader',
      'RoleBinding/reader',
    ]);

    // An accident: everything the dump holds is deleted (the namespace's default ServiceAccount stays).
    for (const object of objects.filter((o) => !(o.kind === 'ServiceAccount' && o.metadata.name === 'default'))) {
      const k = kindOf.get(groupKind(groupOf(object.apiVersion), object.kind)) as ResourceKind;
      await admin.delete(k, { namespace: source, name: object.metadata.name }, { propagationPolicy: 'Background' });
    }
    await waitFor(`the objects of ${source} deleted`, async () => {
      for (const k of dumped.filter((d) => d !== kinds.serviceAccount)) {
        const left = await admin.list<KubeObject>(k, { namespace: source });
        if (left.items.some((i) => i.metadata?.name !== 'kube-root-ca.crt')) return false;
      }
      return true;
    });

    // alice edits one namespace of her own, nothing else.
    tenantHome = await createNamespace(admin, 'rr-alice');
    elsewhere = await createNamespace(admin, 'rr-other');
    await admin.create(kinds.roleBinding, {
      metadata: { name: 'alice-edit', namespace: tenantHome },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as KubeObject);
  });

  afterAll(async () => {
    for (const ns of [source, copy, neverMade, tenantHome, elsewhere]) if (ns !== '') await deleteNamespace(admin, ns);
    admin.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('creates every object of the file in the emptied namespace, each equal to the file’s', async () => {
    const run = await safehold(['restore-resources', source, '--file', objectsPath]);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/^create +ConfigMap +settings/m);
    expect(run.stdout).toMatch(/^unchanged +ServiceAccount +default/m);
    expect(run.stdout).toContain('7 created, 0 replaced, 1 unchanged, 0 skipped, 0 failed.');
    await expectRestored(source);
  });

  it('changes nothing when run again: every object is unchanged', async () => {
    const run = await safehold(['restore-resources', source, '--file', objectsPath, '-o', 'json']);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    const steps = (JSON.parse(run.stdout) as { steps: StepRecord[] }).steps;
    expect(steps).toHaveLength(objects.length);
    expect(steps.filter((s) => s.action !== 'unchanged' || s.result !== 'unchanged')).toEqual([]);
  });

  it('leaves a changed ConfigMap alone as a conflict (exit 1) until --force replaces it', async () => {
    await admin.mergePatch(kinds.configMap, { namespace: source, name: 'settings' }, { data: { mode: 'changed' } });
    const dryRun = await safehold(['restore-resources', source, '--file', objectsPath, '--dry-run']);
    expect(dryRun.stdout).toMatch(/^conflict +ConfigMap +settings +data\.mode: "changed" -> "fast"$/m);
    expect(dryRun.stdout).toContain('Dry run: 0 to create, 0 to replace, 7 unchanged, 1 in conflict');

    const refused = await safehold(['restore-resources', source, '--file', objectsPath]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('0 created, 0 replaced, 7 unchanged, 1 skipped, 0 failed.');
    expect(refused.stderr).toMatch(/1 object exists and differs: .*pass --force to replace it/);
    const kept = await admin.get<KubeObject & { data?: Record<string, string> }>(kinds.configMap, {
      namespace: source,
      name: 'settings',
    });
    expect(kept.data?.['mode']).toBe('changed');

    const forced = await safehold(['restore-resources', source, '--file', objectsPath, '--force']);
    expect(forced, forced.stderr).toMatchObject({ code: 0 });
    expect(forced.stdout).toMatch(/^replace +ConfigMap +settings +data\.mode: "changed" -> "fast"$/m);
    expect(forced.stdout).toContain('0 created, 1 replaced, 7 unchanged, 0 skipped, 0 failed.');
    await expectRestored(source);
  });

  it('replaces with --force a bound claim and a Deployment, keeping what the cluster assigned them', async () => {
    type Claim = KubeObject & { spec?: { volumeName?: string }; status?: { phase?: string } };
    let volumeName = '';
    await waitFor(`PVC ${source}/data bound`, async () => {
      const claim = await admin.get<Claim>(kinds.persistentVolumeClaim, { namespace: source, name: 'data' });
      volumeName = claim.spec?.volumeName ?? '';
      return claim.status?.phase === 'Bound';
    });
    const labelled = { metadata: { labels: { changed: 'since' } } };
    await admin.mergePatch(kinds.persistentVolumeClaim, { namespace: source, name: 'data' }, labelled);
    await admin.mergePatch(kinds.deployment, { namespace: source, name: 'web' }, { spec: { paused: true } });
    const run = await safehold(['restore-resources', source, '--file', objectsPath, '--force']);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/^replace +PersistentVolumeClaim +data +metadata\.labels: \(object\) -> \(none\)$/m);
    expect(run.stdout).toMatch(/^replace +Deployment +web +spec\.paused: true -> \(none\)$/m);
    expect(run.stdout).toContain('0 created, 2 replaced, 6 unchanged, 0 skipped, 0 failed.');
    await expectRestored(source);
    const claim = await admin.get<Claim>(kinds.persistentVolumeClaim, { namespace: source, name: 'data' });
    expect(claim.spec?.volumeName).toBe(volumeName);
  });

  it('restores into another namespace with --to, making it, the RoleBinding naming the ServiceAccount there', async () => {
    const run = await safehold(['restore-resources', source, '--file', objectsPath, '--to', copy]);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/^create +Namespace +/m);
    await expectRestored(copy);
    const binding = await admin.get<KubeObject & { subjects?: { namespace?: string }[] }>(kinds.roleBinding, {
      namespace: copy,
      name: 'reader',
    });
    expect(binding.subjects?.[0]?.namespace).toBe(copy);
  });

  it('refuses a file without its trailer and makes nothing', async () => {
    const run = await safehold(['restore-resources', source, '--file', truncatedPath, '--to', neverMade]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/incomplete: the file ends at line \d+ without its trailer.*nothing was restored/);
    const namespace = await admin.get(kinds.namespace, { name: neverMade }).catch((error: unknown) => error);
    expect(isNotFound(namespace)).toBe(true);
  });

  it('lets a tenant with `edit` of one namespace restore there what their role allows, and nowhere else', async () => {
    const denied = await safehold(['restore-resources', source, '--file', objectsPath, '--to', elsewhere], 'alice');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      new RegExp(`cannot list \\S+ in namespace ${elsewhere}: 403 Forbidden: .*nothing was restored`),
    );
    const there = await admin.list<KubeObject>(kinds.configMap, { namespace: elsewhere });
    expect(there.items.map((i) => i.metadata?.name)).toEqual(['kube-root-ca.crt']);

    // `edit` does not reach Roles: all the kinds at once are refused, the ones it reaches go.
    const all = await safehold(['restore-resources', source, '--file', objectsPath, '--to', tenantHome], 'alice');
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(new RegExp(`cannot list roles.rbac.authorization.k8s.io in namespace ${tenantHome}`));
    const allowed = ['--kind', 'ConfigMap', '--kind', 'Secret', '--kind', 'Deployment'];
    const some = await safehold(
      ['restore-resources', source, '--file', objectsPath, '--to', tenantHome, ...allowed],
      'alice',
    );
    expect(some, some.stderr).toMatchObject({ code: 0 });
    expect(some.stdout).toContain('3 created, 0 replaced, 0 unchanged, 0 skipped, 0 failed.');
    expect(await sanitizedLive(kinds.configMap, tenantHome, 'settings')).toEqual(
      moved(objects[0] as ApiObject, source, tenantHome),
    );
  });
});

/** The file's object as a restore into `to` makes it: its namespace, and a binding's subjects there. */
function moved(object: ApiObject, from: string, to: string): ApiObject {
  const copy = structuredClone(object);
  if (copy.metadata.namespace === from) copy.metadata.namespace = to;
  for (const subject of (copy['subjects'] as { namespace?: string }[] | undefined) ?? [])
    if (subject.namespace === from) subject.namespace = to;
  return copy;
}

async function createObjects(admin: KubeClient, namespace: string): Promise<void> {
  const create = (k: ResourceKind, object: Record<string, unknown>) =>
    admin.create(k, { ...object, metadata: { ...(object['metadata'] as object), namespace } });
  await create(kinds.configMap, { metadata: { name: 'settings', labels: { app: 'web' } }, data: { mode: 'fast' } });
  await create(kinds.secret, {
    metadata: { name: 'db' },
    type: 'Opaque',
    data: { password: Buffer.from('from the backup').toString('base64') },
  });
  await create(kinds.serviceAccount, { metadata: { name: 'app' } });
  await create(kinds.deployment, {
    metadata: { name: 'web' },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { serviceAccountName: 'app', containers: [{ name: 'web', image: 'safehold', args: ['--version'] }] },
      },
    },
  });
  await createClaim(admin, namespace, 'data');
  await create(kinds.role, {
    metadata: { name: 'reader' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
  });
  await create(kinds.roleBinding, {
    metadata: { name: 'reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'app', namespace }],
  });
  // The default ServiceAccount is the control plane's: the dump holds it once it is there.
  await waitFor(`ServiceAccount ${namespace}/default`, async () => {
    try {
      await admin.get(kinds.serviceAccount, { namespace, name: 'default' });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  });
}
