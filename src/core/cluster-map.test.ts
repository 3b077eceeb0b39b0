// ClusterMap and clusterRuns against per-cluster and per-byte models.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterMap, clusterRuns, type ByteExtent, type ClusterKind, type ClusterRun } from './cluster-map.ts';

/** Runs expanded to one entry per cluster (undefined: unlisted). */
function expand(runs: Iterable<ClusterRun>, clusterCount: number): (ClusterKind | undefined)[] {
  const kinds = new Array<ClusterKind | undefined>(clusterCount).fill(undefined);
  for (const run of runs) for (let c = run.start; c < run.start + run.count; c++) kinds[c] = run.kind;
  return kinds;
}

const kind = fc.constantFrom<ClusterKind>('data', 'zero');

describe('ClusterMap', () => {
  it('keeps what was marked last and reports maximal runs', () => {
    const map = new ClusterMap(20);
    map.mark(0, 3, 'data');
    map.mark(3, 9, 'zero');
    map.mark(5, 2, 'data');
    map.mark(19, 1, 'data');
    expect([...map.runs()]).toEqual([
      { start: 0, count: 3, kind: 'data' },
      { start: 3, count: 2, kind: 'zero' },
      { start: 5, count: 2, kind: 'data' },
      { start: 7, count: 5, kind: 'zero' },
      { start: 19, count: 1, kind: 'data' },
    ]);
    expect(map.kindAt(4)).toBe('zero');
    expect(map.kindAt(12)).toBeUndefined();
  });

  it('refuses runs out of range or out of order', () => {
    expect(() => new ClusterMap(4).mark(3, 2, 'data')).toThrow(/past the end/);
    expect(() => new ClusterMap(4).mark(0, 0, 'data')).toThrow(/count >= 1/);
    const unordered = [
      { start: 2, count: 1, kind: 'data' as const },
      { start: 1, count: 1, kind: 'data' as const },
    ];
    expect(() => ClusterMap.fromRuns(unordered, 4)).toThrow(/increasing order/);
  });

  it('agrees with a per-cluster model for any sequence of marks', () => {
    const marks = fc.array(fc.record({ start: fc.nat(70), count: fc.integer({ min: 1, max: 40 }), kind }), {
      maxLength: 12,
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 111 }), marks, (clusterCount, list) => {
        const map = new ClusterMap(clusterCount);
        const model = new Array<ClusterKind | undefined>(clusterCount).fill(undefined);
        for (const { start, count: wanted, kind: k } of list) {
          const count = Math.min(wanted, clusterCount - start);
          if (count < 1) continue;
          map.mark(start, count, k);
          model.fill(k, start, start + count);
        }
        const runs = [...map.runs()];
        expect(expand(runs, clusterCount)).toEqual(model);
        runs.forEach((run, i) => {
          const next = runs[i + 1];
          if (next !== undefined) expect(next.start > run.start + run.count || next.kind !== run.kind).toBe(true);
        });
      }),
    );
  });
});

describe('clusterRuns', () => {
  const cs = 65536;
  it('widens extents to whole clusters, data winning, and merges', () => {
    const extents: ByteExtent[] = [
      { offset: 0, length: 4 * cs, kind: 'data' },
      { offset: 4 * cs, length: 100, kind: 'data' }, // part of cluster 4: all of it is data
      { offset: 6 * cs + 10, length: 3 * cs, kind: 'zero' }, // clusters 6 and 9 in part, 7 and 8 whole
      { offset: 12 * cs, length: cs, kind: 'zero' },
      { offset: 12 * cs + 5, length: 1, kind: 'data' },
    ];
    expect(clusterRuns(extents, cs, 20 * cs)).toEqual([
      { start: 0, count: 5, kind: 'data' },
      { start: 6, count: 1, kind: 'data' },
      { start: 7, count: 2, kind: 'zero' },
      { start: 9, count: 1, kind: 'data' },
      { start: 12, count: 1, kind: 'data' },
    ]);
  });

  it('counts a zero extent reaching the end as covering the partial last cluster', () => {
    const size = 3 * cs + 4096;
    expect(clusterRuns([{ offset: 2 * cs, length: cs + 4096, kind: 'zero' }], cs, size)).toEqual([
      { start: 2, count: 2, kind: 'zero' },
    ]);
  });

  it('joins zero extents that together cover a cluster', () => {
    const halves: ByteExtent[] = [
      { offset: cs / 2, length: cs / 2, kind: 'zero' },
      { offset: 0, length: cs / 2, kind: 'zero' },
    ];
    expect(clusterRuns(halves, cs, 2 * cs)).toEqual([{ start: 0, count: 1, kind: 'zero' }]);
  });

  it('refuses extents past the volume', () => {
    expect(() => clusterRuns([{ offset: cs, length: cs + 1, kind: 'data' }], cs, 2 * cs)).toThrow(/outside/);
  });

  it('agrees with a per-byte model', () => {
    const extent = fc.record({ offset: fc.nat(199), length: fc.nat(60), kind });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 16 }),
        fc.array(extent),
        (size, clusterSize, raw) => {
          const extents = raw
            .filter((e) => e.offset < size)
            .map((e) => ({ ...e, length: Math.min(e.length, size - e.offset) }));
          const data = new Array<boolean>(size).fill(false);
          const zero = new Array<boolean>(size).fill(false);
          for (const e of extents) (e.kind === 'data' ? data : zero).fill(true, e.offset, e.offset + e.length);
          const clusterCount = Math.ceil(size / clusterSize);
          const model: (ClusterKind | undefined)[] = [];
          for (let c = 0; c < clusterCount; c++) {
            const bytes = [...Array(Math.min(clusterSize, size - c * clusterSize)).keys()].map(
              (i) => c * clusterSize + i,
            );
            if (bytes.some((b) => data[b] === true)) model.push('data');
            else if (bytes.every((b) => zero[b] === true)) model.push('zero');
            else if (bytes.some((b) => zero[b] === true)) model.push('data');
            else model.push(undefined);
          }
          const runs = clusterRuns(extents, clusterSize, size);
          expect(expand(runs, clusterCount)).toEqual(model);
          runs.forEach((run, i) => {
            const next = runs[i + 1];
            if (next !== undefined) expect(next.start > run.start + run.count || next.kind !== run.kind).toBe(true);
          });
        },
      ),
    );
  });
});
