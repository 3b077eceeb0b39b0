// The shipped alerts against the operator as it runs. A real state: in one
// namespace two UNPROTECTED PVCs (a policy conflict, a malformed annotation),
// a protected PVC backed up, one whose backup failed, and its restic
// repository found damaged by a check; in another, one PVC backed up and its
// repository checked clean. The operator is then restarted, so every series
// must come from API objects, and its /metrics are scraped. promtool runs the
// chart's rules, rendered by helm as they ship, over those samples, and the
// test says exactly which alerts fire, with which labels, at which times.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { RepositoryMaintenance } from '../src/api/index.ts';
import { generatedKeyName } from '../src/controller/run/repository-credentials.ts';
import { presignS3, type PresignMethod } from '../src/core/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import { repoRoot, tools, versions } from '../testenv/paths.ts';
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
  metricValue,
  parseExposition,
  runOperatorHere,
  type OperatorHere,
} from './support/safehold.ts';

const system = 'safehold-system';
const day = 86_400;

/** What Prometheus adds to each sample it scrapes through the chart's ServiceMonitor; honorLabels keeps Safehold's namespace label. */
const targetLabels = { job: 'safehold', instance: '10.0.0.7:8080', pod: 'safehold-5d8f7c-x2x9q', namespace: system };

/** The chart's alert rules exactly as `helm template` renders them, with the durations this test is written for. */
async function renderedRules(): Promise<{ groups: { rules: { annotations?: Record<string, string> }[] }[] }> {
  const { stdout } = await run(tools.helm, [
    'template',
    'safehold',
    join(repoRoot, 'charts/safehold'),
    '--namespace',
    system,
    '--kube-version',
    versions.kubernetes,
    '--show-only',
    'templates/prometheusrule.yaml',
    '--set',
    'metrics.prometheusRule.enabled=true',
    '--set',
    'metrics.prometheusRule.for.unprotected=30m,metrics.prometheusRule.for.stale=0m',
    '--set',
    'metrics.prometheusRule.for.failing=0m,metrics.prometheusRule.for.checkFailed=0m',
    '--set',
    'metrics.prometheusRule.for.maintenanceOverdue=0m',
    '--set',
    'metrics.prometheusRule.for.drillFailed=0m,metrics.prometheusRule.for.unproven=0m',
    '--set',
    'metrics.prometheusRule.for.operatorDown=10m,metrics.prometheusRule.staleIntervals=2',
  ]);
  return (parse(stdout) as { spec: { groups: { rules: { annotations?: Record<string, string> }[] }[] } }).spec;
}

describe('alerts on what the operator exports', () => {
  let client: KubeClient;
  const id = uniqueName('al');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policies = { daily: `daily-${id}`, weekly: `weekly-${id}`, broken: `broken-${id}` };
  const work = mkdtempSync(join(tmpdir(), 'alerts-test-'));
  let operator: OperatorHere | undefined;
  let team = '';
  let calm = '';
  let scraped = '';
  let scrapedAt = 0;
  let checkedAt = 0;

  const policy = (name: string, label: string, cron: string, repository: string, deadline = '10m') =>
    client.create(kinds.backupPolicy, {
      metadata: { name },
      spec: {
        priority: 900,
        selector: { pvcSelector: { matchLabels: { [label]: id } } },
        repository: { name: repository },
        schedule: { cron, timeZone: 'UTC', spreadWindow: '1m' },
        retry: { limit: 0, deadline },
      },
    } as KubeObject);
  const claim = async (namespace: string, name: string, metadata: Record<string, unknown>) => {
    await createClaim(client, namespace, name);
    await client.mergePatch(kinds.persistentVolumeClaim, { namespace, name }, { metadata });
  };
  const maintenanceDone = async (name: string) => {
    let done: RepositoryMaintenance | undefined;
    await waitFor(
      `maintenance ${name}`,
      async () => {
        done = await client.get<RepositoryMaintenance>(kinds.repositoryMaintenance, { namespace: system, name });
        return done.status?.phase === 'Succeeded' || done.status?.phase === 'Failed';
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    return done as RepositoryMaintenance;
  };

  /** Overwrites 64 bytes of one pack file of the namespace's restic repository, as bit rot would. */
  const damageOnePack = async (namespace: string) => {
    const env = testEnv();
    const secret = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: system,
      name: generatedKeyName(repoName, namespace),
    });
    const { stdout } = await run(env.tools.restic, ['list', 'packs', '--no-cache'], {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}/tenants/${namespace}`,
        RESTIC_PASSWORD: Buffer.from(secret.data?.password ?? '', 'base64').toString(),
        AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
        AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      },
    });
    const pack = stdout.trim().split('\n')[0] ?? '';
    const sign = (method: PresignMethod) =>
      presignS3({
        method,
        endpoint: env.ceph.s3.endpoint,
        bucket,
        key: `tenants/${namespace}/data/${pack.slice(0, 2)}/${pack}`,
        region: env.ceph.s3.region,
        accessKeyId: env.ceph.s3.accessKey,
        secretAccessKey: env.ceph.s3.secretKey,
        expiresSeconds: 300,
        now: new Date(),
      });
    const body = Buffer.from(await (await fetch(sign('GET'))).arrayBuffer());
    body.fill(0x58, Math.floor(body.length / 2), Math.floor(body.length / 2) + 64);
    const put = await fetch(sign('PUT'), { method: 'PUT', body, headers: { 'Content-Length': String(body.length) } });
    expect(put.ok, `rewriting pack ${pack}`).toBe(true);
  };

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket, repository: repoName });
    // February 29th: no scheduled maintenance checks these repositories while the test runs.
    await client.mergePatch(
      kinds.backupRepository,
      { name: repoName },
      { spec: { maintenance: { prune: { cron: '0 0 29 2 *' }, check: { cron: '0 0 29 2 *' } } } },
    );
    // Schedules whose next runs are half a day away, so only the runs this test starts happen.
    const now = new Date();
    const hour = (now.getUTCHours() + 12) % 24;
    await policy(policies.daily, 'alerts.test/daily', `0 ${hour} * * *`, repoName);
    await policy(policies.weekly, 'alerts.test/weekly', `0 ${hour} * * ${(now.getUTCDay() + 3) % 7}`, repoName);
    // A missing repository may yet appear, so its runs retry until their deadline: a short one.
    await policy(policies.broken, 'alerts.test/broken', `0 ${hour} * * *`, `missing-${id}`, '20s');
    team = await createNamespace(client, 'alerts-team');
    calm = await createNamespace(client, 'alerts-calm');
    // UNPROTECTED twice over: two policies of one priority select `stray`; `odd` says neither true nor false.
    await claim(team, 'stray', { labels: { 'alerts.test/daily': id, 'alerts.test/weekly': id } });
    await claim(team, 'odd', { annotations: { 'safehold.io/backup': 'maybe' } });
    await claim(team, 'kept', { labels: { 'alerts.test/daily': id } });
    await claim(team, 'broken', { labels: { 'alerts.test/broken': id } });
    await claim(calm, 'steady', { labels: { 'alerts.test/weekly': id } });
    for (const [namespace, name] of [
      [team, 'kept'],
      [team, 'broken'],
      [calm, 'steady'],
    ] as const)
      writeFileSync(join(await boundVolumePath(client, namespace, name), 'data.txt'), `${namespace}/${name}\n`);

    operator = await runOperatorHere(system, id);
    await Promise.all([backUpNow(client, team, 'kept', 'kept-1'), backUpNow(client, calm, 'steady', 'steady-1')]);
    await backUpNow(client, team, 'broken', 'broken-1', { outcome: 'Failed' });

    await damageOnePack(team);
    for (const namespace of [team, calm])
      await client.create(kinds.repositoryMaintenance, {
        metadata: { name: `check-${namespace}`, namespace: system },
        spec: {
          repository: repoName,
          tenant: namespace,
          forget: false,
          prune: false,
          check: { readDataSubset: '100%' },
        },
      } as KubeObject);
    const [damaged, clean] = await Promise.all([maintenanceDone(`check-${team}`), maintenanceDone(`check-${calm}`)]);
    expect(damaged.status).toMatchObject({ phase: 'Failed', reason: 'CheckFailed', checkOk: false });
    expect(clean.status).toMatchObject({ phase: 'Succeeded', checkOk: true });
    checkedAt = Date.parse(damaged.status?.completionTime ?? '') / 1000;

    // A new operator that saw none of it: what it exports, it read from the API.
    await operator.stop();
    const metricsPort = await freePort();
    operator = await runOperatorHere(system, `${id}-again`, { metricsPort });
    const expected = (text: string) =>
      [
        metricValue(text, 'safehold_volume_unprotected', { namespace: team, pvc: 'stray', cause: 'PolicyConflict' }),
        metricValue(text, 'safehold_volume_unprotected', { namespace: team, pvc: 'odd', cause: 'MalformedAnnotation' }),
        metricValue(text, 'safehold_volume_last_backup_failed', {
          namespace: team,
          pvc: 'broken',
          reason: 'RepositoryNotFound',
        }),
        metricValue(text, 'safehold_repository_check_ok', { repository: repoName, tenant: calm }),
      ].every((value) => value === 1) &&
      metricValue(text, 'safehold_repository_check_ok', { repository: repoName, tenant: team }) === 0 &&
      metricValue(text, 'safehold_volume_last_backup_failed', { namespace: team, pvc: 'kept' }) === 0 &&
      metricValue(text, 'safehold_volume_last_success_timestamp_seconds', { namespace: calm, pvc: 'steady' }) !==
        undefined;
    await waitFor(
      'the restarted operator to export the state',
      async () => {
        scrapedAt = Date.now() / 1000;
        scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        return expected(scraped);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of Object.values(policies))
      await client.delete(kinds.backupPolicy, { name }).catch(() => undefined);
    for (const namespace of [team, calm])
      await client
        .delete(kinds.repositoryMaintenance, { namespace: system, name: `check-${namespace}` })
        .catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    for (const namespace of [team, calm]) if (namespace !== '') await deleteNamespace(client, namespace);
    rmSync(work, { recursive: true, force: true });
    client.close();
  });

  it('exports from API state what the alerts read', () => {
    const value = (name: string, labels: Record<string, string>) => metricValue(scraped, name, labels);
    expect(value('safehold_policy_schedule_interval_seconds', { policy: policies.daily })).toBe(day);
    expect(value('safehold_policy_schedule_interval_seconds', { policy: policies.weekly })).toBe(7 * day);
    // Staleness of a volume never backed up counts from its creation; one backed up has its last success instead.
    const created = value('safehold_volume_created_timestamp_seconds', { namespace: team, pvc: 'broken' });
    expect(created).toBeGreaterThan(scrapedAt - 600);
    expect(value('safehold_volume_created_timestamp_seconds', { namespace: team, pvc: 'kept' })).toBeUndefined();
    const success = value('safehold_volume_last_success_timestamp_seconds', { namespace: team, pvc: 'kept' });
    expect(success).toBeGreaterThan(scrapedAt - 600);
    expect(success).toBeLessThanOrEqual(scrapedAt);
    // The repository's health comes from its status, which remembers the check the first operator ran.
    expect(value('safehold_repository_last_check_timestamp_seconds', { repository: repoName, tenant: team })).toBe(
      checkedAt,
    );
    expect(value('safehold_repository_snapshots', { repository: repoName, tenant: calm })).toBe(1);
    // When maintenance is owed (each tenant's first good backup) and how far apart its runs are (February 29th: four years).
    const owed = value('safehold_repository_maintenance_owed_since_timestamp_seconds', {
      repository: repoName,
      tenant: team,
    });
    expect(owed).toBeGreaterThan(scrapedAt - 600);
    expect(owed).toBeLessThanOrEqual(scrapedAt);
    for (const operation of ['prune', 'check'])
      expect(value('safehold_repository_maintenance_interval_seconds', { repository: repoName, operation })).toBe(
        1461 * day,
      );
  });

  it('fires exactly the alerts the state calls for, each once per namespace or repository, when it should', async () => {
    const samples = parseExposition(scraped).filter(
      // The operator sees the whole shared cluster: only this test's objects go to promtool, so the
      // exact lists below are this state's alone.
      ({ labels }) =>
        (labels.namespace === undefined || labels.namespace === team || labels.namespace === calm) &&
        (labels.repository === undefined || labels.repository === repoName) &&
        (labels.policy === undefined || labels.policy === '' || Object.values(policies).includes(labels.policy)),
    );
    // promtool starts every input series at its time 0 (the Unix epoch) and time() is the evaluation
    // time, while the operator's *_timestamp_seconds are Unix times of today. Subtracting the scrape's
    // own Unix time makes promtool's 0 the moment of the scrape: time() - t is then the age a sample
    // had when scraped plus the evaluation time, as a real Prometheus would see it that much later.
    // Each sample stays constant for three days and an hour of one-minute steps.
    const steps = 3 * 24 * 60 + 60;
    const inputSeries = samples.map(({ name, labels, value }) => {
      const shifted = name.endsWith('_timestamp_seconds') ? value - scrapedAt : value;
      const all = Object.entries({ ...targetLabels, ...labels }).filter(([, v]) => v !== '');
      return {
        series: `${name}{${all.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`,
        values: `${shifted}+0x${steps}`,
      };
    });

    const rules = await renderedRules();
    // The descriptions are prose (monitoring-chart.test.ts has promtool parse their templates); the
    // summaries carry each alert's count and labels, and are compared exactly.
    for (const rule of rules.groups.flatMap((g) => g.rules))
      rule.annotations = { summary: rule.annotations?.summary ?? '' };
    writeFileSync(join(work, 'rules.yaml'), stringify(rules));

    const fired = {
      unprotected: (count: number) => ({
        exp_labels: { severity: 'warning', namespace: team },
        exp_annotations: { summary: `${count} UNPROTECTED PVCs in namespace ${team}` },
      }),
      stale: (count: number) => ({
        exp_labels: { severity: 'critical', namespace: team },
        exp_annotations: { summary: `${count} PVCs in namespace ${team} have no recent backup` },
      }),
      failing: (count: number) => ({
        exp_labels: { severity: 'warning', namespace: team },
        exp_annotations: { summary: `The latest backup of ${count} PVCs in namespace ${team} failed` },
      }),
      checkFailed: {
        exp_labels: { severity: 'critical', repository: repoName, tenant: team },
        exp_annotations: { summary: `restic check found errors in repository ${repoName} (namespace ${team})` },
      },
      operatorDown: {
        exp_labels: { severity: 'critical' },
        exp_annotations: { summary: 'No Safehold operator leads' },
      },
    };
    type Expected = Partial<Record<string, object[]>>;
    /** Every alert at one evaluation time: those not named must not fire. */
    const at = (evalTime: string, expected: Expected) =>
      [
        'SafeholdVolumesUnprotected',
        'SafeholdBackupStale',
        'SafeholdBackupFailing',
        'SafeholdRepositoryCheckFailed',
        'SafeholdOperatorDown',
      ].map((alertname) => ({ eval_time: evalTime, alertname, exp_alerts: expected[alertname] ?? [] }));
    const always = {
      SafeholdBackupFailing: [fired.failing(1)],
      SafeholdRepositoryCheckFailed: [fired.checkFailed],
    };
    const leader = inputSeries.filter((s) => s.series.startsWith('safehold_leader{'));
    expect(leader).toHaveLength(1);

    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: inputSeries,
          alert_rule_test: [
            // Two UNPROTECTED PVCs page once, for their namespace, after `for` (30m); the calm namespace never.
            ...at('29m', always),
            ...at('31m', { ...always, SafeholdVolumesUnprotected: [fired.unprotected(2)] }),
            // A daily schedule is not stale an hour or a day on, but is after three (over 2 x 24 h): the
            // backed-up volume and the one never backed up. The weekly one (2 x 7 days) is not.
            ...at('1h', { ...always, SafeholdVolumesUnprotected: [fired.unprotected(2)] }),
            ...at('1d', { ...always, SafeholdVolumesUnprotected: [fired.unprotected(2)] }),
            ...at('3d', {
              ...always,
              SafeholdVolumesUnprotected: [fired.unprotected(2)],
              SafeholdBackupStale: [fired.stale(2)],
            }),
          ],
        },
        {
          // The operator stops being scraped 20 minutes in: after 10 more, that is an alert of its own.
          interval: '1m',
          input_series: leader.map((s) => ({ ...s, values: '1+0x20 stale' })),
          alert_rule_test: [...at('25m', {}), ...at('35m', { SafeholdOperatorDown: [fired.operatorDown] })],
        },
      ],
    };
    writeFileSync(join(work, 'alerts.test.yaml'), stringify(tests));
    // A failure shows promtool's expected and actual alerts in the error.
    await run(tools.promtool, ['test', 'rules', join(work, 'alerts.test.yaml')], { timeoutMs: 120_000 });
  });
});

describe('the maintenance-overdue alert', () => {
  const work = mkdtempSync(join(tmpdir(), 'alerts-maintenance-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('fires per repository, tenant and operation once a prune or check is older than two runs of its schedule', async () => {
    // promtool's time 0 is "now"; a timestamp of -d days is d days ago. Weekly prune and check: overdue after 14 days.
    const days = (n: number) => -n * day;
    const target = 'job="safehold",instance="10.0.0.7:8080"';
    const series = (name: string, labels: string, value: number) => ({
      series: `${name}{${target},${labels}}`,
      values: `${value}+0x400`,
    });
    const inputSeries = [
      series('safehold_repository_maintenance_interval_seconds', 'repository="r",operation="prune"', 7 * day),
      series('safehold_repository_maintenance_interval_seconds', 'repository="r",operation="check"', 7 * day),
      // Tenant a: pruned and checked a day ago, backing up for a month.
      series('safehold_repository_last_prune_timestamp_seconds', 'repository="r",tenant="a"', days(1)),
      series('safehold_repository_last_check_timestamp_seconds', 'repository="r",tenant="a"', days(1)),
      series('safehold_repository_maintenance_owed_since_timestamp_seconds', 'repository="r",tenant="a"', days(30)),
      // Tenant b: never maintained, first backup 13 days ago.
      series('safehold_repository_maintenance_owed_since_timestamp_seconds', 'repository="r",tenant="b"', days(13)),
      // Tenant c: checked yesterday, but its prune has failed (and been retried) for 20 days.
      series('safehold_repository_last_prune_timestamp_seconds', 'repository="r",tenant="c"', days(20)),
      series('safehold_repository_last_check_timestamp_seconds', 'repository="r",tenant="c"', days(1)),
      series('safehold_repository_maintenance_owed_since_timestamp_seconds', 'repository="r",tenant="c"', days(60)),
    ];
    const overdue = (tenant: string, operation: string, age: string) => ({
      exp_labels: { severity: 'warning', repository: 'r', tenant, operation },
      exp_annotations: { summary: `No successful ${operation} of repository r (namespace ${tenant}) for ${age}` },
    });
    const at = (evalTime: string, expAlerts: object[]) => ({
      eval_time: evalTime,
      alertname: 'SafeholdRepositoryMaintenanceOverdue',
      exp_alerts: expAlerts,
    });
    const rules = await renderedRules();
    for (const rule of rules.groups.flatMap((g) => g.rules))
      rule.annotations = { summary: rule.annotations?.summary ?? '' };
    writeFileSync(join(work, 'rules.yaml'), stringify(rules));
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1h',
      tests: [
        {
          interval: '1h',
          input_series: inputSeries,
          alert_rule_test: [
            at('1h', [overdue('c', 'prune', '20d 1h 0m 0s')]),
            // Two days on, tenant b has owed a prune and a check for 15 days.
            at('2d', [
              overdue('b', 'check', '15d 0h 0m 0s'),
              overdue('b', 'prune', '15d 0h 0m 0s'),
              overdue('c', 'prune', '22d 0h 0m 0s'),
            ]),
            // Fourteen days on, tenant a's last prune and check are 15 days old; c's check too.
            at('14d', [
              overdue('a', 'check', '15d 0h 0m 0s'),
              overdue('a', 'prune', '15d 0h 0m 0s'),
              overdue('b', 'check', '27d 0h 0m 0s'),
              overdue('b', 'prune', '27d 0h 0m 0s'),
              overdue('c', 'check', '15d 0h 0m 0s'),
              overdue('c', 'prune', '34d 0h 0m 0s'),
            ]),
          ],
        },
      ],
    };
    writeFileSync(join(work, 'maintenance.test.yaml'), stringify(tests));
    await run(tools.promtool, ['test', 'rules', join(work, 'maintenance.test.yaml')], { timeoutMs: 120_000 });
  });
});

describe('the restore drill alerts', () => {
  const work = mkdtempSync(join(tmpdir(), 'alerts-drills-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('fire per namespace for volumes whose drill failed and volumes past their proof', async () => {
    // promtool's time 0 is "now": a due time of -d days was d days ago.
    const days = (n: number) => n * day;
    const target = 'job="safehold",instance="10.0.0.7:8080"';
    const series = (name: string, labels: string, values: string) => ({
      series: `${name}{${target},${labels}}`,
      values,
    });
    const inputSeries = [
      // shop/db: proven a day ago, due in 29 days. shop/files: its last drill failed. shop/new: due in 2 days.
      series(
        'safehold_volume_proof_due_timestamp_seconds',
        'namespace="shop",pvc="db",policy="p"',
        `${days(29)}+0x100`,
      ),
      series('safehold_volume_drill_failed', 'namespace="shop",pvc="db",reason=""', '0+0x100'),
      series('safehold_volume_drill_failed', 'namespace="shop",pvc="files",reason="Unverified"', '1+0x100'),
      series(
        'safehold_volume_proof_due_timestamp_seconds',
        'namespace="shop",pvc="new",policy="p"',
        `${days(2)}+0x100`,
      ),
      // lab/old: never proven, due 3 days ago.
      series(
        'safehold_volume_proof_due_timestamp_seconds',
        'namespace="lab",pvc="old",policy="p"',
        `${-days(3)}+0x100`,
      ),
    ];
    const unproven = (namespace: string, count: number) => ({
      exp_labels: { severity: 'warning', namespace },
      exp_annotations: {
        summary: `${count} PVCs in namespace ${namespace} have no passing restore drill within their window`,
      },
    });
    const failed = {
      exp_labels: { severity: 'critical', namespace: 'shop' },
      exp_annotations: { summary: 'The backups of 1 PVCs in namespace shop failed a restore drill' },
    };
    const at = (evalTime: string, alertname: string, expAlerts: object[]) => ({
      eval_time: evalTime,
      alertname,
      exp_alerts: expAlerts,
    });
    const rules = await renderedRules();
    for (const rule of rules.groups.flatMap((g) => g.rules))
      rule.annotations = { summary: rule.annotations?.summary ?? '' };
    writeFileSync(join(work, 'rules.yaml'), stringify(rules));
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1h',
      tests: [
        {
          interval: '1h',
          input_series: inputSeries,
          alert_rule_test: [
            at('1h', 'SafeholdDrillFailed', [failed]),
            at('1h', 'SafeholdVolumeUnproven', [unproven('lab', 1)]),
            // Three days on, shop/new is past due too; shop/db is not.
            at('3d', 'SafeholdVolumeUnproven', [unproven('lab', 1), unproven('shop', 1)]),
          ],
        },
      ],
    };
    writeFileSync(join(work, 'drills.test.yaml'), stringify(tests));
    await run(tools.promtool, ['test', 'rules', join(work, 'drills.test.yaml')], { timeoutMs: 120_000 });
  });
});

describe("the cluster's state alert", () => {
  const work = mkdtempSync(join(tmpdir(), 'alerts-state-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('fires per scope and namespace for state no dump protects, after its hour, and not for protected state', async () => {
    const target = 'job="safehold",instance="10.0.0.7:8080"';
    const state = (labels: string, value: number) => ({
      series: `safehold_state_protected{${target},${labels}}`,
      values: `${value}+0x100`,
    });
    const rules = await renderedRules();
    for (const rule of rules.groups.flatMap((g) => g.rules))
      rule.annotations = { summary: rule.annotations?.summary ?? '' };
    writeFileSync(join(work, 'rules.yaml'), stringify(rules));
    const unprotected = (scope: string, namespace: string, count: number) => ({
      exp_labels: { severity: 'warning', scope, namespace },
      exp_annotations: { summary: `${count} ${scope} state in namespace ${namespace} is UNPROTECTED` },
    });
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          // A sample a minute: a gap longer than Prometheus' 5 minutes of lookback would reset the hour.
          interval: '1m',
          input_series: [
            state('scope="Namespace",namespace="shop",name="",dump="shop/safehold-objects"', 1),
            state('scope="Namespace",namespace="lab",name="",dump=""', 0),
            state('scope="Git",namespace="flux-system",name="infra",dump=""', 0),
            state('scope="Git",namespace="flux-system",name="apps",dump=""', 0),
            state('scope="Cluster",namespace="safehold",name="",dump="safehold/safehold-cluster-objects"', 1),
          ],
          alert_rule_test: [
            { eval_time: '30m', alertname: 'SafeholdStateUnprotected', exp_alerts: [] },
            {
              eval_time: '70m',
              alertname: 'SafeholdStateUnprotected',
              exp_alerts: [unprotected('Git', 'flux-system', 2), unprotected('Namespace', 'lab', 1)],
            },
          ],
        },
      ],
    };
    writeFileSync(join(work, 'state.test.yaml'), stringify(tests));
    await run(tools.promtool, ['test', 'rules', join(work, 'state.test.yaml')], { timeoutMs: 120_000 });
  });
});
