import { describe, expect, it } from 'vitest';
import { applicationDumpSpec, backupPolicySpec, type BackupPolicy, type PolicyBucketsStatus } from '../api/index.ts';
import { bucketDumpName, bucketExclusion, bucketsPolicy, policyBucketDumps } from './bucket-coverage.ts';

const policy = (name: string, spec: object): BackupPolicy => ({
  metadata: { name },
  spec: backupPolicySpec.parse({ repository: { name: 'main' }, ...spec }),
});
const buckets = {
  endpoint: 'http://rgw.store:80',
  adminSecretRef: { name: 'rgw-admin' },
  readerSecretRef: { name: 'rgw-reader' },
};

describe('bucketsPolicy', () => {
  it('is the policy of highest priority, then name, with spec.buckets', () => {
    const low = policy('low', { default: true, buckets });
    const high = policy('high', { default: true, priority: 900, buckets });
    const none = policy('none', { default: true, priority: 1000 });
    expect(bucketsPolicy([low, none, high])?.metadata.name).toBe('high');
    expect(bucketsPolicy([none])).toBeUndefined();
  });
});

describe('bucketDumpName', () => {
  it.each([
    ['photos', 'safehold-bucket-photos'],
    ['a'.repeat(47), `safehold-bucket-${'a'.repeat(47)}`],
  ])('names the dump of %s plainly when it fits', (bucket, name) => expect(bucketDumpName(bucket)).toBe(name));

  it('gives names with dots or too long a DNS label of their own, never one another’s', () => {
    const names = ['my.photos', 'my-photos', 'a'.repeat(63), `${'a'.repeat(62)}b`].map(bucketDumpName);
    for (const name of names) expect(name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('bucketExclusion', () => {
  const claim = { namespace: 'shop', name: 'images', bucket: 'images-1', excluded: true };
  const chosen = { exclude: ['scratch'], owners: ['alice', 'obc-user'] };
  it.each([
    ['listed in the policy', 'scratch', 'alice', undefined, 'spec.buckets.exclude'],
    ['of another owner', 'photos', 'bob', undefined, 'its owner bob is not among the policy’s spec.buckets.owners'],
    ['of no owner', 'photos', undefined, undefined, 'its owner (none)'],
    ['of a claim that opts out', 'images-1', 'obc-user', claim, 'ObjectBucketClaim shop/images'],
    ['of a claim that does not', 'images-1', 'obc-user', { ...claim, excluded: false }, undefined],
    ['neither', 'photos', 'alice', undefined, undefined],
  ])('a bucket %s', (_, name, owner, c, reason) => {
    const said = bucketExclusion({ name, owner }, chosen, c);
    if (reason === undefined) expect(said).toBeUndefined();
    else expect(said).toContain(reason);
  });
});

describe('policyBucketDumps', () => {
  const keeper = policy('store', {
    default: true,
    schedule: { cron: '0 2 * * *' },
    buckets: { ...buckets, schedule: { cron: '0 * * * *' } },
  });
  const found: PolicyBucketsStatus = {
    endpoint: buckets.endpoint,
    items: [
      { name: 'photos', owner: 'alice', state: 'Covered' },
      { name: 'scratch', state: 'Excluded', reason: 'listed' },
      { name: 'locked', owner: 'bob', state: 'Uncovered', reason: 'AccessDenied' },
    ],
  };

  it('keeps one dump per covered bucket, in Safehold’s namespace, with the reader’s Secret and the buckets’ schedule', () => {
    const desired = policyBucketDumps({ policies: [keeper], found, operatorNamespace: 'safehold' });
    expect(desired.map((d) => [d.namespace, d.name, d.policy])).toEqual([
      ['safehold', 'safehold-bucket-photos', 'store'],
    ]);
    expect(desired[0]?.spec).toMatchObject({
      bucket: { name: 'photos', endpoint: buckets.endpoint, region: 'us-east-1', secretRef: { name: 'rgw-reader' } },
      schedule: { cron: '0 * * * *' },
      repository: 'main',
    });
    expect(applicationDumpSpec.safeParse(desired[0]?.spec).success).toBe(true);
  });

  it('keeps none from a discovery of another endpoint, or without a policy', () => {
    expect(
      policyBucketDumps({ policies: [keeper], found: { ...found, endpoint: 'http://old:80' }, operatorNamespace: 's' }),
    ).toEqual([]);
    expect(policyBucketDumps({ policies: [], found, operatorNamespace: 's' })).toEqual([]);
    expect(policyBucketDumps({ policies: [keeper], found: undefined, operatorNamespace: 's' })).toEqual([]);
  });
});
