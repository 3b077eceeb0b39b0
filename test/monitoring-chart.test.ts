// The chart's monitoring files, checked without a cluster: every PromQL
// expression of the Grafana dashboard and of the alert rules parses (promtool)
// and names only metrics and labels the operator exports, and the
// ServiceMonitor, PrometheusRule and dashboard ConfigMap render only when
// enabled. A typo in a panel would otherwise show as an empty graph, and one
// in an alert as silence.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricObject } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { OperatorMetrics } from '../src/controller/metrics.ts';
import { run } from '../testenv/command.ts';
import { repoRoot, tools, versions } from '../testenv/paths.ts';

const chart = join(repoRoot, 'charts/safehold');
const dashboard = JSON.parse(readFileSync(join(chart, 'files/grafana-dashboard.json'), 'utf8')) as Dashboard;

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
  panels?: Panel[];
}

interface Dashboard {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; definition?: string }[] };
}

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string }[];
}

/** The chart (or one template of it) as `helm template` renders it for an install into safehold-system. */
async function renderChart(set: string[], template?: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(tools.helm, [
    'template',
    'safehold',
    chart,
    '--namespace',
    'safehold-system',
    // Helm built from source assumes Kubernetes 1.20, below the chart's kubeVersion.
    '--kube-version',
    versions.kubernetes,
    ...set.flatMap((value) => ['--set', value]),
    ...(template === undefined ? [] : ['--show-only', template]),
  ]);
  return parseAllDocuments(stdout)
    .map((document) => document.toJSON() as Record<string, unknown> | null)
    .filter((object) => object !== null);
}

const kindsOf = (objects: Record<string, unknown>[]) => objects.map((o) => o.kind);

/** What Grafana puts in place of its variables, so that promtool reads the query as Prometheus will. */
const grafanaVariables: [RegExp, string][] = [
  [/\$\{?namespace\}?/g, '.*'],
  [/\$\{?stale_intervals\}?/g, '2'],
  [/\$\{?__rate_interval\}?/g, '5m'],
  [/\$\{?__interval\}?/g, '1m'],
  [/\$\{?__range\}?/g, '1d'],
];

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

/** Each metric an expression names, with the label names its selectors and by/on clauses use. */
function namesIn(expr: string): { metrics: Set<string>; labels: Set<string> } {
  const metrics = new Set([...expr.matchAll(/\b(safehold_[a-z0-9_]+)/g)].map((m) => m[1] ?? ''));
  const labels = new Set<string>();
  for (const selector of expr.matchAll(/\bsafehold_[a-z0-9_]+\s*\{([^}]*)\}/g))
    for (const matcher of (selector[1] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g))
      labels.add(matcher[1] ?? '');
  for (const clause of expr.matchAll(/\b(?:by|on|without|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    for (const label of (clause[1] ?? '').split(',').map((l) => l.trim())) if (label !== '') labels.add(label);
  return { metrics, labels };
}

describe("the chart's monitoring files", () => {
  const work = mkdtempSync(join(tmpdir(), 'monitoring-chart-'));
  // prom-client's types leave out the label names each metric carries.
  const metrics = new OperatorMetrics().registry.getMetricsAsArray() as (MetricObject & { labelNames: string[] })[];
  const exported = new Map(metrics.map((m) => [m.name, new Set(m.labelNames)]));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Fails on a metric the operator does not export, or a label none of the expression's metrics has. */
  const expectExported = (where: string, expr: string) => {
    const { metrics, labels } = namesIn(expr);
    expect(metrics.size, `${where} names no Safehold metric: ${expr}`).toBeGreaterThan(0);
    for (const metric of metrics) expect(exported.has(metric), `${where}: no metric ${metric}`).toBe(true);
    const known = new Set([...metrics].flatMap((m) => [...(exported.get(m) ?? [])]));
    for (const label of labels)
      expect(known.has(label), `${where}: no label ${label} on ${[...metrics].join(', ')}`).toBe(true);
  };

  const promtoolCheck = async (name: string, groups: RuleGroup[]) => {
    const file = join(work, name);
    writeFileSync(file, stringify({ groups }));
    await run(tools.promtool, ['check', 'rules', file]);
  };

  it('has panels whose queries all parse and name only what the operator exports', async () => {
    const targets = panelsOf(dashboard.panels).flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ panel, target })),
    );
    expect(targets.length).toBeGreaterThan(10);
    const rules = targets.map(({ panel, target }) => {
      const expr = grafanaVariables.reduce((text, [variable, value]) => text.replace(variable, value), target.expr);
      expect(expr, `panel "${panel.title}" uses a variable the test does not know`).not.toContain('$');
      expectExported(`panel "${panel.title}"`, expr);
      return { record: `dashboard:panel_${panel.id}_${target.refId}`, expr };
    });
    // As recording rules, promtool parses every expression; a typo fails here, not on a blank panel.
    await promtoolCheck('dashboard.rules.yaml', [{ name: 'dashboard', rules }]);
  });

  it('has a Prometheus data source variable and a namespace variable over exported series', () => {
    const [datasource, namespace] = dashboard.templating.list;
    expect(datasource).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    expect(namespace).toMatchObject({ name: 'namespace', type: 'query' });
    expectExported('the namespace variable', namespace?.definition ?? '');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    // Every panel reads from the chosen data source, so the dashboard works on any Grafana.
    for (const panel of panelsOf(dashboard.panels))
      expect(JSON.stringify(panel), panel.title).not.toMatch(/"uid":\s*"(?!\$\{datasource\})/);
  });

  it('ships alert rules that parse and name only what the operator exports', async () => {
    const [rule] = await renderChart(['metrics.prometheusRule.enabled=true'], 'templates/prometheusrule.yaml');
    const groups = (rule?.spec as { groups: RuleGroup[] }).groups;
    expect(groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual([
      'SafeholdVolumesUnprotected',
      'SafeholdBackupStale',
      'SafeholdBackupFailing',
      'SafeholdRepositoryCheckFailed',
      'SafeholdRepositoryMaintenanceOverdue',
      'SafeholdDrillFailed',
      'SafeholdVolumeUnproven',
      'SafeholdStateUnprotected',
      'SafeholdOperatorDown',
    ]);
    for (const r of groups.flatMap((g) => g.rules)) expectExported(r.alert ?? '', r.expr);
    // promtool also parses each annotation's template.
    await promtoolCheck('alerts.rules.yaml', groups);
  });

  it('renders the ServiceMonitor, PrometheusRule and dashboard only when enabled, with their labels', async () => {
    const off = await renderChart([]);
    expect(kindsOf(off)).not.toContain('ServiceMonitor');
    expect(kindsOf(off)).not.toContain('PrometheusRule');
    expect(off.some((o) => (o.metadata as { name?: string }).name === 'safehold-dashboard')).toBe(false);

    const on = await renderChart([
      'metrics.serviceMonitor.enabled=true',
      'metrics.serviceMonitor.labels.release=prometheus',
      'metrics.prometheusRule.enabled=true',
      'metrics.prometheusRule.labels.release=prometheus',
      'metrics.prometheusRule.for.unprotected=1h',
      'metrics.prometheusRule.staleIntervals=3',
      'grafana.dashboard.enabled=true',
      'grafana.dashboard.namespace=grafana',
    ]);
    const find = (kind: string, name: string) =>
      on.find((o) => o.kind === kind && (o.metadata as { name: string }).name === name) as {
        metadata: { namespace: string; labels: Record<string, string> };
        spec: Record<string, unknown>;
        data: Record<string, string>;
      };
    const monitor = find('ServiceMonitor', 'safehold');
    expect(monitor.metadata).toMatchObject({ namespace: 'safehold-system', labels: { release: 'prometheus' } });
    expect(monitor.spec).toMatchObject({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'safehold', 'app.kubernetes.io/instance': 'safehold' } },
      endpoints: [{ port: 'http', path: '/metrics', interval: '60s', honorLabels: true }],
    });
    // The Service it selects: the operator's, port `http`, with those labels.
    const service = find('Service', 'safehold') as unknown as { metadata: { labels: Record<string, string> } };
    expect(service.metadata.labels).toMatchObject(
      (monitor.spec.selector as { matchLabels: Record<string, string> }).matchLabels,
    );

    const rule = find('PrometheusRule', 'safehold');
    expect(rule.metadata.labels).toMatchObject({ release: 'prometheus' });
    const rules = (rule.spec.groups as RuleGroup[]).flatMap((g) => g.rules) as Record<string, string>[];
    expect(rules.find((r) => r.alert === 'SafeholdVolumesUnprotected')?.for).toBe('1h');
    expect(rules.find((r) => r.alert === 'SafeholdBackupStale')?.expr).toContain(
      '3 * max by (policy) (safehold_policy_schedule_interval_seconds)',
    );

    const configMap = find('ConfigMap', 'safehold-dashboard');
    expect(configMap.metadata).toMatchObject({ namespace: 'grafana', labels: { grafana_dashboard: '1' } });
    // The same dashboard, its stale_intervals constant following the alert's staleIntervals.
    const shipped = JSON.parse(configMap.data['safehold.json'] ?? '') as typeof dashboard;
    const constant = (board: typeof dashboard) =>
      (board as unknown as { templating: { list: { name: string; query: unknown }[] } }).templating.list.find(
        (v) => v.name === 'stale_intervals',
      );
    expect(constant(dashboard)?.query).toBe('2');
    expect(constant(shipped)?.query).toBe('3');
    (constant(shipped) as { query: unknown }).query = '2';
    expect(shipped).toEqual(dashboard);
  });
});
