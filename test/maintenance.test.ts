// Keeping backups the way users plan them, and keeping tenants apart: a
// history spread over months (an injected clock) pruned to exactly the
// grandfather-father-son set with `restic check` clean; backups and prunes of
// one repository never overlapping; per-namespace repositories with keys
// Safehold generated, which cannot open each other; and an ordinary
// namespace admin who can back up their own volumes but reach no key and no
// other namespace's backups.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupRepositoryStatus, RepositoryMaintenance, VolumeBackup, VolumeHistory } from '../src/api/index.ts';
import { generatedKeyName } from '../src/controller/run/repository-credentials.ts';
import { historyEntries, sameSnapshot } from '../src/core/index.ts';
import { isForbidden, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { CommandError, run } from '../testenv/command.ts';
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

describe('retention, maintenance and tenant keys', () => {
  let client: KubeClient;
  const id = uniqueName('mt');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policyName = `policy-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'maintenance-test-'));
  let operator: OperatorHere | undefined;
  // The injected clock: set to a moment, then it runs on in real time from there.
  let clockBase = Date.now();
  let clockSetAt = Date.now();
  const setClock = (iso: string) => {
    clockBase = Date.parse(iso);
    clockSetAt = Date.now();
  };
  const namespaces: string[] = [];
  let metricsPort = 0;

  const restic = async (namespace: string, password: string, args: string[]) => {
    const env = testEnv();
    const result = run(env.tools.restic, args, {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}/tenants/${namespace}`,
        RESTIC_PASSWORD: password,
        AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
        AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
        RESTIC_CACHE_DIR: join(work, 'cache'),
      },
      timeoutMs: 300_000,
    });
    return result.then(
      (r) => ({ code: 0, ...r }),
      (error: unknown) => {
        if (!(error instanceof CommandError)) throw error;
        return { code: error.exitCode ?? -1, stdout: '', stderr: error.stderr };
      },
    );
  };
  const keyOf = async (namespace: string) => {
    const secret = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: system,
      name: generatedKeyName(repoName, namespace),
    });
    return Buffer.from(secret.data?.password ?? '', 'base64').toString();
  };
  const backUp = (namespace: string, pvc: string, name: string) => backUpNow(client, namespace, pvc, name);
  const maintain = async (spec: Record<string, unknown>, name: string) => {
    await client.create(kinds.repositoryMaintenance, {
      metadata: { name, namespace: system },
      spec: { repository: repoName, ...spec },
    } as KubeObject);
  };
  const maintenance = (name: string) =>
    client.get<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system, name });
  const finished = async (name: string) => {
    let done: RepositoryMaintenance | undefined;
    await waitFor(
      `maintenance ${name}`,
      async () => {
        done = await maintenance(name);
        return done.status?.phase === 'Succeeded' || done.status?.phase === 'Failed';
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    return done as RepositoryMaintenance;
  };

  beforeAll(async () => {
    client = clientAs('admin');
    // No password: Safehold generates one per namespace.
    await installWithRepository(client, { system, id, bucket, repository: repoName });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repoName },
        // February 29th: no scheduled run lands in the simulated months.
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
        // The history is simulated with the operator's clock: a live run is stamped with that clock when its
        // copy starts, where a VolumeSnapshot would carry the real time it was taken.
        method: 'live',
        retention: { keepDaily: 2, keepWeekly: 2, keepMonthly: 2 },
        retry: { limit: 0, deadline: '10m' },
      },
    } as KubeObject);
    for (const prefix of ['tenant-a', 'tenant-b']) {
      const ns = await createNamespace(client, prefix);
      await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
      namespaces.push(ns);
    }
    metricsPort = await freePort();
    operator = await runOperatorHere(system, id, {
      now: () => new Date(clockBase + (Date.now() - clockSetAt)),
      metricsPort,
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policyName }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    for (const m of (await client.list<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system }))
      .items)
      if (m.spec.repository === repoName)
        await client
          .delete(kinds.repositoryMaintenance, { namespace: system, name: m.metadata.name })
          .catch(() => undefined);
    for (const ns of namespaces) await deleteNamespace(client, ns);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  it('prunes a history of months to exactly the grandfather-father-son set, and the repository checks clean', async () => {
    const ns = namespaces[0] ?? '';
    await createClaim(client, ns, 'data');
    const volume = await boundVolumePath(client, ns, 'data');
    // Newest first, what keepDaily 2, keepWeekly 2, keepMonthly 2 (UTC) keep:
    //   09-09 (daily, weekly W37, monthly Sep), 09-08 20:00 (daily), 09-03 (weekly W36), 08-25 (monthly Aug).
    const history = [
      ['2026-06-10T12:00:00Z', 'drop'],
      ['2026-07-15T12:00:00Z', 'drop'],
      ['2026-07-28T12:00:00Z', 'drop'],
      ['2026-08-12T12:00:00Z', 'drop'],
      ['2026-08-25T12:00:00Z', 'keep'],
      ['2026-09-01T12:00:00Z', 'drop'],
      ['2026-09-03T12:00:00Z', 'keep'],
      ['2026-09-08T02:00:00Z', 'drop'],
      ['2026-09-08T20:00:00Z', 'keep'],
      ['2026-09-09T12:00:00Z', 'keep'],
    ] as const;
    const made = new Map<string, string>();
    /** When each backup says its data is from: the set time, plus the seconds the run took to start its copy. */
    const captured = new Map<string, string>();
    for (const [i, [time]] of history.entries()) {
      writeFileSync(join(volume, `day-${i}.bin`), Buffer.alloc(256 * 1024, i + 1));
      setClock(time);
      const backup = await backUp(ns, 'data', `history-${i}`);
      made.set(time, backup.status?.snapshotId ?? '');
      captured.set(time, backup.status?.snapshotTime ?? '');
      const late = Date.parse(backup.status?.snapshotTime ?? '') - Date.parse(time);
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(60_000);
    }
    const password = await keyOf(ns);
    const listed = JSON.parse((await restic(ns, password, ['snapshots', '--json'])).stdout) as {
      id: string;
      time: string;
    }[];
    // restic recorded the capture time the controller gave it, not the upload time.
    expect(listed.map((s) => Date.parse(s.time)).sort()).toEqual(
      history.map(([t]) => Date.parse(captured.get(t) ?? '')).sort(),
    );

    const preview = await safehold(['retention', 'preview', `${ns}/data`]);
    expect(preview.code).toBe(0);
    for (const [time, verdict] of history)
      expect(preview.stdout).toMatch(
        new RegExp(
          `${(made.get(time) ?? '').slice(0, 8)}\\s+${new Date(captured.get(time) ?? '').toISOString()}.*${verdict}`,
        ),
      );

    setClock('2026-09-10T12:00:00Z');
    await maintain({ tenant: ns, forget: true, prune: true, check: { readDataSubset: '100%' } }, `prune-${id}`);
    const done = await finished(`prune-${id}`);
    expect(done.status).toMatchObject({
      phase: 'Succeeded',
      forgotten: 6,
      alreadyGone: 0,
      checkOk: true,
      snapshots: 4,
    });
    expect(done.status?.bytesFreed).toBeGreaterThan(0);

    const left = JSON.parse((await restic(ns, password, ['snapshots', '--json'])).stdout) as { id: string }[];
    const kept = history.filter(([, v]) => v === 'keep').map(([t]) => made.get(t));
    expect(left.map((s) => s.id).sort()).toEqual([...kept].sort());
    const check = await restic(ns, password, ['check', '--read-data']);
    expect(check.code, check.stderr).toBe(0);
    // The catalogue follows: the volume's history holds exactly the kept backups, and no run object of a
    // forgotten one is left (runs of the others went a day after they finished, by the injected clock).
    // Backups that were archived keep a shortened id there: each names exactly one kept snapshot.
    const historyIds = async () =>
      historyEntries(await client.get<VolumeHistory>(kinds.volumeHistory, { namespace: ns, name: 'data' })).map(
        (entry) => entry.id,
      );
    await waitFor('forgotten backups leave the history', async () => (await historyIds()).length === 4);
    const resolved = (await historyIds()).map((short) => {
      const matches = kept.filter((full) => full !== undefined && sameSnapshot(short, full));
      expect(matches, `history id ${short}`).toHaveLength(1);
      return matches[0];
    });
    expect(resolved.sort()).toEqual([...kept].sort());
    const items = (await client.list<VolumeBackup>(kinds.volumeBackup, { namespace: ns })).items;
    for (const item of items) expect(kept).toContain(item.status?.snapshotId);
    const repo = await client.get<{
      status?: { tenants?: { tenant: string; checkOk?: boolean; snapshots?: number }[] };
    }>(kinds.backupRepository, { name: repoName });
    expect(repo.status?.tenants?.find((t) => t.tenant === ns)).toMatchObject({ checkOk: true, snapshots: 4 });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const labels = `repository="${repoName}",tenant="${ns}"`;
    expect(metrics).toContain(`safehold_repository_check_ok{${labels}} 1`);
    expect(metrics).toContain(`safehold_repository_snapshots{${labels}} 4`);
    expect(metrics).toContain(`safehold_repository_forgotten_snapshots_total{${labels}} 6`);
    expect(metrics).toMatch(new RegExp(`safehold_repository_last_prune_timestamp_seconds\\{${labels}\\} \\d+`));
  });

  it('makes a backup that arrives during a prune wait for it, then succeed; and a prune wait for a running backup', async () => {
    const ns = namespaces[0] ?? '';
    setClock(new Date().toISOString());
    await maintain({ tenant: ns, forget: false, prune: true }, `window-${id}`);
    await waitFor('prune running', async () => (await maintenance(`window-${id}`)).status?.phase === 'Running', {
      intervalMs: 100,
    });
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'during-prune', namespace: ns },
      spec: { pvc: 'data', trigger: 'manual' },
    } as KubeObject);
    const reasons = new Set<string>();
    await waitFor(
      'the backup succeeds',
      async () => {
        const b = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name: 'during-prune' });
        if (b.status?.reason !== undefined) reasons.add(b.status.reason);
        return b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed';
      },
      { timeoutMs: 240_000, intervalMs: 100 },
    );
    const prune = await maintenance(`window-${id}`);
    const backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name: 'during-prune' });
    expect(reasons).toContain('MaintenanceWindow');
    expect(backup.status?.phase).toBe('Succeeded');
    expect(prune.status?.phase).toBe('Succeeded');
    expect(Date.parse(backup.status?.startTime ?? '')).toBeGreaterThanOrEqual(
      Date.parse(prune.status?.completionTime ?? ''),
    );

    // The other way round: a prune asked for while a backup writes waits for it.
    const pruneReasons = new Set<string>();
    await client.create(kinds.volumeBackup, {
      metadata: { name: 'before-prune', namespace: ns },
      spec: { pvc: 'data', trigger: 'manual' },
    } as KubeObject);
    await waitFor(
      'the backup is writing',
      async () =>
        (await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name: 'before-prune' })).status?.phase ===
        'Running',
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    await maintain({ tenant: ns, forget: false, prune: true }, `after-${id}`);
    await waitFor(
      'the prune ends',
      async () => {
        const m = await maintenance(`after-${id}`);
        if (m.status?.reason !== undefined) pruneReasons.add(m.status.reason);
        return m.status?.phase === 'Succeeded' || m.status?.phase === 'Failed';
      },
      { timeoutMs: 240_000, intervalMs: 100 },
    );
    const first = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name: 'before-prune' });
    const second = await maintenance(`after-${id}`);
    expect(pruneReasons).toContain('BackupsRunning');
    expect(first.status?.phase).toBe('Succeeded');
    expect(Date.parse(second.status?.startTime ?? '')).toBeGreaterThanOrEqual(
      Date.parse(first.status?.completionTime ?? ''),
    );
  });

  it("gives each namespace its own generated key: one tenant's key cannot open another's repository", async () => {
    const [a = '', b = ''] = namespaces;
    await createClaim(client, b, 'data');
    writeFileSync(join(await boundVolumePath(client, b, 'data'), 'b.txt'), 'tenant b only');
    setClock(new Date().toISOString());
    await backUp(b, 'data', 'first');
    const keyA = await keyOf(a);
    const keyB = await keyOf(b);
    expect(keyA.length).toBeGreaterThanOrEqual(40);
    expect(keyA).not.toBe(keyB);
    expect((await restic(b, keyB, ['snapshots', '--json'])).code).toBe(0);
    const crossed = await restic(b, keyA, ['snapshots', '--json']);
    expect(crossed.code).not.toBe(0);
    expect(crossed.stderr).toMatch(/wrong password|no key found/i);
    const crossedBack = await restic(a, keyB, ['cat', 'config']);
    expect(crossedBack.code).not.toBe(0);
  });

  it('creates a new repository once when two first backups start together, and it checks clean', async () => {
    const c = await createNamespace(client, 'tenant-c');
    namespaces.push(c);
    await client.mergePatch(kinds.namespace, { name: c }, { metadata: { labels: { 'safehold.test/suite': id } } });
    for (const pvc of ['one', 'two']) {
      await createClaim(client, c, pvc);
      writeFileSync(join(await boundVolumePath(client, c, pvc), `${pvc}.txt`), pvc.repeat(1000));
    }
    setClock(new Date().toISOString());
    const [one, two] = await Promise.all([backUp(c, 'one', 'first-one'), backUp(c, 'two', 'first-two')]);
    expect([one.status?.attempt, two.status?.attempt]).toEqual([1, 1]);
    const key = await keyOf(c);
    const keys = JSON.parse((await restic(c, key, ['key', 'list', '--json'])).stdout) as unknown[];
    expect(keys).toHaveLength(1);
    const check = await restic(c, key, ['check', '--read-data']);
    expect(check.code, check.stderr).toBe(0);
  });

  it("keeps a deleted PVC's backups for the grace period and lists them as orphans", async () => {
    const b = namespaces[1] ?? '';
    await createClaim(client, b, 'scratch');
    setClock(new Date().toISOString());
    const made = await backUp(b, 'scratch', 'scratch-1');
    await client.delete(kinds.persistentVolumeClaim, { namespace: b, name: 'scratch' });
    await waitFor('the backup is marked orphaned', async () => {
      const vb = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: b, name: 'scratch-1' });
      return vb.metadata.annotations?.['safehold.io/orphaned-at'] !== undefined;
    });
    const orphans = await safehold(['backups', '--orphans', '-n', b, '-o', 'json']);
    expect(orphans.code, orphans.stderr).toBe(0);
    const rows = JSON.parse(orphans.stdout) as { pvc: string; snapshot: string; orphanGraceUntil: string }[];
    expect(rows.map((r) => r.pvc)).toEqual(['scratch']);
    expect(rows[0]?.snapshot).toBe(made.status?.snapshotId?.slice(0, 8));
    // The policy's default grace: 30 days from when Safehold saw the PVC gone.
    expect(Date.parse(rows[0]?.orphanGraceUntil ?? '') - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const preview = await safehold(['retention', 'preview', `${b}/scratch`]);
    expect(preview.stdout).toMatch(/PVC deleted; all kept until/);
  });

  it("runs each tenant's prune and check on the repository's weekly schedule", async () => {
    const [a = ''] = namespaces;
    // A week on: the first Sunday 03:00 (prune) and 05:00 (check) UTC after the repository was made have passed.
    setClock(new Date(Date.now() + 8 * 86_400_000).toISOString());
    await client.mergePatch(kinds.backupRepository, { name: repoName }, { metadata: { labels: { touched: 'yes' } } });
    const scheduled = async () =>
      (await client.list<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system })).items.filter(
        (m) => m.spec.repository === repoName && m.spec.trigger === 'schedule' && m.spec.tenant === a,
      );
    await waitFor(
      'scheduled prune and check of tenant a to finish',
      async () => {
        const runs = await scheduled();
        return runs.length === 2 && runs.every((m) => m.status?.phase === 'Succeeded');
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    const runs = await scheduled();
    const prune = runs.find((m) => m.metadata.labels?.['safehold.io/operation'] === 'prune');
    const check = runs.find((m) => m.metadata.labels?.['safehold.io/operation'] === 'check');
    expect(prune?.spec).toMatchObject({ forget: true, prune: true });
    expect(new Date(prune?.spec.scheduledFor ?? '').getUTCDay()).toBe(0);
    expect(new Date(prune?.spec.scheduledFor ?? '').getUTCHours()).toBe(3);
    expect(check?.spec.check).toEqual({ readDataSubset: '5%' });
    expect(check?.status?.checkOk).toBe(true);

    // Rolling checks: each week's check reads the next half of the pack data, so two read all of it (tenant b's).
    const b = namespaces[1] ?? '';
    await client.mergePatch(
      kinds.backupRepository,
      { name: repoName },
      { spec: { maintenance: { check: { rollingSlices: 2 } } } },
    );
    const read: (string | undefined)[] = [];
    for (const week of [2, 3]) {
      setClock(new Date(Date.now() + (8 + 7 * (week - 1)) * 86_400_000).toISOString());
      await client.mergePatch(
        kinds.backupRepository,
        { name: repoName },
        { metadata: { labels: { week: String(week) } } },
      );
      let checks: RepositoryMaintenance[] = [];
      // Every maintenance of the week ends before the clock moves on: a run the clock jumps past would be
      // one that took a week, and would end past its deadline.
      await waitFor(
        `week ${week}'s maintenance to finish, with a check of tenants a and b`,
        async () => {
          const all = (
            await client.list<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system })
          ).items
            .filter((m) => m.spec.repository === repoName)
            .sort((x, y) => (y.spec.scheduledFor ?? '').localeCompare(x.spec.scheduledFor ?? ''));
          const checksOf = (tenant: string) =>
            all.filter((m) => m.spec.tenant === tenant && m.metadata.labels?.['safehold.io/operation'] === 'check');
          // Cleaned up: the repository's health is recorded then.
          const done = (m: RepositoryMaintenance | undefined) =>
            m?.status?.phase === 'Succeeded' &&
            m.status.conditions?.some((c) => c.type === 'CleanedUp' && c.status === 'True') === true;
          checks = checksOf(b);
          const running = all.filter((m) => m.status?.phase !== 'Succeeded' && m.status?.phase !== 'Failed');
          if ([checksOf(a), checks].every((c) => c.length === week && done(c[0])) && running.length === 0) return true;
          throw new Error(
            all
              .map(
                (m) =>
                  `${m.metadata.name} ${JSON.stringify(m.spec.check ?? null)} ${m.status?.phase ?? ''} ${m.status?.message ?? ''}`,
              )
              .join('; '),
          );
        },
        { timeoutMs: 240_000, intervalMs: 500 },
      );
      read.push(checks[0]?.spec.check?.readDataSubset);
      expect(checks[0]?.status?.checkOk).toBe(true);
    }
    expect(read).toEqual(['1/2', '2/2']);
    const health = (await client.get<{ status?: BackupRepositoryStatus }>(kinds.backupRepository, { name: repoName }))
      .status?.tenants;
    expect(health?.find((t) => t.tenant === b)?.lastReadDataSubset).toBe('2/2');
    // Tenant a, whose history's oldest line was archived (it keeps no finish time) and brought back by a
    // prune, is still owed maintenance: it had its check each week above, as tenant b.
    setClock(new Date().toISOString());
  });

  it('lets a namespace admin back up their own volumes, but not read a key, a mover, or another namespace', async () => {
    const [a = '', b = ''] = namespaces;
    await client.create(kinds.roleBinding, {
      metadata: { name: 'alice-admin', namespace: a },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as KubeObject);
    const alice = clientAs('alice');
    try {
      // The tenant roles reach `admin` by aggregation, which takes a moment.
      await waitFor('alice may create VolumeBackups', async () => {
        try {
          await alice.create(kinds.volumeBackup, {
            metadata: { name: 'by-alice', namespace: a },
            spec: { pvc: 'data', trigger: 'manual' },
          } as KubeObject);
          return true;
        } catch (error) {
          if (isForbidden(error)) return false;
          throw error;
        }
      });
      await waitFor(
        'alice sees her backup finish',
        async () => {
          const mine = await alice.get<VolumeBackup>(kinds.volumeBackup, { namespace: a, name: 'by-alice' });
          return mine.status?.phase === 'Succeeded';
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );

      const denied = async (what: () => Promise<unknown>) => {
        const error = await what().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isForbidden(error), String(error)).toBe(true);
      };
      await denied(() => alice.list(kinds.volumeBackup, { namespace: b }));
      await denied(() => alice.get(kinds.secret, { namespace: system, name: generatedKeyName(repoName, a) }));
      await denied(() => alice.list(kinds.secret, { namespace: system }));
      await denied(() => alice.list(kinds.job, { namespace: system }));
      await denied(() => alice.list(kinds.backupRepository));
      // Nothing of the repository ever reached her namespace.
      const secrets = (await alice.list<{ data?: Record<string, string> } & KubeObject>(kinds.secret, { namespace: a }))
        .items;
      expect(
        secrets.filter((s) => s.data?.RESTIC_PASSWORD !== undefined || s.data?.AWS_SECRET_ACCESS_KEY !== undefined),
      ).toEqual([]);
      const cli = await safehold(['backups', `${b}/data`], 'alice');
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(/forbidden/i);
      const own = await safehold(['backups', `${a}/data`], 'alice');
      expect(own.code, own.stderr).toBe(0);
      expect(own.stdout).toMatch(/[0-9a-f]{8}/);
    } finally {
      alice.close();
    }
  });
});
