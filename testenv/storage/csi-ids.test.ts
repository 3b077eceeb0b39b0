import { describe, expect, it } from 'vitest';
import { composeCsiId, csiUuid, parseCsiId, uuidFor } from './csi-ids.ts';

describe('ceph-csi ids', () => {
  it('composes and parses the shape ceph-csi writes', () => {
    const uuid = uuidFor('pvc-1');
    const id = composeCsiId({ clusterID: 'test-ceph', locationId: 2, uuid });
    expect(id).toBe(`0001-0009-test-ceph-0000000000000002-${uuid}`);
    expect(parseCsiId(id)).toEqual({ clusterID: 'test-ceph', locationId: 2, uuid });
    expect(csiUuid(id, 'handle')).toBe(uuid);
  });

  it('keeps a cluster id with dashes whole and refuses other shapes', () => {
    const uuid = uuidFor('x');
    expect(parseCsiId(`0001-000b-a-b-cluster-00000000000000ff-${uuid}`)).toEqual({
      clusterID: 'a-b-cluster',
      locationId: 255,
      uuid,
    });
    expect(parseCsiId('static-pv')).toBeUndefined();
    expect(() => csiUuid('static-pv', 'CephFS volume handle')).toThrow(/CephFS volume handle "static-pv"/);
  });

  it('derives one RFC 4122 shaped uuid per name', () => {
    expect(uuidFor('pvc-1')).toBe(uuidFor('pvc-1'));
    expect(uuidFor('pvc-1')).not.toBe(uuidFor('pvc-2'));
    expect(uuidFor('pvc-1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
