import { describe, expect, it } from 'vitest';
import { planRestore, type ApiObject, type PlannedObject } from '../core/index.ts';
import { diffSummary, renderPlan, stepRecord, summaryLine, type StepRecord } from './resource-restore-report.ts';

const configMap = (name: string, data: Record<string, string>): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'shop' },
  data,
});
const secret = (value: string): ApiObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'shop' },
  type: 'Opaque',
  data: { password: value },
});
const deployment: ApiObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { replicas: 2 },
};

const plan = (force = false) =>
  planRestore({
    objects: [configMap('settings', { mode: 'fast' }), secret('c2VjcmV0LWZyb20tYmFja3Vw'), deployment],
    existing: [configMap('settings', { mode: 'slow' }), secret('c2VjcmV0LW5vdw==')],
    force,
  }).steps;

describe('renderPlan', () => {
  it('shows each object in plan order with its action and what differs, never a Secret value', () => {
    expect(renderPlan(plan())).toBe(
      [
        'ACTION    KIND        NAME      DIFF',
        'conflict  Secret      db        data.password: (changed)',
        'conflict  ConfigMap   settings  data.mode: "slow" -> "fast"',
        'create    Deployment  web',
        '',
      ].join('\n'),
    );
    expect(renderPlan(plan(true))).not.toMatch(/c2VjcmV0/);
    expect(renderPlan(plan(true))).toMatch(/^replace {2}Secret {6}db {8}data\.password: \(changed\)$/m);
  });
});

describe('diffSummary', () => {
  const step = (diff: string[]): PlannedObject => ({
    action: 'conflict',
    ref: 'ConfigMap shop/x',
    object: deployment,
    diff,
  });

  it('shows the first difference and counts the others, elided ones included', () => {
    expect(diffSummary(step(['a: 1 -> 2']))).toBe('a: 1 -> 2');
    expect(diffSummary(step(['a: 1 -> 2', 'b: (changed)']))).toBe('a: 1 -> 2 (+1 more)');
    const many = [...Array.from({ length: 9 }, (_, i) => `f${i}: (changed)`), '... and 5 more'];
    expect(diffSummary(step(many))).toBe('f0: (changed) (+13 more)');
    expect(diffSummary({ action: 'create', ref: 'x', object: deployment })).toBe('');
  });
});

describe('stepRecord and summaryLine', () => {
  it('records each object with what became of it, the diff only where there is one', () => {
    const [conflict, , create] = plan();
    if (conflict === undefined || create === undefined) throw new Error('no plan');
    expect(stepRecord(create, { result: 'created' })).toEqual({
      action: 'create',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      result: 'created',
    });
    expect(stepRecord(conflict, { result: 'skipped', message: 'left' })).toMatchObject({
      action: 'conflict',
      diff: ['data.password: (changed)'],
      result: 'skipped',
      message: 'left',
    });
  });

  it('counts what was done, or with --dry-run what would be', () => {
    const records = (results: StepRecord['result'][], actions: StepRecord['action'][]): StepRecord[] =>
      results.map((result, i) => ({ action: actions[i] ?? 'create', apiVersion: 'v1', kind: 'X', name: 'x', result }));
    expect(
      summaryLine(records(['created', 'created', 'skipped', 'failed'], ['create', 'create', 'conflict']), false),
    ).toBe('2 created, 0 replaced, 0 unchanged, 1 skipped, 1 failed.');
    expect(
      summaryLine(
        records(['planned', 'planned', 'unchanged', 'skipped'], ['create', 'replace', 'unchanged', 'conflict']),
        true,
      ),
    ).toBe('Dry run: 1 to create, 1 to replace, 1 unchanged, 1 in conflict; nothing was changed.');
    expect(summaryLine(records(['planned', 'skipped', 'failed'], ['create', 'managed', 'unreadable']), true)).toBe(
      'Dry run: 1 to create, 0 to replace, 0 unchanged, 0 in conflict, 1 managed by Kubernetes, 1 unreadable; nothing was changed.',
    );
  });

  it('says why an object Kubernetes manages is left, and that one could not be read', () => {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'view' } };
    const managed: PlannedObject = {
      action: 'managed',
      ref: 'ClusterRole view',
      object: role,
      diff: ['rules: (changed)'],
      reason: 'why',
    };
    expect(diffSummary(managed)).toBe('left as it is: why');
    expect(stepRecord(managed, { result: 'skipped', message: 'left' })).toMatchObject({ diff: ['rules: (changed)'] });
    expect(diffSummary({ action: 'unreadable', ref: 'ClusterRole view', object: role, reason: '403' })).toBe(
      'cannot read it (see the error)',
    );
  });
});
