import { describe, expect, it } from 'vitest';
import { annotations, backupPolicySpec } from '../api/index.ts';
import type { CoverageRow } from './coverage.ts';
import { proofState, readVerification, volumeProofs } from './volume-proof.ts';

const now = new Date('2026-12-01T12:00:00Z');
const hour = 3_600_000;

describe('readVerification', () => {
  it('reads a passed and a failed drill from the PVC', () => {
    expect(
      readVerification({
        [annotations.lastVerified]: '2026-12-01T10:00:00Z',
        [annotations.verifyResult]: 'Passed',
        [annotations.verifiedBackup]: 'db-1',
        [annotations.lastPassed]: '2026-12-01T10:00:00Z',
      }),
    ).toEqual({
      at: '2026-12-01T10:00:00Z',
      verdict: 'Passed',
      backup: 'db-1',
      message: undefined,
      reason: undefined,
      lastPassed: '2026-12-01T10:00:00Z',
    });
    expect(
      readVerification({
        [annotations.lastVerified]: '2026-12-01T11:00:00Z',
        [annotations.verifyResult]: 'Failed: Unverified: pack 3f2a: hash mismatch',
      }),
    ).toMatchObject({ verdict: 'Failed', message: 'Unverified: pack 3f2a: hash mismatch' });
  });
  it('takes nothing it cannot read for a verdict', () => {
    expect(readVerification(undefined)).toBeUndefined();
    expect(
      readVerification({ [annotations.lastVerified]: 'yesterday', [annotations.verifyResult]: 'Passed' }),
    ).toBeUndefined();
    expect(
      readVerification({ [annotations.lastVerified]: '2026-12-01T11:00:00Z', [annotations.verifyResult]: 'ok' }),
    ).toBeUndefined();
  });
});

describe('proofState', () => {
  const passed = (hoursAgo: number) => ({
    at: new Date(now.getTime() - hoursAgo * hour).toISOString(),
    verdict: 'Passed' as const,
    backup: 'b',
    message: undefined,
    reason: undefined,
    lastPassed: undefined,
  });
  it.each([
    ['unproven', undefined, 24],
    ['proven', passed(2), 24],
    ['overdue', passed(25), 24],
    ['proven', passed(25), undefined],
    ['failed', { ...passed(1), verdict: 'Failed' as const }, 24],
  ] as const)('%s', (state, verification, windowHours) => {
    expect(proofState(verification, windowHours === undefined ? undefined : windowHours * hour, now)).toBe(state);
  });
});

describe('volumeProofs', () => {
  const row = (name: string, policy: string, annotations?: CoverageRow['verification']): CoverageRow => ({
    namespace: 'shop',
    name,
    size: '1Gi',
    storageClass: 'fast',
    volumeMode: 'Filesystem',
    phase: 'Bound',
    decision: { state: 'protected', policy, rule: 'policy-selector', reason: '' },
    lastBackup: undefined,
    nextRun: undefined,
    verification: annotations,
    problems: [],
  });
  const created = () => '2026-11-01T00:00:00Z';
  const windows = new Map([['drilled', 30 * 24 * hour]]);

  it('is due a window after the last pass, or after the PVC was created when it never passed', () => {
    const passedAt = '2026-11-20T00:00:00Z';
    const proofs = volumeProofs(
      [
        row('never', 'drilled'),
        row('fine', 'drilled', {
          at: passedAt,
          verdict: 'Passed',
          backup: 'b',
          message: undefined,
          reason: undefined,
          lastPassed: passedAt,
        }),
        row('broken', 'drilled', {
          at: '2026-11-30T00:00:00Z',
          verdict: 'Failed',
          backup: 'b',
          message: 'Unverified: damaged',
          reason: 'Unverified',
          lastPassed: passedAt,
        }),
        row('undrilled', 'plain'),
      ],
      windows,
      created,
    );
    const at = (iso: string) => Date.parse(iso) / 1000;
    expect(proofs).toEqual([
      {
        namespace: 'shop',
        pvc: 'never',
        policy: 'drilled',
        lastPassedSeconds: undefined,
        failed: undefined,
        dueSeconds: at('2026-12-01T00:00:00Z'),
      },
      {
        namespace: 'shop',
        pvc: 'fine',
        policy: 'drilled',
        lastPassedSeconds: at(passedAt),
        failed: { value: 0, reason: '' },
        dueSeconds: at('2026-12-20T00:00:00Z'),
      },
      {
        namespace: 'shop',
        pvc: 'broken',
        policy: 'drilled',
        lastPassedSeconds: at(passedAt),
        failed: { value: 1, reason: 'Unverified' },
        dueSeconds: at('2026-12-20T00:00:00Z'),
      },
    ]);
  });
});

describe('coverage: protected and proven', () => {
  it('says per protected volume whether a drill proved it within its policy window', async () => {
    const { coverage } = await import('./coverage.ts');
    const claim = (name: string, extra: Record<string, string>) => ({
      metadata: { namespace: 'shop', name, annotations: extra },
      spec: { volumeName: `pv-${name}`, storageClassName: 'fast' },
      status: { phase: 'Bound' },
    });
    const passedAt = (hoursAgo: number) => ({
      [annotations.lastVerified]: new Date(now.getTime() - hoursAgo * hour).toISOString(),
      [annotations.verifyResult]: 'Passed',
    });
    const rows = coverage(
      {
        claims: [claim('fresh', passedAt(1)), claim('stale', passedAt(48)), claim('never', {})],
        volumes: new Map(),
        namespaces: new Map(),
        storageClasses: new Map([['fast', { metadata: { name: 'fast' }, provisioner: 'x' }]]),
        policies: [
          {
            metadata: { name: 'all' },
            spec: backupPolicySpec.parse({ default: true, drill: { cron: '0 4 * * 0', window: '24h' } }),
          },
        ],
        pods: [],
        deployments: [],
        statefulSets: [],
      },
      now,
    );
    expect(Object.fromEntries(rows.map((r) => [r.name, r.proof]))).toEqual({
      fresh: 'proven',
      stale: 'overdue',
      never: 'unproven',
    });
  });
});
