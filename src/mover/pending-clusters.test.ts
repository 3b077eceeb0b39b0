import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingClusters } from './pending-clusters.ts';

/** Takes everything, one cluster per entry. */
function drain(pending: PendingClusters, max: number): [number, number][] {
  const out: [number, number][] = [];
  while (!pending.empty) {
    const { host, guest, count } = pending.take(max, Infinity);
    for (let i = 0; i < count; i++) out.push([host + i, guest + i]);
  }
  return out;
}

describe('PendingClusters', () => {
  it('keeps consecutive clusters as one run and stops a take before the limit', () => {
    const pending = new PendingClusters();
    for (let i = 0; i < 100; i++) expect(pending.add(1000 + i, 7 + i)).toBe(true);
    expect(pending.take(64, Infinity)).toEqual({ host: 1000, guest: 7, count: 64 });
    expect(pending.take(64, 1080)).toEqual({ host: 1064, guest: 71, count: 16 }); // an L2 table at 1080 next
    expect(pending.take(64, Infinity)).toEqual({ host: 1080, guest: 87, count: 20 });
    expect(pending.empty).toBe(true);
    pending.add(10, 0);
    pending.add(11, 1);
    expect(pending.take(64, 11)).toEqual({ host: 10, guest: 0, count: 1 });
    expect(pending.firstHost()).toBe(11);
  });

  it('refuses a host cluster queued twice', () => {
    const pending = new PendingClusters();
    pending.add(5, 0);
    pending.add(6, 1);
    pending.add(9, 2);
    expect(pending.add(6, 3)).toBe(false);
    expect(pending.add(9, 4)).toBe(false);
    expect(pending.add(7, 4)).toBe(true);
  });

  it('yields any order of additions in host order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(5000), { maxLength: 700 }), fc.integer({ min: 1, max: 70 }), (hosts, max) => {
        const pending = new PendingClusters();
        hosts.forEach((host, guest) => expect(pending.add(host, guest)).toBe(true));
        const expected = hosts.map((host, guest): [number, number] => [host, guest]).sort((a, b) => a[0] - b[0]);
        expect(drain(pending, max)).toEqual(expected);
      }),
    );
  });
});
