import { describe, expect, it } from 'vitest';
import { backupPolicySpec, type BackupPolicy } from '../api/index.ts';
import { policyGitDumps, policyObjectsDumps, type NamespaceFacts } from './policy-objects.ts';

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

describe('policyGitDumps', () => {
  const repositories = [
    {
      namespace: 'flux-system',
      name: 'flux-system',
      url: 'ssh://git@git.example.com/infra.git',
      secretName: 'flux-system',
    },
    { namespace: 'apps', name: 'podinfo', url: 'https://github.com/stefanprodan/podinfo', secretName: undefined },
  ];

  it('mirrors every Flux GitRepository beside it, and the URLs the policy lists in its own namespace', () => {
    const desired = policyGitDumps({
      policies: [
        policy('low', { default: true, git: { urls: [{ name: 'other', url: 'https://x/y.git' }] } }),
        policy('gitops', {
          default: true,
          priority: 900,
          git: {
            schedule: { cron: '*/30 * * * *' },
            urls: [{ name: 'infra', url: 'https://git.example.com/infra.git', secretRef: { name: 'infra-git' } }],
          },
        }),
      ],
      repositories,
      operatorNamespace: 'safehold',
    });
    expect(desired.map((d) => [d.namespace, d.name, d.policy, d.spec.git])).toEqual([
      [
        'flux-system',
        'safehold-git-flux-system',
        'gitops',
        { url: repositories[0]?.url, secretRef: { name: 'flux-system' } },
      ],
      ['apps', 'safehold-git-podinfo', 'gitops', { url: repositories[1]?.url }],
      [
        'safehold',
        'safehold-git-infra',
        'gitops',
        { url: 'https://git.example.com/infra.git', secretRef: { name: 'infra-git' } },
      ],
    ]);
    expect(desired[0]?.spec).toMatchObject({ schedule: { cron: '*/30 * * * *' }, repository: 'main' });
  });

  it('leaves Flux out when told to, and makes none without a policy asking', () => {
    expect(
      policyGitDumps({
        policies: [policy('p', { default: true, git: { flux: false } })],
        repositories,
        operatorNamespace: 's',
      }),
    ).toEqual([]);
    expect(
      policyGitDumps({ policies: [policy('p', { default: true })], repositories, operatorNamespace: 's' }),
    ).toEqual([]);
  });
});
