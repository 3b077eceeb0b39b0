// Which volumes are protected, and why: seed 001's rules decided on the real
// API server, malformed values reported, a workload's volumes selected, and a
// live change visible in `safehold status` and in the operator's metrics.
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Event, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlreadyExists, isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import {
  boundVolumePath,
  clientAs,
  createNamespace,
  deleteNamespace,
  testEnv,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import { installCrds, metricValue, safehold, startOperator, type RunningOperator } from './support/safehold.ts';

interface Row {
  namespace: string;
  name: string;
  decision: string;
  policy: string | null;
  rule: string | null;
  excludedBy: string | null;
  cause: string | null;
  reason: string;
}

async function statusRows(): Promise<Row[]> {
  const result = await safehold(['status', '-A', '-o', 'json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Row[];
}

describe('coverage', () => {
  let client: KubeClient;
  const nsPlain = { name: '' };
  const nsOff = { name: '' };
  const nsOn = { name: '' };
  const nsWork = { name: '' };
  const noBackupClass = uniqueName('nobackup');
  const workloadPolicy = uniqueName('vms');
  const defaultPolicy = uniqueName('everything');
  let operator: RunningOperator | undefined;
  let rows: Row[] = [];
  const row = (namespace: string, name: string) => {
    const found = rows.find((r) => r.namespace === namespace && r.name === name);
    if (found === undefined) throw new Error(`no status row for ${namespace}/${name}`);
    return found;
  };

  beforeAll(async () => {
    client = clientAs('admin');
    await installCrds(client);
    await client.create(kinds.namespace, { metadata: { name: 'safehold-system' } }).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
    await client.create(kinds.storageClass, {
      metadata: { name: noBackupClass, annotations: { 'safehold.io/backup': 'false' } },
      provisioner: testEnv().storage.driver,
      reclaimPolicy: 'Delete',
    } as never);
    // The highest priority, so a default policy left by `npm run demo` in a reused environment does not tie with it.
    await client.create(kinds.backupPolicy, {
      metadata: { name: defaultPolicy },
      spec: { default: true, priority: 1000 },
    } as never);

    nsPlain.name = await createNamespace(client, 'cov-plain');
    nsOff.name = await createNamespace(client, 'cov-off');
    nsOn.name = await createNamespace(client, 'cov-on');
    nsWork.name = await createNamespace(client, 'cov-work');
    const annotateNs = (name: string, value: string) =>
      client.mergePatch(kinds.namespace, { name }, { metadata: { annotations: { 'safehold.io/backup': value } } });
    await annotateNs(nsOff.name, 'false');
    await annotateNs(nsOn.name, 'true');

    const claim = async (ns: string, name: string, annotation?: string, storageClassName?: string) => {
      await client.create(kinds.persistentVolumeClaim, {
        metadata: {
          name,
          namespace: ns,
          ...(annotation === undefined ? {} : { annotations: { 'safehold.io/backup': annotation } }),
        },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
          ...(storageClassName === undefined ? {} : { storageClassName }),
        },
      } as never);
      return boundVolumePath(client, ns, name);
    };
    await claim(nsPlain.name, 'plain');
    await claim(nsPlain.name, 'opt-out', 'false');
    await claim(nsPlain.name, 'malformed', 'yes');
    await claim(nsPlain.name, 'class-off', undefined, noBackupClass);
    await claim(nsPlain.name, 'admin-wins', 'false');
    const adminWins = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, {
      namespace: nsPlain.name,
      name: 'admin-wins',
    });
    await client.mergePatch(
      kinds.persistentVolume,
      { name: adminWins.spec?.volumeName ?? '' },
      { metadata: { annotations: { 'safehold.io/backup': 'true' } } },
    );
    await claim(nsOff.name, 'wants', 'true');
    await claim(nsOn.name, 'plain');
    await claim(nsOn.name, 'opt-out', 'false');
    await claim(nsOn.name, 'class-off', undefined, noBackupClass);
    await claim(nsWork.name, 'disk');
    await claim(nsWork.name, 'other');

    const vm: Deployment = {
      metadata: { name: 'vm', namespace: nsWork.name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'vm' } },
        template: {
          metadata: { labels: { app: 'vm' } },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'vm',
                image: 'safehold',
                command: ['sleep', '3600'],
                volumeMounts: [{ name: 'disk', mountPath: '/disk' }],
              },
            ],
            volumes: [{ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
          },
        },
      },
    };
    await client.create(kinds.deployment, vm);
    await client.create(kinds.backupPolicy, {
      metadata: { name: workloadPolicy },
      spec: {
        priority: 500,
        selector: { workloads: [{ namespace: nsWork.name, kind: 'Deployment', name: 'vm' }] },
        schedule: { cron: '0 17 * * *', timeZone: 'Europe/Prague' },
      },
    } as never);
    operator = await startOperator('safehold-system', 'coverage-test');
    rows = await statusRows();
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of [defaultPolicy, workloadPolicy])
      await client.delete(kinds.backupPolicy, { name }).catch(() => undefined);
    for (const ns of [nsPlain, nsOff, nsOn, nsWork]) if (ns.name !== '') await deleteNamespace(client, ns.name);
    await client.delete(kinds.storageClass, { name: noBackupClass }).catch(() => undefined);
    client.close();
  });

  it('decides each PVC as seed 001 says', () => {
    expect(row(nsPlain.name, 'plain')).toMatchObject({
      decision: 'protected',
      policy: defaultPolicy,
      rule: 'default-policy',
    });
    expect(row(nsPlain.name, 'opt-out')).toMatchObject({
      decision: 'excluded',
      excludedBy: 'PersistentVolumeClaim',
      rule: 'pvc-annotation',
    });
    expect(row(nsPlain.name, 'class-off')).toMatchObject({
      decision: 'excluded',
      excludedBy: 'StorageClass',
      rule: 'storage-class-annotation',
    });
    expect(row(nsPlain.name, 'admin-wins')).toMatchObject({ decision: 'protected', rule: 'pv-annotation' });
    expect(row(nsOff.name, 'wants')).toMatchObject({
      decision: 'excluded',
      excludedBy: 'Namespace',
      rule: 'namespace-annotation',
    });
    expect(row(nsOn.name, 'plain')).toMatchObject({ decision: 'protected', rule: 'namespace-annotation' });
    expect(row(nsOn.name, 'opt-out')).toMatchObject({ decision: 'excluded', excludedBy: 'PersistentVolumeClaim' });
    expect(row(nsOn.name, 'class-off')).toMatchObject({ decision: 'protected', rule: 'namespace-annotation' });
  });

  it('reports a malformed value as UNPROTECTED in status and as an Event on the PVC', async () => {
    expect(row(nsPlain.name, 'malformed')).toMatchObject({ decision: 'UNPROTECTED', cause: 'MalformedAnnotation' });
    expect(row(nsPlain.name, 'malformed').reason).toContain('safehold.io/backup="yes"');
    await waitFor('a MalformedAnnotation event on the PVC', async () => {
      const events = await client.list<Event>(kinds.event, {
        namespace: nsPlain.name,
        query: { fieldSelector: 'involvedObject.name=malformed' },
      });
      return events.items.some(
        (e) => e.reason === 'MalformedAnnotation' && e.type === 'Warning' && (e.message ?? '').includes('"yes"'),
      );
    });
    const onlyBad = await safehold(['status', '-n', nsPlain.name, '--unprotected', '--fail-on-unprotected']);
    expect(onlyBad.code).toBe(3);
    const lines = onlyBad.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/ malformed .* UNPROTECTED /);
  });

  it("protects a workload's PVC by the policy that names the workload", () => {
    expect(row(nsWork.name, 'disk')).toMatchObject({
      decision: 'protected',
      policy: workloadPolicy,
      rule: 'policy-selector',
    });
    expect(row(nsWork.name, 'other')).toMatchObject({ decision: 'protected', policy: defaultPolicy });
  });

  it('shows a live change in status and in the operator metrics within seconds', async () => {
    const running = operator as RunningOperator;
    const series = { namespace: nsPlain.name, pvc: 'plain', policy: defaultPolicy };
    await waitFor(
      'the operator to publish the PVC as protected',
      async () => metricValue(await running.metrics(), 'safehold_volume_protected', series) === 1,
      { timeoutMs: 30_000 },
    );

    await client.mergePatch(
      kinds.namespace,
      { name: nsPlain.name },
      { metadata: { annotations: { 'safehold.io/backup': 'false' } } },
    );
    const started = Date.now();
    const after = await statusRows();
    expect(after.find((r) => r.namespace === nsPlain.name && r.name === 'plain')).toMatchObject({
      decision: 'excluded',
      excludedBy: 'Namespace',
    });
    await waitFor(
      'the operator to drop the protected series',
      async () => {
        const text = await running.metrics();
        return (
          metricValue(text, 'safehold_volume_protected', { namespace: nsPlain.name, pvc: 'plain', policy: '' }) === 0
        );
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('counts decisions in the policy status', async () => {
    await waitFor('the policy status to count its volumes', async () => {
      const policy = await client.get<
        KubeObject & { status?: { volumes?: { protected: number }; conditions?: { type: string; status: string }[] } }
      >(kinds.backupPolicy, { name: workloadPolicy });
      return policy.status?.volumes?.protected === 1 && policy.status.conditions?.[0]?.status === 'True';
    });
  });
});

describe('BackupPolicy validation at the API server', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = clientAs('admin');
    await installCrds(client);
  });
  afterAll(() => {
    client.close();
  });

  it.each([
    [
      { default: true, schedule: { cron: '61 * * * *' } },
      'spec.schedule.cron',
      'must be a cron expression of five fields',
    ],
    [{ default: true, schedule: { timeZone: 'Nowhere Land' } }, 'spec.schedule.timeZone', 'must be an IANA time zone'],
    [{ default: true, retention: { keepDaily: -1 } }, 'spec.retention.keepDaily', 'greater than or equal to 0'],
    [{ default: true, method: 'rsync' }, 'spec.method', 'Unsupported value: "rsync"'],
    [{ priority: 10 }, 'spec.selector', 'a policy that is not the default must select something'],
  ])('refuses %j naming %s', async (spec, field, message) => {
    const name = uniqueName('bad');
    let error: unknown;
    try {
      await client.create(kinds.backupPolicy, { metadata: { name }, spec } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(field);
    expect((error as Error).message).toContain(message);
    await expect(client.get(kinds.backupPolicy, { name })).rejects.toSatisfy(isNotFound);
  });
});
