// The CLI says what is true, or says it cannot: a PVC that is not bound is
// shown in a state of its own (not protected, not a failing backup); a
// tenant's retention preview uses the policy the backups recorded or refuses
// naming what it cannot read; `safehold ls` lists a block backup's root and
// shows setuid, setgid and sticky bits, one row per name however it is
// spelled; `safehold dump` streams a 1 GiB file with bounded memory.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../src/api/index.ts';
import { isForbidden, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
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
import {
  backUpNow,
  freePort,
  installWithRepository,
  runOperatorHere,
  safehold,
  type OperatorHere,
} from './support/safehold.ts';

const system = 'safehold-system';
const cliPath = join(import.meta.dirname, '../src/bin/safehold.ts');
const GiB = 2 ** 30;

describe('an honest CLI', () => {
  let client: KubeClient;
  let alice: KubeClient;
  const id = uniqueName('honest');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policyName = `policy-${id}`;
  let operator: OperatorHere | undefined;
  let metricsPort = 0;
  let ns = '';
  let tree: VolumeBackup | undefined;

  beforeAll(async () => {
    client = clientAs('admin');
    alice = clientAs('alice');
    await installWithRepository(client, { system, id, bucket, repository: repoName });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repoName },
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
        retention: { keepLast: 3 },
        retry: { limit: 0, deadline: '10m' },
      },
    } as KubeObject);
    ns = await createNamespace(client, 'honest');
    await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
    await client.create(kinds.roleBinding, {
      metadata: { name: 'alice-admin', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as KubeObject);
    metricsPort = await freePort();
    operator = await runOperatorHere(system, id, { metricsPort });

    // Special mode bits, a name no table row can hold as is, and a large file (sparse: 1 GiB to read, little to store).
    await createClaim(client, ns, 'data', { size: '2Gi' });
    const root = await boundVolumePath(client, ns, 'data');
    writeFileSync(join(root, 'tool'), '#!/bin/sh\n');
    chmodSync(join(root, 'tool'), 0o4755);
    mkdirSync(join(root, 'team'));
    chmodSync(join(root, 'team'), 0o2770);
    mkdirSync(join(root, 'scratch'));
    chmodSync(join(root, 'scratch'), 0o1777);
    writeFileSync(join(root, 'two\nlines'), 'a newline in the name\n');
    writeFileSync(join(root, 'large.img'), '');
    truncateSync(join(root, 'large.img'), GiB);
    const fd = openSync(join(root, 'large.img'), 'r+');
    for (const offset of [0, 500 * 2 ** 20, GiB - 2 ** 20])
      writeSync(fd, Buffer.alloc(2 ** 20, offset % 251), 0, 2 ** 20, offset);
    closeSync(fd);
    tree = await backUpNow(client, ns, 'data', 'tree-1');
    await waitFor('alice may create BackupDownloads', async () => {
      try {
        await alice.list(kinds.backupDownload, { namespace: ns });
        return true;
      } catch (error) {
        if (isForbidden(error)) return false;
        throw error;
      }
    });
  }, 600_000);

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policyName }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    if (ns !== '') await deleteNamespace(client, ns);
    alice.close();
    client.close();
  });

  it('shows a PVC whose StorageClass does not exist as unbound, saying so, and never as a stale or failing backup', async () => {
    await createClaim(client, ns, 'orphan', { storageClass: `no-such-class-${id}` });
    const json = await safehold(['status', '-n', ns, '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const row = (
      JSON.parse(json.stdout) as { name: string; decision: string; cause: string; policy: string; reason: string }[]
    ).find((r) => r.name === 'orphan');
    expect(row).toMatchObject({ decision: 'unbound', cause: 'StorageClassMissing', policy: policyName });
    expect(row?.reason).toContain(`StorageClass no-such-class-${id} does not exist`);
    const table = await safehold(['status', '-n', ns]);
    const line = table.stdout.split('\n').find((l) => l.includes(' orphan '));
    // LAST BACKUP, LAST RUN and VERIFIED are empty: nothing was ever attempted.
    expect(line).toMatch(/\bunbound\s+-\s+-\s+-\s+when bound\s+Pending: StorageClass no-such-class-\S+ does not exist/);

    // The operator: its own series, and none of those the stale and failing alerts read.
    const series = (text: string) =>
      text.split('\n').filter((l) => l.includes(`namespace="${ns}"`) && l.includes('pvc="orphan"'));
    let scraped: string[] = [];
    await waitFor('the operator to publish the unbound PVC', async () => {
      scraped = series(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
      return scraped.some((l) => l.startsWith('safehold_volume_unbound{'));
    });
    expect(scraped.find((l) => l.startsWith('safehold_volume_unbound{'))).toMatch(/cause="StorageClassMissing".* 1$/);
    expect(scraped.find((l) => l.startsWith('safehold_volume_protected{'))).toMatch(/ 0$/);
    expect(scraped.filter((l) => /^safehold_volume_(created_timestamp_seconds|last_backup_failed)\{/.test(l))).toEqual(
      [],
    );
  });

  it("refuses a tenant's retention preview naming the policy it cannot read, instead of showing built-in defaults", async () => {
    const preview = await safehold(['retention', 'preview', '-n', ns], 'alice');
    expect(preview.code).toBe(1);
    expect(preview.stdout).not.toContain('(defaults)');
    expect(preview.stderr).toContain(`BackupPolicy ${policyName} (forbidden)`);
    // An admin sees the policy's own rules.
    const admin = await safehold(['retention', 'preview', '-n', ns, '-o', 'json']);
    expect(admin.code, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ policy: policyName, rules: expect.stringContaining('last 3') as string }),
      ]),
    );
  });

  it('lists setuid, setgid and sticky bits, and a name with a newline on one row', async () => {
    const backup = tree?.status?.snapshotId?.slice(0, 8) ?? '';
    const table = await safehold(['ls', `${ns}/data`, '--backup', backup], 'alice');
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows.find((r) => r.endsWith(' /tool'))).toMatch(/^-rwsr-xr-x /);
    expect(rows.find((r) => r.endsWith(' /team/'))).toMatch(/^drwxrws--- /);
    expect(rows.find((r) => r.endsWith(' /scratch/'))).toMatch(/^drwxrwxrwt /);
    expect(rows.filter((r) => r.endsWith(' /two\\nlines'))).toHaveLength(1);
    expect(rows.filter((r) => r.startsWith('lines'))).toEqual([]);
    const yaml = await safehold(['ls', `${ns}/data`, '--backup', backup, '-o', 'yaml'], 'alice');
    expect(yaml.stdout).toMatch(/^- path: /);
    expect(yaml.stdout).toContain('path: /tool\n  type: file');
  });

  it('dumps a 1 GiB file to stdout with bounded memory', async () => {
    const hash = createHash('sha256');
    const { bytes, maxRssKiB, code, stderr } = await new Promise<{
      bytes: number;
      maxRssKiB: number;
      code: number | null;
      stderr: string;
    }>((resolve) => {
      // The CLI reports its own peak resident memory as it exits.
      const report =
        'data:text/javascript,process.on("exit",()=>process.stderr.write(`maxrss=${process.resourceUsage().maxRSS}\\n`))';
      const child = spawn(
        process.execPath,
        [
          '--import',
          report,
          cliPath,
          '--kubeconfig',
          testEnv().kubeconfig,
          '--context',
          'alice',
          'dump',
          `${ns}/data`,
          '/large.img',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
      );
      let count = 0;
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => {
        count += chunk.length;
        hash.update(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('close', (exitCode) =>
        resolve({
          bytes: count,
          maxRssKiB: Number(/maxrss=(\d+)/.exec(err)?.[1] ?? 'NaN'),
          code: exitCode,
          stderr: err,
        }),
      );
    });
    expect(code, stderr).toBe(0);
    expect(bytes).toBe(GiB);
    const expected = createHash('sha256');
    const block = (offset: number) => Buffer.alloc(2 ** 20, offset % 251);
    const zeros = Buffer.alloc(2 ** 20);
    for (let mib = 0; mib < 1024; mib++) {
      const offset = mib * 2 ** 20;
      expected.update([0, 500 * 2 ** 20, GiB - 2 ** 20].includes(offset) ? block(offset) : zeros);
    }
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    console.log(`safehold dump of 1 GiB: peak RSS ${Math.round(maxRssKiB / 1024)} MiB`);
    expect(maxRssKiB).toBeLessThan(256 * 1024);
  });

  it("lists the root of a block volume's backup: its image", async () => {
    await createClaim(client, ns, 'disk', { size: '64Mi', mode: 'Block' });
    const device = await boundVolumePath(client, ns, 'disk');
    const fd = openSync(device, 'r+');
    writeSync(fd, Buffer.alloc(65536, 7), 0, 65536, 0);
    closeSync(fd);
    await backUpNow(client, ns, 'disk', 'disk-1');
    const ls = await safehold(['ls', `${ns}/disk`], 'alice');
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trimEnd().split('\n')[1]).toMatch(/^-rw\S+ .*\/disk\.qcow2$/);
  });
});
