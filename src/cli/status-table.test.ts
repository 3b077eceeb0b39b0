import { describe, expect, it } from 'vitest';
import { lastFailure, type CoverageRow } from '../core/index.ts';
import { renderStatus } from './status-table.ts';

const now = new Date('2026-11-22T12:00:00Z');
const unbound: CoverageRow = {
  namespace: 'team',
  name: 'new-data',
  size: '1Gi',
  storageClass: 'gone',
  volumeMode: 'Filesystem',
  phase: 'Pending',
  decision: {
    state: 'unbound',
    policy: 'daily',
    rule: 'policy-selector',
    cause: 'StorageClassMissing',
    reason: 'Pending: StorageClass gone does not exist, so nothing provisions the PVC',
  },
  lastBackup: undefined,
  nextRun: undefined,
  problems: [],
};

describe('renderStatus', () => {
  it('shows an unbound volume as unbound, with its policy, no promised run and the case', () => {
    const row = renderStatus([unbound], 'table', now, false).split('\n')[1];
    expect(row).toMatch(
      /^team\s+new-data\s+1Gi\s+gone\s+Filesystem\s+daily\s+unbound\s+-\s+-\s+-\s+when bound\s+Pending: StorageClass gone does not exist/,
    );
  });

  it('gives programs the state and the cause', () => {
    expect(JSON.parse(renderStatus([unbound], 'json', now, false))).toEqual([
      expect.objectContaining({
        decision: 'unbound',
        policy: 'daily',
        cause: 'StorageClassMissing',
        rule: 'policy-selector',
      }),
    ]);
  });
});

const row = (annotations: Record<string, string> | undefined, lastBackup?: string): CoverageRow => ({
  namespace: 'team-a',
  name: 'db',
  size: '1Gi',
  storageClass: 'rbd',
  volumeMode: 'Filesystem',
  phase: 'Bound',
  decision: { state: 'protected', policy: 'daily', rule: 'policy-selector', reason: 'selected by BackupPolicy daily' },
  lastBackup,
  lastFailure: lastFailure(annotations),
  nextRun: undefined,
  problems: [],
});
const failed = {
  'safehold.io/last-result': 'Failed',
  'safehold.io/last-error':
    '2026-11-22T11:30:00Z WrongPassword: the password from the generated key Secret x does not open',
};

describe('renderStatus: the last run', () => {
  it('shows that the last run of a protected volume failed, with its reason and age', () => {
    const table = renderStatus([row(failed)], 'table', now, false);
    expect(table).toContain('LAST RUN');
    expect(table).toMatch(/protected\s+never\s+FAILED WrongPassword 30m ago/);
  });

  it('shows ok after a success and nothing before any run', () => {
    expect(
      renderStatus([row({ 'safehold.io/last-result': 'Succeeded' }, '2026-11-22T11:00:00Z')], 'table', now, false),
    ).toMatch(/60m ago\s+ok/);
    expect(renderStatus([row(undefined)], 'table', now, false)).toMatch(/never\s+-/);
  });

  it('gives programs the failure as a record', () => {
    const [record] = JSON.parse(renderStatus([row(failed)], 'json', now, false)) as { lastFailure: unknown }[];
    expect(record?.lastFailure).toEqual({
      at: '2026-11-22T11:30:00Z',
      reason: 'WrongPassword',
      message: 'the password from the generated key Secret x does not open',
    });
  });
});

describe('renderStatus: proven or only protected', () => {
  it('shows the last restore drill: passed and when, FAILED with its reason, never before any', () => {
    const passed = {
      ...row(undefined, '2026-11-22T02:00:00Z'),
      verification: {
        at: '2026-11-22T11:00:00Z',
        verdict: 'Passed' as const,
        backup: 'b1',
        message: undefined,
        reason: undefined,
        lastPassed: undefined,
      },
    };
    const failedDrill = {
      ...row(undefined, '2026-11-22T02:00:00Z'),
      verification: {
        at: '2026-11-22T11:30:00Z',
        verdict: 'Failed' as const,
        backup: 'b1',
        message: 'Unverified: pack 3f2a damaged',
        reason: 'Unverified',
        lastPassed: undefined,
      },
    };
    const overdue = { ...passed, proof: 'overdue' as const };
    expect(renderStatus([overdue], 'table', now, false)).toMatch(/ok\s+OVERDUE, passed 60m ago/);
    const table = renderStatus([passed, failedDrill, row(undefined)], 'table', now, false);
    expect(table).toContain('VERIFIED');
    expect(table).toMatch(/ago\s+ok\s+passed 60m ago/);
    expect(table).toMatch(/ago\s+ok\s+FAILED Unverified 30m ago/);
    expect(table).toMatch(/never\s+-\s+never/);
    const [record] = JSON.parse(renderStatus([failedDrill], 'json', now, false)) as { lastVerified: unknown }[];
    expect(record?.lastVerified).toMatchObject({ verdict: 'Failed', message: 'Unverified: pack 3f2a damaged' });
  });
});
