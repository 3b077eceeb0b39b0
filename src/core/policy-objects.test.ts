import { describe, expect, it } from 'vitest';
import { backupPolicySpec, type BackupPolicy } from '../api/index.ts';
import { policyObjectsDumps, type NamespaceFacts } from './policy-objects.ts';

const policy = (name: string, spec: object): BackupPolicy => ({
  metadata: { name },
  spec: backupPolicySpec.parse({ repository: { name: 'main' }, ...spec }),
});
const ns = (name: string, over: Partial<NamespaceFacts> = {}): NamespaceFacts => ({
  name,
  labels: {},
  excluded: false,
  protectedBy: new Set(),
  ...over,
});

describe('policyObjectsDumps', () => {
  const gold = policy('gold', {
    priority: 500,
    selector: { namespaceSelector: { matchLabels: { tier: 'gold' } } },
    schedule: { cron: '0 * * * *' },
    objects: { excludeKinds: ['Secret'], cluster: true },
  });
  const fallback = policy('fallback', { default: true, objects: { schedule: { cron: '30 3 * * *' } } });
  const volumesOnly = policy('volumes-only', { default: true });

  it('keeps one objects dump per namespace a policy with spec.objects protects or selects, on its schedule', () => {
    const desired = policyObjectsDumps({
      policies: [gold, fallback, volumesOnly],
      namespaces: [
        ns('shop', { labels: { tier: 'gold' } }),
        ns('lab', { protectedBy: new Set(['fallback']) }),
        ns('both', { labels: { tier: 'gold' }, protectedBy: new Set(['fallback']) }),
        ns('plain', { protectedBy: new Set(['volumes-only']) }),
        ns('empty'),
      ],
      operatorNamespace: 'safehold',
    });
    expect(desired.map((d) => [d.namespace, d.name, d.policy])).toEqual([
      ['shop', 'safehold-objects', 'gold'],
      ['lab', 'safehold-objects', 'fallback'],
      // Both would: the higher priority does.
      ['both', 'safehold-objects', 'gold'],
      ['safehold', 'safehold-cluster-objects', 'gold'],
    ]);
    expect(desired[0]?.spec).toMatchObject({
      objects: { scope: 'Namespace', excludeKinds: ['Secret'] },
      schedule: { cron: '0 * * * *' },
      repository: 'main',
    });
    // spec.objects' own schedule wins over the policy's.
    expect(desired[1]?.spec.schedule).toMatchObject({ cron: '30 3 * * *' });
    expect(desired[3]?.spec.objects).toEqual({ scope: 'Cluster', excludeKinds: ['Secret'] });
  });

  it("never in an excluded namespace or the control plane's, and no cluster dump unless asked", () => {
    const desired = policyObjectsDumps({
      policies: [fallback],
      namespaces: [
        ns('kube-system', { protectedBy: new Set(['fallback']) }),
        ns('lab', { protectedBy: new Set(['fallback']), excluded: true }),
      ],
      operatorNamespace: 'safehold',
    });
    expect(desired).toEqual([]);
  });
});
