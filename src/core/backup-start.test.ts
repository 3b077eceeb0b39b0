import { describe, expect, it } from 'vitest';
import { backupPolicySpec, type BackupPolicy } from '../api/index.ts';
import { backupBlocker, backupMethod, moverSlotFree, type BackupStartFacts, type SlotFacts } from './backup-start.ts';

const policy: BackupPolicy = { metadata: { name: 'nightly' }, spec: backupPolicySpec.parse({ default: true }) };
const facts: BackupStartFacts = {
  namespace: 'team',
  pvc: 'data',
  invalidSpec: undefined,
  claim: { bound: true },
  volume: { name: 'pv-1', driver: 'dir.csi.example', cephfs: false },
  decision: { state: 'protected', policy: 'nightly', rule: 'default-policy', reason: 'the default policy' },
  requestedPolicy: undefined,
  policyName: 'nightly',
  policy,
  repository: 's3',
};

describe('backupBlocker', () => {
  it('lets a run with everything in place start', () => {
    expect(backupBlocker(facts)).toBeUndefined();
  });

  it.each<[string, Partial<BackupStartFacts>, string, string]>([
    ['an invalid spec', { invalidSpec: 'spec.pvc: required' }, 'InvalidSpec', 'spec.pvc: required'],
    ['a missing PVC', { claim: undefined }, 'ClaimNotFound', 'PVC team/data does not exist'],
    ['no policy', { policy: undefined, policyName: undefined }, 'NotProtected', 'no policy protects team/data'],
    ['a policy that is gone', { policy: undefined }, 'NotProtected', 'BackupPolicy nightly does not exist'],
    ['no repository', { repository: undefined }, 'RepositoryNotFound', 'names no usable BackupRepository'],
  ])('blocks %s, saying so', (_what, change, reason, message) => {
    const blocker = backupBlocker({ ...facts, ...change });
    expect(blocker?.reason).toBe(reason);
    expect(blocker?.message).toContain(message);
    expect(blocker?.final).toBeUndefined();
  });

  it('waits (no blocker) for a claim to be bound and for its coverage decision', () => {
    expect(backupBlocker({ ...facts, claim: { bound: false }, policy: undefined })).toBeUndefined();
    expect(backupBlocker({ ...facts, decision: undefined, policy: undefined })).toBeUndefined();
  });

  it('refuses for good a spec.policy on a volume an admin excluded, but not one its PVC excluded', () => {
    const excluded = (by: 'Namespace' | 'PersistentVolumeClaim') => ({
      ...facts,
      requestedPolicy: 'nightly',
      decision: {
        state: 'excluded' as const,
        by,
        rule: 'namespace-annotation' as const,
        reason: 'safehold.io/backup=false',
      },
    });
    expect(backupBlocker(excluded('Namespace'))).toMatchObject({ reason: 'NotProtected', final: true });
    expect(backupBlocker(excluded('PersistentVolumeClaim'))).toBeUndefined();
  });

  it('refuses cephfs-snapshot for a volume that is not CephFS, naming the PV and its driver', () => {
    const cephfsPolicy = { ...policy, spec: { ...policy.spec, method: 'cephfs-snapshot' as const } };
    expect(backupBlocker({ ...facts, policy: cephfsPolicy })).toMatchObject({
      reason: 'InvalidSpec',
      message: expect.stringContaining('PV pv-1 of team/data is not CephFS (dir.csi.example)') as string,
    });
    expect(
      backupBlocker({ ...facts, policy: cephfsPolicy, volume: { name: 'pv-1', driver: 'x', cephfs: true } }),
    ).toBeUndefined();
  });
});

describe('backupMethod', () => {
  it.each<[BackupPolicy['spec']['method'] | undefined, string | undefined, string]>([
    ['auto', 'rbd.csi.ceph.com', 'snapshot'],
    ['auto', 'other.csi', 'live'],
    [undefined, undefined, 'live'],
    ['live', 'rbd.csi.ceph.com', 'live'],
    ['cephfs-snapshot', 'cephfs.csi.ceph.com', 'cephfs-snapshot'],
  ])('%s with driver %s is %s', (method, driver, expected) => {
    expect(backupMethod(method, driver, ['rbd.csi.ceph.com', 'cephfs.csi.ceph.com'])).toBe(expected);
  });
});

describe('moverSlotFree', () => {
  const slots: SlotFacts = {
    others: [
      { repository: 'a', node: 'n1' },
      { repository: 'b', node: 'n2' },
    ],
    operatorLimit: 3,
    policyLimit: undefined,
    perRepository: undefined,
    perNode: undefined,
    repository: 'a',
    node: 'n1',
  };

  it('is free below every limit', () => expect(moverSlotFree(slots)).toBe(true));
  it('is taken at the global limit', () => expect(moverSlotFree({ ...slots, operatorLimit: 2 })).toBe(false));
  it("is taken at a policy's lower limit", () => expect(moverSlotFree({ ...slots, policyLimit: 2 })).toBe(false));
  it("never exceeds the operator's limit, whatever a policy says", () =>
    expect(moverSlotFree({ ...slots, operatorLimit: 2, policyLimit: 10 })).toBe(false));
  it('is taken at the repository limit', () => expect(moverSlotFree({ ...slots, perRepository: 1 })).toBe(false));
  it('is free at another repository', () =>
    expect(moverSlotFree({ ...slots, perRepository: 1, repository: 'c' })).toBe(true));
  it('is taken at the node limit', () => expect(moverSlotFree({ ...slots, perNode: 1 })).toBe(false));
  it('ignores the node limit for a run not pinned to a node', () =>
    expect(moverSlotFree({ ...slots, perNode: 1, node: undefined })).toBe(true));
});
