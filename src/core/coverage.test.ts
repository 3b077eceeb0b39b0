import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { backupPolicySpec } from '../api/index.ts';
import { countDecisions, coverage, type ClusterView } from './coverage.ts';
import { volumeHealth } from './volume-health.ts';

const claim = (namespace: string, name: string, labels: Record<string, string> = {}): PersistentVolumeClaim => ({
  metadata: { namespace, name, labels },
  spec: { storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } },
  status: { phase: 'Bound' },
});

const view = (claims: PersistentVolumeClaim[]): ClusterView => ({
  claims,
  volumes: new Map(),
  namespaces: new Map(),
  storageClasses: new Map(),
  policies: [{ metadata: { name: 'everything' }, spec: backupPolicySpec.parse({ default: true }) }],
  pods: [],
  deployments: [],
  statefulSets: [],
});

describe('coverage', () => {
  it('shows a volume no policy backs up as protected by the application dump that covers it, with its age', () => {
    const excluded = claim('shop', 'excluded');
    excluded.metadata = { ...excluded.metadata, annotations: { 'safehold.io/backup': 'false' } };
    const cluster: ClusterView = {
      ...view([claim('shop', 'db-data'), excluded, claim('shop', 'other')]),
      policies: [],
    };
    cluster.dumps = [
      {
        metadata: { namespace: 'shop', name: 'pg' },
        spec: {
          podSelector: { matchLabels: { app: 'db' } },
          command: ['pg_dumpall'],
          fileName: 'all.sql',
          schedule: { cron: '0 3 * * *' },
        },
        status: { covers: ['db-data', 'excluded'], lastSuccess: { name: 'pg-1', time: '2026-11-21T03:05:00Z' } },
      },
    ];
    const rows = coverage(cluster, new Date('2026-11-22T00:00:00Z'));
    const row = (name: string) => rows.find((r) => r.name === name);
    for (const name of ['db-data', 'excluded']) {
      expect(row(name)?.decision).toMatchObject({
        state: 'protected',
        policy: 'dump:shop/pg',
        rule: 'application-dump',
      });
      expect(row(name)?.decision.reason).toBe(
        'protected by ApplicationDump shop/pg (last dump 2026-11-21T03:05:00Z), not by a volume backup',
      );
      expect(row(name)?.lastBackup).toBe('2026-11-21T03:05:00Z');
      expect(row(name)?.nextRun).toMatch(/^2026-11-22T0[34]:/);
    }
    // A volume it does not cover stays as it was.
    expect(row('other')?.decision).toMatchObject({ state: 'unprotected', cause: 'NoPolicy' });
  });

  it("leaves out a run's own claims (snapshot clones, mover aliases): they are copies, not volumes to protect", () => {
    const rows = coverage(
      view([
        claim('team', 'data'),
        claim('team', 'data-1-src', { 'safehold.io/run': 'data-1' }),
        claim('safehold-system', 'team-data-1-0a1b2c3d', {
          'safehold.io/run': 'data-1',
          'safehold.io/namespace': 'team',
        }),
      ]),
      new Date('2026-11-22T00:00:00Z'),
    );
    expect(rows.map((r) => `${r.namespace}/${r.name}`)).toEqual(['team/data']);
    expect(rows[0]?.decision).toMatchObject({ state: 'protected', policy: 'everything' });
  });

  it('puts a selected claim that is not bound in a state of its own, with no run promised and no staleness', () => {
    const pending = (name: string, storageClassName: string): PersistentVolumeClaim => ({
      metadata: { namespace: 'team', name, creationTimestamp: '2026-11-01T00:00:00Z' },
      spec: { storageClassName, resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Pending' },
    });
    const cluster = { ...view([claim('team', 'data'), pending('waiting', 'gone')]) };
    cluster.storageClasses = new Map([['fast', { metadata: { name: 'fast' }, provisioner: 'csi.example' }]]);
    const rows = coverage(cluster, new Date('2026-11-22T00:00:00Z'));
    const waiting = rows.find((r) => r.name === 'waiting');
    expect(waiting?.decision).toMatchObject({
      state: 'unbound',
      policy: 'everything',
      cause: 'StorageClassMissing',
      reason: 'Pending: StorageClass gone does not exist, so nothing provisions the PVC',
    });
    expect(waiting?.nextRun).toBeUndefined();
    expect(countDecisions(rows)).toEqual({ protected: 1, unbound: 1, excluded: 0, unprotected: 0 });
    // Only protected volumes have health series: an unbound one is neither stale nor failing.
    const health = volumeHealth(rows, new Map(), () => '2026-11-01T00:00:00Z');
    expect(health.map((h) => h.pvc)).toEqual(['data']);
  });
});
