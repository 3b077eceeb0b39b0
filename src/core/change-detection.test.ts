import { describe, expect, it } from 'vitest';
import { changeDetectionFor } from './change-detection.ts';

describe('changeDetectionFor', () => {
  const policy = { name: 'nightly', changeDetection: 'full' as const };

  it.each([
    ['live', undefined, 'the live volume keeps inode numbers'],
    ['cephfs-snapshot', 'cephfs.csi.ceph.com', 'a CephFS snapshot keeps inode numbers'],
    ['snapshot', 'rbd.csi.ceph.com', 'an RBD clone is a block-level copy'],
    ['snapshot', 'cephfs.csi.ceph.com', "a CephFS snapshot's clone is a copy"],
    ['snapshot', 'hostpath.csi.k8s.io', 'may be a copy'],
  ] as const)('is full for %s on %s, saying why', (method, driver, why) => {
    const decided = changeDetectionFor({ policy, method, driver });
    expect(decided.mode).toBe('full');
    expect(decided.reason).toContain(why);
  });

  it('is size and mtime only when the policy asks, whatever the method', () => {
    for (const method of ['live', 'snapshot', 'cephfs-snapshot'] as const)
      expect(
        changeDetectionFor({ policy: { name: 'cheap', changeDetection: 'mtime-size' }, method, driver: undefined }),
      ).toMatchObject({ mode: 'mtime-size', reason: expect.stringContaining('BackupPolicy cheap') as string });
  });

  it('is full for a run no policy applies to', () => {
    expect(changeDetectionFor({ policy: undefined, method: 'snapshot', driver: undefined }).mode).toBe('full');
  });
});
