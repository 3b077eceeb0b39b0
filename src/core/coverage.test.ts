import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { backupPolicySpec } from '../api/index.ts';
import { coverage, type ClusterView } from './coverage.ts';

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
});
