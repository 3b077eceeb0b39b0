// etcd as a dump (issue 21, M11): a kubeadm-style control plane of the
// journey's own (etcd with TLS and client certificates in a host folder named
// as kubeadm names them, a kube-apiserver on it) holds some ConfigMaps. An
// ApplicationDump with spec.etcd in Safehold's namespace snapshots that etcd
// from a mover on a node labelled and tainted as a control-plane node (host
// network, the certificates folder mounted read-only); the snapshot, read
// back with `safehold dump --application`, is restored with
// `etcdutl snapshot restore` into a fresh etcd, and a kube-apiserver on it
// has the ConfigMaps written before the snapshot and not the one written
// after. A certificate folder without the files, an endpoint nobody listens
// on and a CA that is not etcd's each fail, naming the file or the endpoint,
// and store nothing; so does an etcd dump outside Safehold's namespace. A
// policy with spec.etcd keeps the dump safehold-etcd, and `safehold status
// --objects` shows etcd protected.
import type { Node } from 'kubernetes-types/core/v1.js';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplicationDump, DumpRun } from '../src/api/index.ts';
import type { ObjectsRow } from '../src/core/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { tools } from '../testenv/paths.ts';
import { clientAs, createNamespace, deleteNamespace, uniqueName, waitFor } from './support/cluster.ts';
import {
  certificateAuthority,
  kubeadmEtcdPki,
  signedCertificate,
  startApiserver,
  startEtcd,
  stopDaemons,
  type EtcdDaemon,
} from './support/etcd-control-plane.ts';
import {
  freePort,
  installWithRepository,
  runOperatorHere,
  safehold,
  safeholdToFile,
  waitForRun,
  type OperatorHere,
} from './support/safehold.ts';

/** The node the movers run on, made a control-plane node for the journey (and made back after). */
const controlPlaneNode = 'node-1';
const controlPlaneLabel = 'node-role.kubernetes.io/control-plane';

describe('etcd as a dump', () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  let source: KubeClient | undefined;
  let restored: KubeClient | undefined;
  let etcd: EtcdDaemon;
  let tenant = '';
  const id = uniqueName('etcddump');
  const system = `safehold-${id}`;
  const repository = `repo-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'etcd-dump-'));
  // As kubeadm has it on a control-plane node: /etc/kubernetes/pki/etcd.
  const pki = join(work, 'pki', 'etcd');
  const daemons = ['etcd-source', 'apiserver-source', 'etcd-restored', 'apiserver-restored'];
  let tainted = false;

  beforeAll(async () => {
    client = clientAs('admin');
    kubeadmEtcdPki(pki);
    etcd = await startEtcd(work, 'etcd-source', join(work, 'etcd-source-data'), pki);
    source = await startApiserver(work, 'apiserver-source', etcd, pki);
    await installWithRepository(client, { system, id, bucket: `safehold-${id}`, repository });
    tenant = await createNamespace(client, 'etcd-tenant');
    // One node is the control plane: labelled as kubeadm labels it, and tainted, so only Pods that tolerate it go there.
    const node = await client.get<Node & KubeObject>(kinds.node, { name: controlPlaneNode });
    await client.mergePatch(
      kinds.node,
      { name: controlPlaneNode },
      {
        metadata: { labels: { [controlPlaneLabel]: '' } },
        spec: { taints: [...(node.spec?.taints ?? []), { key: controlPlaneLabel, effect: 'NoSchedule' }] },
      },
    );
    tainted = true;
    operator = await runOperatorHere(system, id);
  }, 300_000);

  afterAll(async () => {
    await operator?.stop();
    if (tainted) {
      const node = await client.get<Node & KubeObject>(kinds.node, { name: controlPlaneNode });
      await client.mergePatch(
        kinds.node,
        { name: controlPlaneNode },
        {
          metadata: { labels: { [controlPlaneLabel]: null } },
          spec: { taints: (node.spec?.taints ?? []).filter((t) => t.key !== controlPlaneLabel) },
        },
      );
    }
    source?.close();
    restored?.close();
    await stopDaemons(work, daemons);
    await client.delete(kinds.backupPolicy, { name: `policy-${id}` }).catch(() => undefined);
    if (tenant !== '') await deleteNamespace(client, tenant);
    await client.delete(kinds.backupRepository, { name: repository }).catch(() => undefined);
    await deleteNamespace(client, system);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  const configMap = (name: string) =>
    source?.create(kinds.configMap, {
      metadata: { name, namespace: 'default' },
      data: { written: name },
    } as KubeObject);
  const declare = (name: string, spec: object, namespace = system) =>
    client.create(kinds.applicationDump, {
      metadata: { name, namespace },
      spec: { ...spec, repository },
    } as KubeObject);
  const runNow = async (
    dump: string,
    name: string,
    outcome: 'Succeeded' | 'Failed' = 'Succeeded',
    namespace = system,
  ) => {
    await client.create(kinds.dumpRun, { metadata: { name, namespace }, spec: { dump } } as KubeObject);
    return waitForRun<DumpRun>(client, kinds.dumpRun, namespace, name, { outcome, timeoutMs: 300_000 });
  };

  it('snapshots etcd on a control-plane node; restored into a fresh etcd, the API has what was written before', async () => {
    for (const name of ['before-1', 'before-2', 'before-3']) await configMap(name);
    await declare('etcd', { etcd: { endpoints: [etcd.url], certificates: { hostPath: pki } } });
    const run = await runNow('etcd', 'etcd-1');
    expect(run.status).toMatchObject({ fileName: 'etcd.db', reason: 'Succeeded' });
    expect(run.status?.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(run.status?.message).toMatch(
      new RegExp(`^stored etcd\\.db \\(\\d+ bytes, revision \\d+, \\d+ keys\\) from the etcd at ${etcd.url}$`),
    );
    // The mover ran where etcd is: on the one node labelled control-plane (by default), its taint tolerated.
    await configMap('after');

    const file = join(work, 'etcd.db');
    const got = await safeholdToFile(['dump', '--application', `${system}/etcd`, '--backup', 'etcd-1'], file);
    expect(got.code, got.stderr).toBe(0);
    const dataDir = join(work, 'etcd-restored-data');
    const peer = await freePort();
    // prettier-ignore
    await promisify(execFile)(tools.etcdutl, [
      'snapshot', 'restore', file, '--data-dir', dataDir, '--name', 'etcd-restored',
      '--initial-cluster', `etcd-restored=http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    ]);
    const fresh = await startEtcd(work, 'etcd-restored', dataDir);
    restored = await startApiserver(work, 'apiserver-restored', fresh);
    const names = (await restored.list<KubeObject>(kinds.configMap, { namespace: 'default' })).items.map(
      (m) => m.metadata?.name,
    );
    expect(names).toEqual(expect.arrayContaining(['before-1', 'before-2', 'before-3']));
    expect(names).not.toContain('after');
    const kept = await restored.get<KubeObject & { data?: Record<string, string> }>(kinds.configMap, {
      namespace: 'default',
      name: 'before-2',
    });
    expect(kept.data).toEqual({ written: 'before-2' });
  });

  it('shows etcd protected by the dump in `safehold status --objects`', async () => {
    await waitFor('the etcd dump recorded its success', async () => {
      const dump = await client.get<ApplicationDump>(kinds.applicationDump, { namespace: system, name: 'etcd' });
      return dump.status?.lastSuccess?.name === 'etcd-1';
    });
    const status = await safehold(['status', '--objects', '-A', '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as ObjectsRow[];
    expect(rows.filter((r) => r.scope === 'Etcd')).toEqual([
      expect.objectContaining({ state: 'protected', dump: `${system}/etcd`, url: etcd.url }),
    ]);
  });

  it('fails on a certificates folder without the files, naming the file and the field, and stores nothing', async () => {
    const elsewhere = join(work, 'not-etcd-pki');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'README'), 'no certificates here\n');
    await declare('no-certificates', { etcd: { endpoints: [etcd.url], certificates: { hostPath: elsewhere } } });
    const failed = await runNow('no-certificates', 'no-certificates-1', 'Failed');
    expect(failed.status?.reason).toBe('SourceMissing');
    expect(failed.status?.message).toBe(
      `etcd's certificate file ${elsewhere}/ca.crt (spec.etcd.certificates.caFile) is not on this node: the folder ${elsewhere} holds README; nothing stored`,
    );
    expect(failed.status?.snapshotId).toBeUndefined();
  });

  it('fails on an endpoint nobody listens on, and on a CA that is not etcd’s, saying which and why', async () => {
    const nobody = `https://127.0.0.1:${await freePort()}`;
    await declare('unreachable', { etcd: { endpoints: [nobody], certificates: { hostPath: pki } } });
    const unreachable = await runNow('unreachable', 'unreachable-1', 'Failed');
    expect(unreachable.status?.reason).toBe('SourceMissing');
    expect(unreachable.status?.message).toContain(`no etcd snapshot, nothing stored: etcd at ${nobody}: `);
    expect(unreachable.status?.message).toContain('connection refused');
    expect(unreachable.status?.snapshotId).toBeUndefined();

    // Another CA, with a client certificate of its own: etcd's serving certificate is not signed by it.
    const other = join(work, 'other-pki');
    certificateAuthority(other, 'other-ca');
    signedCertificate(other, 'healthcheck-client', 'kube-etcd-healthcheck-client', 'clientAuth');
    await declare('other-ca', { etcd: { endpoints: [etcd.url], certificates: { hostPath: other } } });
    const refused = await runNow('other-ca', 'other-ca-1', 'Failed');
    expect(refused.status?.message).toContain('certificate signed by unknown authority');
    expect(refused.status?.message).toContain(`${other}/ca.crt (spec.etcd.certificates.caFile)`);
    expect(refused.status?.snapshotId).toBeUndefined();
  });

  it("refuses an etcd dump outside Safehold's namespace, naming the field", async () => {
    await declare('etcd', { etcd: {} }, tenant);
    const refused = await runNow('etcd', 'etcd-1', 'Failed', tenant);
    expect(refused.status?.reason).toBe('InvalidSpec');
    expect(refused.status?.message).toBe(
      `ApplicationDump ${tenant}/etcd spec.etcd: only for a dump in Safehold's namespace ${system} (the cluster's etcd is no tenant's)`,
    );
  });

  it('keeps the etcd dump a policy with spec.etcd calls for, and deletes it with the policy', async () => {
    const policy = `policy-${id}`;
    await client.create(kinds.backupPolicy, {
      metadata: { name: policy },
      spec: {
        selector: { namespaceSelector: { matchLabels: { 'etcd.safehold.test/id': id } } },
        repository: { name: repository },
        etcd: { schedule: { cron: '0 4 * * *' }, endpoints: [etcd.url], certificates: { hostPath: pki } },
      },
    } as KubeObject);
    let made: ApplicationDump | undefined;
    await waitFor('the dump safehold-etcd', async () => {
      made = await client
        .get<ApplicationDump>(kinds.applicationDump, { namespace: system, name: 'safehold-etcd' })
        .catch(() => undefined);
      return made !== undefined;
    });
    expect(made?.spec).toMatchObject({
      etcd: {
        endpoints: [etcd.url],
        certificates: { hostPath: pki, caFile: 'ca.crt', certFile: 'healthcheck-client.crt' },
        nodeSelector: { [controlPlaneLabel]: '' },
      },
      schedule: { cron: '0 4 * * *' },
      repository,
    });
    await client.delete(kinds.backupPolicy, { name: policy });
    await waitFor('the dump safehold-etcd deleted with its policy', () =>
      client.get(kinds.applicationDump, { namespace: system, name: 'safehold-etcd' }).then(
        () => false,
        () => true,
      ),
    );
  });
});
