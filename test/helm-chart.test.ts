// The chart as an admin installs it: a real `helm install` into the real API
// server, Safehold's namespace given as a value, the operator running as its
// Pod under the chart's ServiceAccount and least-privilege RBAC, a volume
// backed up and restored by that operator with its mover under the chart's
// mover settings, and `helm uninstall` taking the operator away again.
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  backupPolicySpec,
  backupRepositorySpec,
  tenantClusterRoles,
  type VolumeBackup,
  type VolumeRestore,
} from '../src/api/index.ts';
import { generatedKeyName } from '../src/controller/run/repository-credentials.ts';
import { isAlreadyExists, isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import { repoRoot, tools } from '../testenv/paths.ts';
import { resticDump } from './support/block-image.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  testEnv,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import { freePort, installCrds, metricValue, waitForRun } from './support/safehold.ts';

const chart = join(repoRoot, 'charts/safehold');

async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(tools.helm, [...args, '--kubeconfig', testEnv().kubeconfig, '--kube-context', 'admin'], {
    timeoutMs: 180_000,
  });
  return stdout;
}

describe('the Helm chart', () => {
  let client: KubeClient;
  const id = uniqueName('helm');
  const release = `safehold-${id}`;
  const system = `safehold-${id}`;
  const repository = `repo-${id}`;
  const policy = `policy-${id}`;
  const bucket = `safehold-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'helm-test-'));
  let tenant = '';
  let port = 0;
  let installed = false;

  beforeAll(async () => {
    client = clientAs('admin');
    const env = testEnv();
    await installCrds(client);
    // Other journeys make the tenant roles without Helm's ownership marks; Helm adopts nothing.
    for (const role of tenantClusterRoles() as KubeObject[])
      await client.delete(kinds.clusterRole, { name: role.metadata?.name ?? '' }).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    await client.create(kinds.namespace, { metadata: { name: system } }).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
    await client.create(kinds.secret, {
      metadata: { name: 's3', namespace: system },
      stringData: { AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey, AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey },
    } as KubeObject);
    tenant = await createNamespace(client, 'helm-tenant');
    await client.mergePatch(kinds.namespace, { name: tenant }, { metadata: { labels: { 'safehold.test/suite': id } } });
    port = await freePort();
    writeFileSync(
      join(work, 'values.yaml'),
      JSON.stringify({
        namespace: system,
        image: { repository: 'registry.example/safehold', tag: 'test' },
        operator: { bindAddress: '127.0.0.1', port, leaseName: `lease-${id}` },
        mover: {
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } },
          tolerations: [{ key: 'safehold.test/backups', operator: 'Exists', effect: 'NoSchedule' }],
        },
        repositories: [
          {
            name: repository,
            s3: { endpoint: env.ceph.s3.endpoint, bucket, prefix: 'tenants/{namespace}' },
            credentialsSecret: 's3',
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    if (installed) {
      await helm(['uninstall', release, '--namespace', 'default', '--wait']);
      await waitFor('the operator Pod gone', async () => (await operatorPods()).length === 0, { timeoutMs: 120_000 });
    }
    // The tenant roles left with the release; the other journeys expect them as they found them.
    for (const role of tenantClusterRoles() as KubeObject[])
      await client.create(kinds.clusterRole, role).catch((error: unknown) => {
        if (!isAlreadyExists(error)) throw error;
      });
    await client.delete(kinds.backupPolicy, { name: policy }).catch(() => undefined);
    if (tenant !== '') await deleteNamespace(client, tenant);
    await deleteNamespace(client, system);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  const operatorPods = async () =>
    (
      await client.list<Pod>(kinds.pod, {
        namespace: system,
        query: { labelSelector: `app.kubernetes.io/instance=${release}` },
      })
    ).items;

  it('renders objects every schema accepts, the default policy and repositories included', async () => {
    const { stdout: rendered } = await run(tools.helm, [
      'template',
      release,
      chart,
      '--kube-version',
      '1.34.4',
      '--values',
      join(work, 'values.yaml'),
      '--set',
      'defaultPolicy.enabled=true',
      '--set',
      `defaultPolicy.repository=${repository}`,
      '--set-json',
      'defaultPolicy.aliases={"annotations":["cephbackup.hpc.nyu.edu/backup"],"labels":[]}',
    ]);
    const objects = parseAllDocuments(rendered)
      .map((d) => d.toJS() as (KubeObject & { spec?: unknown }) | null)
      .filter((o) => o !== null);
    const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
    const [policyObject] = byKind('BackupPolicy');
    expect(backupPolicySpec.parse(policyObject?.spec)).toMatchObject({
      default: true,
      repository: { name: repository },
      retention: { keepDaily: 7, keepWeekly: 4, keepMonthly: 3 },
      aliases: { annotations: ['cephbackup.hpc.nyu.edu/backup'] },
    });
    const [repositoryObject] = byKind('BackupRepository');
    expect(backupRepositorySpec.parse(repositoryObject?.spec).s3.accessKeyId).toEqual({
      namespace: system,
      name: 's3',
      key: 'AWS_ACCESS_KEY_ID',
    });
    // Everything namespaced lands in Safehold's namespace, which here is a value, not the release's.
    for (const object of objects.filter((o) => o.metadata?.namespace !== undefined))
      expect(`${object.kind ?? ''} ${object.metadata?.namespace ?? ''}`).toBe(`${object.kind ?? ''} ${system}`);
    const [deployment] = byKind('Deployment') as { spec?: { template?: { spec?: Pod['spec'] } } }[];
    const container = deployment?.spec?.template?.spec?.containers[0];
    expect(container?.image).toBe('registry.example/safehold:test');
    expect(deployment?.spec?.template?.spec?.securityContext).toMatchObject({ runAsNonRoot: true });
    // The operator drives BucketRestores and writes their status; tenants who may restore volumes may restore buckets.
    type Role = KubeObject & { rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[] };
    const roles = byKind('ClusterRole') as Role[];
    const granted = (role: Role | undefined, resource: string, verb: string) =>
      (role?.rules ?? []).some(
        (r) => r.apiGroups?.includes('safehold.io') && r.resources?.includes(resource) && r.verbs?.includes(verb),
      );
    const operatorRole = roles.find((r) => r.metadata?.name?.endsWith('-operator') === true);
    expect(granted(operatorRole, 'bucketrestores', 'watch')).toBe(true);
    expect(granted(operatorRole, 'bucketrestores/status', 'patch')).toBe(true);
    const tenantEdit = roles.find((r) => r.metadata?.name === 'safehold-tenant-edit');
    expect(granted(tenantEdit, 'bucketrestores', 'create')).toBe(granted(tenantEdit, 'volumerestores', 'create'));
    expect(granted(tenantEdit, 'bucketrestores', 'create')).toBe(true);
  });

  it("grants reading every object (an objects dump's right, Secrets included) only with operator.objects=true", async () => {
    const wildcardRead = async (set: string[]) => {
      const { stdout } = await run(tools.helm, ['template', release, chart, '--kube-version', '1.34.4', ...set]);
      const role = parseAllDocuments(stdout)
        .map((d) => d.toJS() as (KubeObject & { rules?: { apiGroups?: string[]; resources?: string[] }[] }) | null)
        .find((o) => o?.kind === 'ClusterRole' && o.metadata?.name?.endsWith('-operator') === true);
      return (role?.rules ?? []).some(
        (r) => r.apiGroups?.includes('*') === true && r.resources?.includes('*') === true,
      );
    };
    expect(await wildcardRead([])).toBe(false);
    expect(await wildcardRead(['--set', 'operator.objects=true'])).toBe(true);
  });

  it('refuses a repository without its credentials Secret, naming the field', async () => {
    const failed = await run(tools.helm, [
      'template',
      release,
      chart,
      '--kube-version',
      '1.34.4',
      '--set-json',
      'repositories=[{"name":"offsite","s3":{"endpoint":"https://s3.example","bucket":"b"}}]',
    ]).then(
      () => '',
      (error: unknown) => String(error),
    );
    expect(failed).toContain('repositories[offsite].credentialsSecret');
  });

  it('installs: the operator runs as its ServiceAccount, not as root, leads and serves its metrics', async () => {
    await helm(['install', release, chart, '--namespace', 'default', '--values', join(work, 'values.yaml')]);
    installed = true;
    let pod: Pod | undefined;
    await waitFor('the operator Pod running', async () => {
      [pod] = await operatorPods();
      return pod?.status?.phase === 'Running';
    });
    expect(pod?.spec?.serviceAccountName).toBe(release);
    expect(pod?.spec?.securityContext?.runAsUser).toBe(65532);
    await waitFor(
      'the installed operator to lead and decide',
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return metricValue(text, 'safehold_leader', {}) === 1 && (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
      },
      { timeoutMs: 120_000 },
    ).catch(async (error: unknown) => {
      // What the operator said, and how its container fared: the reason, when it never leads.
      const [now] = await operatorPods();
      const name = now?.metadata?.name ?? '';
      const said = name === '' ? '(no Pod)' : await client.podLog(system, name, { tailLines: 40 }).catch(String);
      throw new Error(
        `${String(error)}\ncontainer: ${JSON.stringify(now?.status?.containerStatuses ?? [])}\nits log:\n${said}`,
        { cause: error },
      );
    });
  });

  it("backs up a volume, its mover under the chart's mover settings, and the bytes come back", async () => {
    await client.create(kinds.backupPolicy, {
      metadata: { name: policy },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repository },
        retry: { limit: 1, deadline: '10m' },
      },
    } as KubeObject);
    await createClaim(client, tenant, 'data');
    const volume = await boundVolumePath(client, tenant, 'data');
    const content = `written ${new Date().toISOString()} for ${id}\n`;
    writeFileSync(join(volume, 'note.txt'), content);
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'data-1', namespace: tenant },
      spec: { pvc: 'data', trigger: 'manual' },
    } as KubeObject);
    let mover: Job | undefined;
    await waitFor('the mover Job', async () => {
      const jobs = await client.list<Job>(kinds.job, {
        namespace: system,
        query: { labelSelector: `safehold.io/namespace=${tenant}` },
      });
      mover = jobs.items[0];
      return mover !== undefined;
    });
    const done = await waitForRun<VolumeBackup>(client, kinds.volumeBackup, tenant, 'data-1');
    const spec = mover?.spec?.template.spec;
    expect(spec?.serviceAccountName).toBe(`${release}-mover`);
    expect(spec?.automountServiceAccountToken).toBe(false);
    expect(spec?.containers[0]?.image).toBe('registry.example/safehold:test');
    expect(spec?.containers[0]?.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '1Gi' },
    });
    expect(spec?.tolerations).toEqual([{ key: 'safehold.test/backups', operator: 'Exists', effect: 'NoSchedule' }]);

    const key = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: system,
      name: generatedKeyName(repository, tenant),
    });
    const password = Buffer.from(key.data?.password ?? '', 'base64').toString();
    const target = join(work, 'note.txt');
    await resticDump(
      `s3:${testEnv().ceph.s3.endpoint}/${bucket}/tenants/${tenant}`,
      password,
      done.status?.snapshotId ?? '',
      `${done.status?.snapshotPath ?? '/data'}/note.txt`,
      target,
    );
    expect(readFileSync(target, 'utf8')).toBe(content);
  });

  it('restores the backup into a new PVC through the installed operator', async () => {
    await client.create(kinds.volumeRestore, {
      metadata: { name: 'data-back', namespace: tenant },
      spec: { source: { pvc: 'data' }, backup: 'data-1', useSnapshot: false, target: { pvc: 'data-back' } },
    } as KubeObject);
    const done = await waitForRun<VolumeRestore>(client, kinds.volumeRestore, tenant, 'data-back');
    expect(done.status?.method).toBe('repository');
    const restored = await boundVolumePath(client, tenant, 'data-back');
    expect(readFileSync(join(restored, 'note.txt'), 'utf8')).toMatch(/^written .* for helm-/);
  });

  it('may not read Secrets outside its namespace, and says so on the run', async () => {
    const env = testEnv();
    await client.create(kinds.secret, {
      metadata: { name: 's3', namespace: tenant },
      stringData: { AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey, AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey },
    } as KubeObject);
    await client.create(kinds.backupRepository, {
      metadata: { name: `${repository}-elsewhere` },
      spec: {
        s3: {
          endpoint: env.ceph.s3.endpoint,
          bucket,
          accessKeyId: { namespace: tenant, name: 's3' },
          secretAccessKey: { namespace: tenant, name: 's3' },
        },
      },
    } as KubeObject);
    await client.create(kinds.backupPolicy, {
      metadata: { name: `${policy}-elsewhere` },
      spec: {
        priority: 1,
        selector: { pvcSelector: { matchLabels: { 'safehold.test/nothing': id } } },
        repository: { name: `${repository}-elsewhere` },
      },
    } as KubeObject);
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'data-elsewhere', namespace: tenant },
      spec: { pvc: 'data', policy: `${policy}-elsewhere`, trigger: 'manual' },
    } as KubeObject);
    let message = '';
    await waitFor('the run to say why it cannot start', async () => {
      const run = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: tenant, name: 'data-elsewhere' });
      message = run.status?.message ?? '';
      return run.status?.reason === 'SecretNotFound';
    });
    expect(message).toContain(`Safehold may not read Secret ${tenant}/s3`);
    await client.delete(kinds.volumeBackup, { namespace: tenant, name: 'data-elsewhere' });
    await client.delete(kinds.backupPolicy, { name: `${policy}-elsewhere` });
    await client.delete(kinds.backupRepository, { name: `${repository}-elsewhere` });
  });
});
