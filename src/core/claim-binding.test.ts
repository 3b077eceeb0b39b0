import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { describe, expect, it } from 'vitest';
import { unboundClaim } from './claim-binding.ts';

const classes = new Map<string, StorageClass>([
  ['fast', { metadata: { name: 'fast' }, provisioner: 'csi.example', volumeBindingMode: 'Immediate' }],
  ['local', { metadata: { name: 'local' }, provisioner: 'csi.example', volumeBindingMode: 'WaitForFirstConsumer' }],
]);

const claim = (
  phase: string | undefined,
  spec: PersistentVolumeClaim['spec'],
  annotations: Record<string, string> = {},
): PersistentVolumeClaim => ({
  metadata: { namespace: 'team', name: 'data', annotations },
  spec,
  ...(phase === undefined ? {} : { status: { phase } }),
});

describe('unboundClaim', () => {
  it('has nothing to say of a bound claim', () => {
    expect(unboundClaim(claim('Bound', { storageClassName: 'missing', volumeName: 'pv-1' }), classes)).toBeUndefined();
  });

  it.each<[string, PersistentVolumeClaim, string, RegExp]>([
    [
      'a class that does not exist',
      claim('Pending', { storageClassName: 'gone' }),
      'StorageClassMissing',
      /StorageClass gone does not exist/,
    ],
    [
      'no class and no default',
      claim('Pending', {}),
      'StorageClassMissing',
      /names no StorageClass and none is the default/,
    ],
    [
      'a first-consumer class no Pod uses yet',
      claim('Pending', { storageClassName: 'local' }),
      'WaitingForFirstConsumer',
      /StorageClass local binds a volume only for its first consumer, and no Pod uses the PVC yet/,
    ],
    [
      'a first-consumer class whose node is picked',
      claim('Pending', { storageClassName: 'local' }, { 'volume.kubernetes.io/selected-node': 'node-1' }),
      'Pending',
      /waiting for a volume to be provisioned \(StorageClass local\)/,
    ],
    ['a class that provisions slowly', claim('Pending', { storageClassName: 'fast' }), 'Pending', /provisioned/],
    ['no status yet', claim(undefined, { storageClassName: 'fast' }), 'Pending', /provisioned/],
    [
      'a static claim waiting for its PV',
      claim('Pending', { storageClassName: '', volumeName: 'pv-9' }),
      'Pending',
      /PV pv-9 to bind/,
    ],
    [
      'a claim that lost its PV',
      claim('Lost', { storageClassName: 'fast', volumeName: 'pv-1' }),
      'Lost',
      /lost its PV pv-1/,
    ],
  ])('says why of %s', (_, pvc, cause, reason) => {
    const unbound = unboundClaim(pvc, classes);
    expect(unbound?.cause).toBe(cause);
    expect(unbound?.reason).toMatch(reason);
  });

  it('never calls a class missing when the classes could not be read', () => {
    expect(unboundClaim(claim('Pending', { storageClassName: 'gone' }), undefined)?.cause).toBe('Pending');
  });
});
