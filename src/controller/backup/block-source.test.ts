import { describe, expect, it } from 'vitest';
import { rbdImageOf, rbdSnapshotName } from './block-source.ts';

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
