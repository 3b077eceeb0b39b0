import { describe, expect, it } from 'vitest';
import type { ApplicationDump } from '../api/index.ts';
import { objectsCoverage } from './objects-coverage.ts';

const now = new Date('2026-12-05T10:00:00Z');
const ns = (name: string, annotations?: Record<string, string>) => ({ metadata: { name, annotations } });
const dump = (
  namespace: string,
  name: string,
  spec: Partial<ApplicationDump['spec']>,
  lastSuccess?: string,
): ApplicationDump => ({
  metadata: { namespace, name },
  spec: { objects: {}, ...spec },
  ...(lastSuccess === undefined ? {} : { status: { lastSuccess: { name: `${name}-1`, time: lastSuccess } } }),
});
const daily = { cron: '0 2 * * *', timeZone: 'UTC', spreadWindow: '0s' };

describe('objectsCoverage', () => {
  it('says per namespace whether an objects dump protects it, and why not', () => {
    const rows = objectsCoverage({
      namespaces: [ns('shop'), ns('lab', { 'safehold.io/backup': 'false' }), ns('kube-system'), ns('bare')],
      dumps: [
        dump('shop', 'objects', { schedule: daily }, '2026-12-05T02:00:00Z'),
        // A command dump is not an objects dump.
        dump('bare', 'db', { objects: undefined, podSelector: {}, command: ['pg_dumpall'], fileName: 'all.sql' }),
      ],
      cluster: false,
      now,
    });
    expect(rows.map((r) => [r.namespace, r.state, r.reason])).toEqual([
      ['shop', 'protected', 'objects stored by ApplicationDump shop/objects (on its schedule)'],
      ['lab', 'excluded', 'excluded by Namespace annotation safehold.io/backup=false'],
      ['kube-system', 'excluded', "the control plane's own namespace: it comes back with the control plane"],
      ['bare', 'unprotected', 'no objects dump in this namespace (an ApplicationDump with spec.objects)'],
    ]);
    expect(rows[0]).toMatchObject({ lastBackup: '2026-12-05T02:00:00Z', nextRun: '2026-12-06T02:00:00.000Z' });
  });

  it('prefers a scheduled dump, says when one runs only when asked, and ignores one that does not parse', () => {
    const rows = objectsCoverage({
      namespaces: [ns('shop'), ns('lab')],
      dumps: [
        dump('shop', 'manual', {}, '2026-12-05T09:00:00Z'),
        dump('shop', 'nightly', { schedule: daily }),
        dump('lab', 'paused', { schedule: daily, suspend: true }),
        dump('lab', 'broken', { objects: {}, command: ['x'] }),
      ],
      cluster: false,
      now,
    });
    expect(rows.map((r) => r.reason)).toEqual([
      'objects stored by ApplicationDump shop/nightly (on its schedule)',
      'objects stored by ApplicationDump lab/paused (suspended: only when asked)',
    ]);
  });

  it('adds the cluster-scoped objects: protected by a Cluster-scope dump, else UNPROTECTED', () => {
    const none = objectsCoverage({ namespaces: [], dumps: [dump('shop', 'objects', {})], cluster: true, now });
    expect(none).toEqual([
      expect.objectContaining({ scope: 'Cluster', state: 'unprotected' }),
      expect.objectContaining({ scope: 'Etcd', state: 'unprotected' }),
    ]);
    const some = objectsCoverage({
      namespaces: [],
      dumps: [dump('safehold', 'cluster', { objects: { scope: 'Cluster' } }, '2026-12-04T00:00:00Z')],
      cluster: true,
      now,
    });
    expect(some).toEqual([
      expect.objectContaining({
        scope: 'Cluster',
        namespace: 'safehold',
        state: 'protected',
        dump: 'safehold/cluster',
        reason: 'cluster-scoped objects stored by ApplicationDump safehold/cluster (no schedule: only when asked)',
      }),
      // etcd is the cluster's too: its row is in etcd-coverage.test.ts.
      expect.objectContaining({ scope: 'Etcd' }),
    ]);
  });

  it('says for each Flux GitRepository whether a Git dump of its URL mirrors it, and lists the other Git dumps', () => {
    const rows = objectsCoverage({
      namespaces: [],
      dumps: [
        dump('flux-system', 'safehold-git-infra', {
          objects: undefined,
          git: { url: 'https://git/infra.git' },
          schedule: daily,
        }),
        dump('safehold', 'safehold-git-extra', { objects: undefined, git: { url: 'https://git/extra.git' } }),
      ],
      gitRepositories: [
        { namespace: 'flux-system', name: 'infra', url: 'https://git/infra.git' },
        { namespace: 'apps', name: 'podinfo', url: 'https://git/podinfo.git' },
      ],
      cluster: false,
      now,
    });
    expect(rows.map((r) => [r.scope, r.namespace, r.name, r.state, r.reason])).toEqual([
      [
        'Git',
        'flux-system',
        'infra',
        'protected',
        'mirrored by ApplicationDump flux-system/safehold-git-infra (on its schedule)',
      ],
      [
        'Git',
        'apps',
        'podinfo',
        'unprotected',
        'no Git dump of this URL (an ApplicationDump with spec.git, or a policy with spec.git)',
      ],
      [
        'Git',
        'safehold',
        'safehold-git-extra',
        'protected',
        'mirrored by ApplicationDump safehold/safehold-git-extra (no schedule: only when asked)',
      ],
    ]);
  });

  it('says for each bucket found whether its bucket dump stores it, is excluded, or why it is not covered', () => {
    const endpoint = 'http://rgw:80';
    const bucketDump = (name: string, bucket: string, last?: string) =>
      dump(
        'safehold',
        name,
        { objects: undefined, bucket: { name: bucket, endpoint, secretRef: { name: 'reader' } }, schedule: daily },
        last,
      );
    const rows = objectsCoverage({
      namespaces: [],
      dumps: [bucketDump('safehold-bucket-photos', 'photos', '2026-12-05T02:00:00Z'), bucketDump('extra', 'elsewhere')],
      cluster: false,
      buckets: {
        endpoint,
        items: [
          { name: 'photos', owner: 'alice', state: 'Covered' },
          { name: 'fresh', owner: 'alice', state: 'Covered' },
          { name: 'scratch', state: 'Excluded', reason: 'listed in the policy’s spec.buckets.exclude' },
          {
            name: 'locked',
            owner: 'bob',
            claim: 'shop/locked',
            state: 'Uncovered',
            reason: 'the bucket refused the read grant in its policy: AccessDenied',
          },
        ],
      },
      now,
    });
    expect(rows.map((r) => [r.scope, r.name, r.namespace, r.state, r.reason])).toEqual([
      [
        'Bucket',
        'photos',
        undefined,
        'protected',
        'stored by ApplicationDump safehold/safehold-bucket-photos (on its schedule)',
      ],
      ['Bucket', 'fresh', undefined, 'unprotected', 'read grant in place; its bucket dump is not made yet'],
      ['Bucket', 'scratch', undefined, 'excluded', 'listed in the policy’s spec.buckets.exclude'],
      [
        'Bucket',
        'locked',
        'shop/locked',
        'unprotected',
        'the bucket refused the read grant in its policy: AccessDenied',
      ],
      ['Bucket', 'elsewhere', 'safehold', 'protected', 'stored by ApplicationDump safehold/extra (on its schedule)'],
    ]);
    expect(rows[0]?.lastBackup).toBe('2026-12-05T02:00:00Z');
  });

  it('says why no bucket is known when the object store could not be read', () => {
    const rows = objectsCoverage({
      namespaces: [],
      dumps: [],
      cluster: false,
      buckets: { endpoint: 'http://rgw:80', error: 'could not list the buckets: AccessDenied' },
      now,
    });
    expect(rows).toMatchObject([{ scope: 'Bucket', name: '*', state: 'unprotected' }]);
    expect(rows[0]?.reason).toContain('AccessDenied');
  });
});
