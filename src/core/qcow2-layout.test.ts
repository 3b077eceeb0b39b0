// The layout's numbers and bytes, read back by a small independent parser of
// the qcow2 fields (qemu-img judges real images in src/mover/qcow2-writer.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterMap, type ClusterRun } from './cluster-map.ts';
import { planQcow2, qcow2Metadata, type Qcow2Layout } from './qcow2-layout.ts';

const cs = 65536;
const GiB = 2 ** 30;

function metadata(layout: Qcow2Layout): Buffer {
  return Buffer.concat([...qcow2Metadata(layout)]);
}

const u64 = (b: Buffer, at: number) => b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);
const copied = 0x80000000;

/** An L1 or L2 entry's offset, checking that bit 63 (refcount exactly one) is set. */
function copiedOffset(b: Buffer, at: number): number {
  expect(b.readUInt32BE(at) >= copied).toBe(true);
  return u64(b, at) - copied * 2 ** 32;
}

/** What the metadata says each listed guest cluster is: a host offset, or 'zero'. */
function decode(meta: Buffer): { size: number; mapped: Map<number, number | 'zero'> } {
  const size = u64(meta, 24);
  const l1Size = meta.readUInt32BE(36);
  const l1 = u64(meta, 40);
  const mapped = new Map<number, number | 'zero'>();
  for (let j = 0; j < l1Size; j++) {
    if (u64(meta, l1 + j * 8) === 0) continue;
    const l2 = copiedOffset(meta, l1 + j * 8);
    for (let i = 0; i < cs / 8; i++) {
      const at = l2 + i * 8;
      if (meta.readUInt32BE(at) === 0 && meta.readUInt32BE(at + 4) === 1) mapped.set(j * (cs / 8) + i, 'zero');
      else if (u64(meta, at) !== 0) mapped.set(j * (cs / 8) + i, copiedOffset(meta, at));
    }
  }
  return { size, mapped };
}

/** The refcount of each host cluster the refcount blocks cover. */
function refcountsOf(meta: Buffer): Uint16Array {
  const table = u64(meta, 48);
  const blocks: number[] = [];
  for (let k = 0; k < (meta.readUInt32BE(56) * cs) / 8 && u64(meta, table + k * 8) !== 0; k++) {
    blocks.push(u64(meta, table + k * 8));
  }
  const counts = new Uint16Array((blocks.length * cs) / 2);
  blocks.forEach((block, k) => {
    for (let i = 0; i < cs / 2; i++) counts[(k * cs) / 2 + i] = meta.readUInt16BE(block + i * 2);
  });
  return counts;
}

/** Whether exactly the first `hostClusters` host clusters have refcount 1, and the rest 0. */
function countsEachOnce(meta: Buffer, hostClusters: number): boolean {
  const counts = refcountsOf(meta);
  return counts.length >= hostClusters && counts.every((r, i) => r === (i < hostClusters ? 1 : 0));
}

describe('planQcow2', () => {
  it('lays out an empty 1 GiB image as header, L1, refcount table and block', () => {
    const layout = planQcow2({ virtualSize: GiB, clusters: [] });
    expect(layout).toMatchObject({
      l1Entries: 2,
      l1Offset: cs,
      refcountTableOffset: 2 * cs,
      refcountBlocksOffset: 3 * cs,
      refcountBlocks: 1,
      l2Offset: 4 * cs,
      l2Tables: 0,
      dataOffset: 4 * cs,
      fileSize: 4 * cs,
    });
    const meta = metadata(layout);
    expect(meta.length).toBe(4 * cs);
    expect(meta.subarray(0, 8).toString('hex')).toBe('514649fb00000003');
    expect(meta.readUInt32BE(20)).toBe(16); // cluster_bits
    expect(meta.readUInt32BE(96)).toBe(4); // refcount_order
    expect(meta.readUInt32BE(100)).toBe(104); // header_length
    expect(countsEachOnce(meta, 4)).toBe(true);
  });

  it('has no L1 table for a zero-sized image, as QEMU makes it', () => {
    const layout = planQcow2({ virtualSize: 0, clusters: [] });
    expect(layout).toMatchObject({ l1Entries: 0, l1Offset: 0, fileSize: 3 * cs });
  });

  it('writes the backing file format extension, then the end of extensions, then the name', () => {
    const meta = metadata(planQcow2({ virtualSize: GiB, clusters: [], backingFile: 'base.qcow2' }));
    expect(meta.readUInt32BE(104).toString(16)).toBe('e2792aca');
    expect(meta.readUInt32BE(108)).toBe(5);
    expect(meta.toString('latin1', 112, 117)).toBe('qcow2');
    expect(meta.readBigUInt64BE(120)).toBe(0n);
    expect(u64(meta, 8)).toBe(128);
    expect(meta.readUInt32BE(16)).toBe(10);
    expect(meta.toString('utf8', 128, 138)).toBe('base.qcow2');
  });

  it.each([
    [{ virtualSize: 1000, clusters: [] }, /multiple of 512/],
    [{ virtualSize: -512, clusters: [] }, /virtual size must be/],
    [{ virtualSize: GiB, clusters: [], backingFile: '' }, /backing file name/],
    [{ virtualSize: GiB, clusters: [], backingFile: 'x'.repeat(1024) }, /backing file name/],
    [{ virtualSize: cs, clusters: [{ start: 0, count: 2, kind: 'data' as const }] }, /past the end/],
    [{ virtualSize: 2 * cs, clusters: new ClusterMap(3) }, /cluster map has 3 clusters, the volume 2/],
  ])('refuses %j', (plan, message) => {
    expect(() => planQcow2(plan)).toThrow(message);
  });

  it('counts every host cluster once when the refcount blocks tip over a block boundary', () => {
    // 32768 refcounts per block: around there, one more data cluster can need one more refcount block.
    const tipped: number[] = [];
    for (let dataClusters = 32_755; dataClusters < 32_765; dataClusters++) {
      const layout = planQcow2({ virtualSize: 4 * GiB, clusters: [{ start: 0, count: dataClusters, kind: 'data' }] });
      const hostClusters = layout.fileSize / cs;
      expect(hostClusters).toBe(1 + 1 + 1 + layout.refcountBlocks + layout.l2Tables + dataClusters);
      expect(layout.refcountBlocks).toBe(Math.ceil(hostClusters / 32768));
      if (layout.refcountBlocks === 2) tipped.push(dataClusters);
      expect(countsEachOnce(metadata(layout), hostClusters)).toBe(true);
    }
    // 32760 data clusters + 4 L2 tables + header, L1, refcount table and one block fill 32768 exactly.
    expect(tipped[0]).toBe(32_761);
  });

  it('plans a fully allocated 2 TiB volume without metadata in memory', () => {
    const clusters = 2 ** 41 / cs;
    const layout = planQcow2({ virtualSize: 2 ** 41, clusters: [{ start: 0, count: clusters, kind: 'data' }] });
    expect(layout).toMatchObject({ l1Entries: 4096, l2Tables: 4096, refcountBlocks: 1025, refcountTableClusters: 1 });
    expect(layout.fileSize / cs).toBe(1 + 1 + 1 + 1025 + 4096 + clusters);
  });

  it('maps every listed cluster, data in guest order after the metadata, and counts every host cluster', () => {
    const runs = fc
      .array(fc.record({ gap: fc.nat(12_000), count: fc.integer({ min: 1, max: 3000 }), zero: fc.boolean() }), {
        maxLength: 8,
      })
      .map((list) => {
        let at = 0;
        return list.map(({ gap, count, zero }): ClusterRun => {
          const run: ClusterRun = { start: at + gap, count, kind: zero ? 'zero' : 'data' };
          at = run.start + count;
          return run;
        });
      });
    fc.assert(
      fc.property(runs, fc.integer({ min: 1, max: 512 }), fc.boolean(), (list, tail, asMap) => {
        const end = list.at(-1) === undefined ? 0 : (list.at(-1)?.start ?? 0) + (list.at(-1)?.count ?? 0);
        const virtualSize = end * cs + tail * 512;
        const clusterCount = Math.ceil(virtualSize / cs);
        const layout = planQcow2({
          virtualSize,
          clusters: asMap ? ClusterMap.fromRuns(list, clusterCount) : list,
          backingFile: 'base.qcow2',
        });
        const meta = metadata(layout);
        expect(meta.length).toBe(layout.dataOffset);
        const { size, mapped } = decode(meta);
        expect(size).toBe(virtualSize);
        const expected = new Map<number, number | 'zero'>();
        let nextData = layout.dataOffset;
        for (const run of list) {
          for (let c = run.start; c < run.start + run.count; c++) {
            expected.set(c, run.kind === 'zero' ? 'zero' : nextData);
            if (run.kind === 'data') nextData += cs;
          }
        }
        expect(mapped).toEqual(expected);
        expect(nextData).toBe(layout.fileSize);
        expect(countsEachOnce(meta, layout.fileSize / cs)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });
});
