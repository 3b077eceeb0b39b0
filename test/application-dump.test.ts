// Application dumps on the real node (ADR 0026): an ApplicationDump's command
// runs in a real PostgreSQL container, its output streams through the
// operator into a mover container's stdin and into the repository as one
// file. While it streams, no file near its size appears anywhere on the node
// (the kubelet's Pod folders, containerd's layers and logs); `safehold dump
// --application` gives the same bytes back and streams them into psql in a
// fresh PostgreSQL, whose tables then equal the source's. A dump that fails,
// writes nothing or names a container the Pod lacks is never a good backup,
// and says why, naming the Pod and container.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplicationDump, DumpRun, RepositoryMaintenance } from '../src/api/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { repoRoot } from '../testenv/paths.ts';
import { realNodePlacement } from '../testenv/real-node/kubelet.ts';
import { databaseContainer, sql, startDatabase } from '../testenv/real-node/database-pod.ts';
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
import { installWithRepository, runOperatorHere, safehold, waitForRun, type OperatorHere } from './support/safehold.ts';

function realNode() {
  const node = testEnv().realNode;
  if (node?.image === undefined || node.postgresImage === undefined)
    throw new Error("the test environment's real node has no Safehold or PostgreSQL image (build-image.sh)");
  return { ...node, image: node.image, postgresImage: node.postgresImage };
}

/** Every table's rows and an order-free digest of them, per database: what "the tables are equal" compares. */
const tableState = `SELECT string_agg(format('%s %s %s', c.relname,
    (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1],
    (xpath('/row/h/text()', query_to_xml(format('SELECT coalesce(sum(hashtext(t::text)::bigint), 0) AS h FROM %I t', c.relname), false, true, '')))[1]),
  ', ' ORDER BY c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'`;

/** Files on the node written since `since` (ms), largest first: not inside the volumes Pods mount (the application's own data). */
function newFilesOnNode(root: string, since: number): { path: string; size: number }[] {
  const found: { path: string; size: number }[] = [];
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return; // gone meanwhile, or not ours to read
    }
    for (const name of entries) {
      if (name === 'kubernetes.io~csi') continue;
      const path = join(dir, name);
      try {
        const stat = lstatSync(path);
        if (stat.isDirectory()) walk(path);
        else if (stat.isFile() && stat.mtimeMs >= since) found.push({ path, size: stat.size });
      } catch {
        // removed while walking
      }
    }
  };
  walk(root);
  return found.sort((a, b) => b.size - a.size);
}

/** pg_dumpall's one line that differs between two dumps of the same data: a random key (\restrict, PostgreSQL 15.14). */
const restrictLine = /^\\(un)?restrict /;

/** Runs the CLI and hashes what it writes to stdout (too large to hold), leaving out the lines `drop` matches. */
function cliDigest(
  args: string[],
  drop: RegExp,
): Promise<{ code: number; bytes: number; sha256: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'src/bin/safehold.ts'), '--kubeconfig', testEnv().kubeconfig, '--context', 'admin', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const hash = createHash('sha256');
    let bytes = 0;
    let partial = '';
    let stderr = '';
    const take = (line: string) => {
      if (!drop.test(line)) hash.update(`${line}\n`);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(take);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      if (partial !== '') hash.update(partial);
      resolve({ code: code ?? 1, bytes, sha256: hash.digest('hex'), stderr });
    });
  });
}

describe('application dumps', () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  const id = uniqueName('dump');
  const system = `safehold-${id}`;
  const repository = `repo-${id}`;
  const policy = `policy-${id}`;
  let tenant = '';
  const source = 'pg-source';

  beforeAll(async () => {
    client = clientAs('admin');
    // Movers on the real node reach radosgw through the bridge.
    await installWithRepository(client, {
      system,
      id,
      bucket: `safehold-${id}`,
      repository,
      endpoint: realNode().s3Endpoint,
    });
    tenant = await createNamespace(client, 'dump-tenant');
    operator = await runOperatorHere(system, id, {
      mover: {
        image: realNode().image,
        ...realNodePlacement(),
      },
    });
    await createClaim(client, tenant, source);
    await boundVolumePath(client, tenant, source);
    await startDatabase(client, {
      database: 'postgres',
      name: source,
      namespace: tenant,
      claim: source,
      image: realNode().postgresImage,
      load: false,
      labels: { app: 'shop-db' },
    });
    // About 100 MB of dump: pgbench's tables at scale 10, and a table of our own.
    const init = await client.exec({
      namespace: tenant,
      pod: source,
      container: databaseContainer,
      command: ['pgbench', '-i', '-q', '-s', '10'],
      timeoutMs: 300_000,
    });
    expect(init.exitCode, init.stderr).toBe(0);
    await sql(
      client,
      'postgres',
      tenant,
      source,
      "CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 5000) g",
    );
  }, 600_000);

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policy }).catch(() => undefined);
    if (tenant !== '') await deleteNamespace(client, tenant);
    await client.delete(kinds.backupRepository, { name: repository }).catch(() => undefined);
    await deleteNamespace(client, system);
    client.close();
  });

  const declare = async (name: string, spec: Partial<ApplicationDump['spec']>) =>
    client.create(kinds.applicationDump, {
      metadata: { name, namespace: tenant },
      spec: {
        podSelector: { matchLabels: { app: 'shop-db' } },
        container: databaseContainer,
        command: ['pg_dumpall'],
        fileName: 'all.sql',
        repository,
        restoreCommand: ['psql', '-X', '-q', '-d', 'postgres'],
        ...spec,
      },
    } as KubeObject);
  const runNow = async (dump: string, name: string, outcome: 'Succeeded' | 'Failed' = 'Succeeded') => {
    await client.create(kinds.dumpRun, { metadata: { name, namespace: tenant }, spec: { dump } } as KubeObject);
    return waitForRun<DumpRun>(client, kinds.dumpRun, tenant, name, { outcome, timeoutMs: 400_000 });
  };

  it('streams pg_dumpall into the repository without writing it on the node, and restores it into a fresh PostgreSQL', async () => {
    await declare('shop', {});
    const nodeDir = join(testEnv().dir, 'real-node');
    const since = Date.now();
    // While the dump runs: the largest file written on the node since it started.
    let largest = { path: '', size: 0 };
    const watching = { on: true };
    const watcher = (async () => {
      while (watching.on) {
        const top = newFilesOnNode(nodeDir, since)[0];
        if (top !== undefined && top.size > largest.size) largest = top;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const done = await runNow('shop', 'shop-first').finally(() => (watching.on = false));
    await watcher;
    const bytes = done.status?.bytes ?? 0;
    expect(bytes).toBeGreaterThan(80_000_000);
    expect(done.status).toMatchObject({
      pod: source,
      container: databaseContainer,
      fileName: 'all.sql',
      covers: [source],
    });
    // Nothing near the dump's size was written on the node (restic's own pieces are at most a few MiB).
    expect(largest.size, `largest new file on the node: ${largest.path}`).toBeLessThan(bytes / 4);

    // The stored file is the dump: what pg_dumpall gives now (nothing changed since), but for its random keys.
    const fresh = await client.exec({
      namespace: tenant,
      pod: source,
      container: databaseContainer,
      command: ['sh', '-c', "pg_dumpall | grep -Ev '^.(un)?restrict ' | sha256sum"],
      timeoutMs: 300_000,
    });
    const stored = await cliDigest(['dump', '--application', `${tenant}/shop`], restrictLine);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.bytes).toBe(bytes);
    expect(stored.sha256).toBe(fresh.stdout.split(' ')[0]);
    const declared = await client.get<ApplicationDump>(kinds.applicationDump, { namespace: tenant, name: 'shop' });
    expect(declared.status?.lastSuccess).toMatchObject({ name: 'shop-first', bytes });

    // Streamed into psql in a fresh PostgreSQL: its tables equal the source's.
    await createClaim(client, tenant, 'pg-fresh');
    await startDatabase(client, {
      database: 'postgres',
      name: 'pg-fresh',
      namespace: tenant,
      claim: 'pg-fresh',
      image: realNode().postgresImage,
      load: false,
    });
    const restored = await safehold([
      'dump',
      '--application',
      `${tenant}/shop`,
      '--into',
      'pg-fresh',
      '--timeout',
      '10m',
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    const want = await sql(client, 'postgres', tenant, source, tableState);
    expect(want).toMatch(/^orders 5000 -?\d+, pgbench_accounts 1000000 /);
    expect(await sql(client, 'postgres', tenant, 'pg-fresh', tableState)).toBe(want);
  });

  it("counts the dump as the volume's protection, and takes K8up's backup-command annotation as a declaration", async () => {
    // No policy backs the volume up: the dump protects it, with the dump's age.
    const status = await safehold(['status', '-n', tenant, '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as {
      name: string;
      decision: string;
      policy: string | null;
      reason: string;
      lastBackup: string | null;
    }[];
    const row = rows.find((r) => r.name === source);
    expect(row).toMatchObject({ decision: 'protected', policy: `dump:${tenant}/shop` });
    expect(row?.lastBackup).toMatch(/^\d{4}-/);
    expect(row?.reason).toMatch(new RegExp(`^protected by ApplicationDump ${tenant}/shop \\(last dump `));

    // A policy now protects the tenant's volumes; a K8up user's annotations: the operator declares the dump,
    // named after the workload (here, the Pod), on the policy's schedule and retention, into its repository.
    await client.mergePatch(kinds.namespace, { name: tenant }, { metadata: { labels: { 'safehold.test/dumps': id } } });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policy },
      spec: {
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/dumps': id } } },
        repository: { name: repository },
        schedule: { cron: '0 3 1 1 *' },
        retention: { keepDaily: 3 },
      },
    } as KubeObject);
    await client.mergePatch(
      kinds.pod,
      { namespace: tenant, name: source },
      { metadata: { annotations: { 'k8up.io/backupcommand': 'pg_dumpall', 'k8up.io/file-extension': '.sql' } } },
    );
    const name = `${source}-dump`;
    let made: ApplicationDump | undefined;
    await waitFor(`ApplicationDump ${name} from the annotations`, async () => {
      made = await client
        .get<ApplicationDump>(kinds.applicationDump, { namespace: tenant, name })
        .catch(() => undefined);
      return made?.spec.schedule !== undefined;
    });
    expect(made?.spec).toMatchObject({
      podSelector: { matchLabels: { app: 'shop-db' } },
      container: databaseContainer,
      command: ['/bin/sh', '-c', 'pg_dumpall'],
      fileName: `${source}-${databaseContainer}.sql`,
      schedule: { cron: '0 3 1 1 *' },
      retention: { keepDaily: 3 },
    });
    const done = await runNow(name, `${name}-1`);
    expect(done.status?.bytes).toBeGreaterThan(80_000_000);
  });

  it("forgets dumps by the ApplicationDump's own retention when the repository is maintained", async () => {
    await runNow('shop', 'shop-second');
    await client.mergePatch(
      kinds.applicationDump,
      { namespace: tenant, name: 'shop' },
      { spec: { retention: { keepLast: 1, keepDaily: null, keepWeekly: null, keepMonthly: null } } },
    );
    await client.create(kinds.repositoryMaintenance, {
      metadata: { name: `forget-${tenant}`, namespace: system },
      spec: { repository, tenant, forget: true, prune: false },
    } as KubeObject);
    const done = await waitForRun<RepositoryMaintenance>(
      client,
      kinds.repositoryMaintenance,
      system,
      `forget-${tenant}`,
    );
    expect(done.status?.forgotten).toBe(1);
    await waitFor(
      'the forgotten dump run to go',
      async () =>
        await client.get(kinds.dumpRun, { namespace: tenant, name: 'shop-first' }).then(
          () => false,
          () => true,
        ),
    );
    // The newest dump, and the other ApplicationDump's (its own rules keep it), stay.
    const listed = await safehold(['backups', '--application', '-n', tenant, '-o', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    const names = (JSON.parse(listed.stdout) as { name: string }[]).map((r) => r.name).sort();
    expect(names).toEqual([`${source}-dump-1`, 'shop-second']);
  });

  it.each([
    {
      what: 'a dump command that fails',
      spec: { command: ['sh', '-c', 'echo "-- half a dump"; echo "pg_dumpall: error: connection lost" >&2; exit 3'] },
      reason: 'DumpFailed',
      says: /dump command exited 3: .*connection lost/,
    },
    {
      what: 'a dump command that writes nothing',
      spec: { command: ['true'] },
      reason: 'DumpFailed',
      says: /wrote nothing/,
    },
    {
      what: 'a container the Pod does not have',
      spec: { container: 'postgres' },
      reason: 'ContainerNotFound',
      says: new RegExp(`Pod .*/${source} has no container postgres`),
    },
  ])('keeps no dump of $what, and says why', async ({ spec, reason, says }) => {
    const name = `bad-${reason.toLowerCase()}-${Object.keys(spec)[0] ?? ''}-${spec.command?.[0] ?? ''}`
      .replace(/[^a-z0-9-]/g, '')
      .replace(/-+$/, '');
    await declare(name, spec);
    const failed = await runNow(name, `${name}-1`, 'Failed');
    expect(failed.status?.reason, failed.status?.message).toBe(reason);
    expect(failed.status?.message).toMatch(says);
    expect(failed.status?.snapshotId).toBeUndefined();
    // The ApplicationDump records its run after the run's own status.
    let declared: ApplicationDump | undefined;
    await waitFor(`ApplicationDump ${name} to record ${name}-1`, async () => {
      declared = await client.get<ApplicationDump>(kinds.applicationDump, { namespace: tenant, name });
      return declared.status?.lastRun?.name === `${name}-1`;
    });
    expect(declared?.status?.lastSuccess).toBeUndefined();
    expect(declared?.status?.lastRun).toMatchObject({ name: `${name}-1`, phase: 'Failed' });
    // Nothing to read back from it.
    const read = await safehold(['dump', '--application', `${tenant}/${name}`]);
    expect(read.code).not.toBe(0);
    expect(read.stderr).toContain('has no successful backup');
  });

  // The API server can end a command's stream before a slow reader has all of it, and still say it
  // succeeded (kubernetes/kubernetes#124571): a dump slower to store than to make must still arrive whole.
  it('stores a 124 MB stream whole, every time, however the API server ends it', async () => {
    await declare('numbers', { command: ['seq', '1', '15000000'], fileName: 'numbers.txt' });
    const want = createHash('sha256');
    for (let i = 1; i <= 15_000_000; i++) want.update(`${i}\n`);
    const digest = want.digest('hex');
    for (const n of [1, 2, 3]) {
      const done = await runNow('numbers', `numbers-${n}`);
      expect(done.status?.bytes).toBe(123_888_897);
      const stored = await cliDigest(['dump', '--application', `${tenant}/numbers`, '--backup', `numbers-${n}`], /^$/);
      expect(stored.code, stored.stderr).toBe(0);
      expect(stored.sha256).toBe(digest);
    }
  });

  // Last: it takes the source database away.
  it('keeps no dump of a Pod that goes away mid-dump, and says so', async () => {
    await declare('going', { command: ['sh', '-c', 'pg_dumpall; sleep 600'] });
    await client.create(kinds.dumpRun, {
      metadata: { name: 'going-1', namespace: tenant },
      spec: { dump: 'going' },
    } as KubeObject);
    await waitFor('the dump to stream', async () => {
      const run = await client.get<DumpRun>(kinds.dumpRun, { namespace: tenant, name: 'going-1' });
      return run.status?.streamStartTime !== undefined;
    });
    await client.delete(kinds.pod, { namespace: tenant, name: source });
    const failed = await waitForRun<DumpRun>(client, kinds.dumpRun, tenant, 'going-1', { outcome: 'Failed' });
    expect(failed.status?.reason, failed.status?.message).toBe('DumpFailed');
    expect(failed.status?.message).toMatch(new RegExp(`Pod ${tenant}/${source} was deleted while the dump ran`));
    expect(failed.status?.snapshotId).toBeUndefined();
  });
});
