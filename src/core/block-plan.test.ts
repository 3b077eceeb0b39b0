import { describe, expect, it } from 'vitest';
import { planBlockExtents, rbdImageOf, rbdSnapshotName } from './block-plan.ts';

describe('rbdSnapshotName', () => {
  it.each([
    [
      '0001-0009-rook-ceph-0000000000000001-8f1d0e6a-6b2c-4f5e-9a7d-1c2b3d4e5f60',
      'csi-snap-8f1d0e6a-6b2c-4f5e-9a7d-1c2b3d4e5f60',
    ],
    [
      '0001-0009-test-ceph-0000000000000002-00000000-0000-0000-0000-000000000abc',
      'csi-snap-00000000-0000-0000-0000-000000000abc',
    ],
    ['pool/image@snap', undefined],
    ['', undefined],
  ])('%s', (handle, name) => expect(rbdSnapshotName(handle)).toBe(name));
});

describe('rbdImageOf', () => {
  const pv = (driver: string, attributes: Record<string, string>) => ({
    spec: { csi: { driver, volumeHandle: 'h', volumeAttributes: attributes } },
  });
  it('reads pool, image, rados namespace and clusterID from a ceph-csi RBD PV', () => {
    expect(
      rbdImageOf(pv('rbd.csi.ceph.com', { pool: 'rbd', imageName: 'csi-vol-1', radosNamespace: 'ns', clusterID: 'c' })),
    ).toEqual({ pool: 'rbd', image: 'csi-vol-1', radosNamespace: 'ns', clusterID: 'c' });
  });
  it.each([
    ['another driver', pv('cephfs.csi.ceph.com', { pool: 'rbd', imageName: 'x' })],
    ['no image name', pv('rbd.csi.ceph.com', { pool: 'rbd' })],
    ['no CSI source', { spec: {} }],
  ])('is nothing for %s', (_, volume) => expect(rbdImageOf(volume)).toBeUndefined());
});

describe('planBlockExtents', () => {
  const rbd = { pool: 'rbd', image: 'csi-vol-1', clusterID: 'test-ceph' };
  const ceph = { monitors: ['127.0.0.1:6789'], user: 'safehold' };
  const handle = '0001-0009-test-ceph-0000000000000002-00000000-0000-0000-0000-000000000abc';
  const facts = { method: 'snapshot', rbd, ceph, snapshotHandle: handle, incremental: undefined };

  it('reads a CSI snapshot of an RBD volume with rbd diff', () => {
    expect(planBlockExtents(facts)).toEqual({
      extents: {
        source: 'rbd-diff',
        ceph,
        snapshot: { pool: 'rbd', image: 'csi-vol-1', snapshot: 'csi-snap-00000000-0000-0000-0000-000000000abc' },
      },
    });
  });

  it.each([
    ['a live volume', { method: 'live' }],
    ['a volume that is not RBD', { rbd: undefined }],
    ['a repository without Ceph access', { ceph: undefined }],
    ['a repository for another Ceph cluster', { ceph: { ...ceph, clusterID: 'other' } }],
    ['a snapshot whose handle names no RBD snapshot', { snapshotHandle: 'pool/image@snap' }],
    ['a snapshot not bound yet', { snapshotHandle: undefined }],
  ])('zero-scans %s', (_what, change) => {
    expect(planBlockExtents({ ...facts, ...change })).toEqual({ extents: { source: 'zero-scan' } });
  });

  it('writes a full image, saying why, when there is no base to overlay', () => {
    const incremental = {
      backups: [],
      snapshotsKept: new Set<string>(),
      maxChainLength: 7,
      droppedByRetention: new Set<string>(),
    };
    expect(planBlockExtents({ ...facts, incremental })).toMatchObject({ extents: { source: 'rbd-diff' } });
  });
});
