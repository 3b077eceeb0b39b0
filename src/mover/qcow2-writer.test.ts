// Our images judged by qemu-img (Debian qemu-utils): `check` finds no leaks or
// corruptions, `compare` finds them identical to the raw file they came from,
// and overlays read through their backing file as the changed raw file.
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRun } from '../core/cluster-map.ts';
import { planQcow2, qcow2ClusterSize as cs } from '../core/qcow2-layout.ts';
import { fileGuestReader, writeQcow2, type GuestReader } from './qcow2-writer.ts';
import { scanNonZero } from './zero-scan.ts';

interface Piece {
  offset: number;
  bytes: Buffer;
}

let dir = '';
let serial = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'safehold-qcow2-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const path = (name: string) => join(dir, `${serial++}-${name}`);

function qemuImg(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('qemu-img', args, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

/** A sparse raw file of `size` bytes holding `pieces`. */
async function makeRaw(file: string, size: number, pieces: readonly Piece[]): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.truncate(size);
    for (const { offset, bytes } of pieces) await handle.write(bytes, 0, bytes.length, offset);
  } finally {
    await handle.close();
  }
}

/** Our image of a raw file: its non-zero clusters (zero scan), or the clusters given. */
async function imageOf(raw: string, img: string, options: { clusters?: ClusterRun[]; backingFile?: string } = {}) {
  const handle = await open(raw, 'r');
  try {
    const size = (await handle.stat()).size;
    const source = fileGuestReader(handle);
    const clusters = options.clusters ?? (await scanNonZero(source, size, cs)).clusters;
    const layout = planQcow2({ virtualSize: size, clusters, backingFile: options.backingFile });
    const out = createWriteStream(img);
    const counts = await writeQcow2(layout, source, out);
    out.end();
    await finished(out);
    return { layout, counts };
  } finally {
    await handle.close();
  }
}

async function expectSameAsRaw(raw: string, img: string, virtualSize: number): Promise<void> {
  const check = await qemuImg('check', '-f', 'qcow2', '--output=json', img);
  expect(check.stderr).toBe('');
  expect(check.code).toBe(0);
  const report = JSON.parse(check.stdout) as Record<string, unknown>;
  expect(report).not.toHaveProperty('leaks');
  expect(report).not.toHaveProperty('corruptions');
  expect(report['check-errors']).toBe(0);
  const compare = await qemuImg('compare', '-f', 'raw', '-F', 'qcow2', raw, img);
  expect(compare.stdout.trim()).toBe('Images are identical.');
  expect(compare.code).toBe(0);
  const info = JSON.parse((await qemuImg('info', '--output=json', img)).stdout) as {
    format: string;
    'virtual-size': number;
    'format-specific': { data: { compat: string } };
  };
  expect(info.format).toBe('qcow2');
  expect(info['format-specific'].data.compat).toBe('1.1');
  expect(info['virtual-size']).toBe(virtualSize);
}

/** Non-zero bytes that differ with the seed: a 251-byte pattern (a prime, so it never lines up with clusters). */
function random(length: number, seed: number): Buffer {
  const pattern = Buffer.from(Array.from({ length: 251 }, (_, i) => (Math.imul(seed + i, 2654435761) >>> 24) | 1));
  return Buffer.alloc(length, pattern);
}

describe('writeQcow2 from a zero scan', () => {
  it.each([
    ['an empty image', 8 * 2 ** 20, []],
    ['a zero-sized image', 0, []],
    ['a fully dense small image', 16 * cs, [{ offset: 0, bytes: random(16 * cs, 1) }]],
    [
      'a size not a multiple of 64 KiB, data in the partial last cluster',
      10 * cs + 4096 + 512,
      [
        { offset: 3 * cs + 17, bytes: random(100, 2) },
        { offset: 10 * cs + 4000, bytes: random(600, 3) },
      ],
    ],
    [
      'unaligned data over cluster and L2 table boundaries',
      512 * 2 ** 20 + 8 * cs,
      [
        { offset: 512 * 2 ** 20 - 10, bytes: random(20, 4) },
        { offset: 512 * 2 ** 20 + 2 * cs - 1, bytes: random(3 * cs + 2, 5) },
      ],
    ],
  ])('%s reads back identical', async (_name, size, pieces) => {
    const raw = path('raw');
    const img = path('img.qcow2');
    await makeRaw(raw, size, pieces);
    const { layout, counts } = await imageOf(raw, img);
    await expectSameAsRaw(raw, img, size);
    expect(counts.bytesWritten).toBe(layout.fileSize);
    expect(counts.dataClusters).toBe(layout.dataClusters);
  });

  it('reads back identical for random sparse files', async () => {
    const piece = fc.record({ offset: fc.nat(40 * cs), length: fc.integer({ min: 1, max: 3 * cs }), seed: fc.nat() });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 48 * 128 }),
        fc.array(piece, { maxLength: 8 }),
        async (sectors, list) => {
          const size = sectors * 512;
          const pieces = list
            .filter((p) => p.offset < size)
            .map((p) => ({ offset: p.offset, bytes: random(Math.min(p.length, size - p.offset), p.seed) }));
          const raw = path('raw');
          const img = path('img.qcow2');
          await makeRaw(raw, size, pieces);
          await imageOf(raw, img);
          await expectSameAsRaw(raw, img, size);
        },
      ),
      { numRuns: 6 },
    );
  });
});

describe('writeQcow2 overlays', () => {
  it('reads back as the changed file through the backing file', async () => {
    const change = fc.record({ cluster: fc.nat(63), zero: fc.boolean(), seed: fc.nat() });
    await fc.assert(
      fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 10 }), async (changes) => {
        const size = 64 * cs - 1024;
        const base: Piece[] = [
          { offset: 0, bytes: random(20 * cs, 7) },
          { offset: 40 * cs + 3, bytes: random(24 * cs - 1027, 8) },
        ];
        const rawA = path('a.raw');
        const rawB = path('b.raw');
        const baseName = `${serial++}-base.qcow2`;
        await makeRaw(rawA, size, base);
        await makeRaw(rawB, size, base);
        const handle = await open(rawB, 'r+');
        const kinds = new Map<number, 'data' | 'zero'>();
        for (const { cluster, zero, seed } of changes) {
          const length = Math.min(cs, size - cluster * cs);
          await handle.write(zero ? Buffer.alloc(length) : random(length, seed), 0, length, cluster * cs);
          kinds.set(cluster, zero ? 'zero' : 'data');
        }
        await handle.close();
        await imageOf(rawA, join(dir, baseName));
        const clusters = [...kinds.entries()]
          .sort(([a], [b]) => a - b)
          .map(([start, kind]): ClusterRun => ({ start, count: 1, kind }));
        const overlay = path('overlay.qcow2');
        await imageOf(rawB, overlay, { clusters, backingFile: baseName });
        await expectSameAsRaw(rawB, overlay, size);
        const info = JSON.parse((await qemuImg('info', '--output=json', overlay)).stdout) as Record<string, unknown>;
        expect(info['backing-filename']).toBe(baseName);
        expect(info['backing-filename-format']).toBe('qcow2');
      }),
      { numRuns: 4 },
    );
  });
});

describe('writeQcow2 reading and writing', () => {
  it('reads only the listed data clusters, at most 4 MiB at a time, and waits for drain', async () => {
    const size = 300 * cs;
    const reads: [number, number][] = [];
    const source: GuestReader = (offset, length, into) => {
      reads.push([offset, length]);
      into.fill(7, 0, length);
      return Promise.resolve();
    };
    const clusters: ClusterRun[] = [
      { start: 1, count: 130, kind: 'data' },
      { start: 131, count: 5, kind: 'zero' },
      { start: 299, count: 1, kind: 'data' },
    ];
    let received = 0;
    let drains = 0;
    const slow = new Writable({
      highWaterMark: cs,
      write(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        setImmediate(done);
      },
    });
    slow.on('drain', () => drains++);
    const layout = planQcow2({ virtualSize: size, clusters });
    const counts = await writeQcow2(layout, source, slow);
    expect(reads).toEqual([
      [cs, 64 * cs],
      [65 * cs, 64 * cs],
      [129 * cs, 2 * cs],
      [299 * cs, cs],
    ]);
    expect(counts).toEqual({ bytesWritten: layout.fileSize, guestBytesRead: 131 * cs, dataClusters: 131 });
    expect(drains).toBeGreaterThan(0);
    slow.end();
    await finished(slow);
    expect(received).toBe(layout.fileSize);
  });

  it('fails when the source fails or the output closes, instead of hanging', async () => {
    const layout = planQcow2({ virtualSize: 200 * cs, clusters: [{ start: 0, count: 200, kind: 'data' }] });
    const failing: GuestReader = (offset) => (offset > 64 * cs ? Promise.reject(new Error('EIO')) : Promise.resolve());
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    await expect(writeQcow2(layout, failing, sink)).rejects.toThrow('EIO');
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    setTimeout(() => stuck.destroy(), 20);
    await expect(writeQcow2(layout, failing, stuck)).rejects.toThrow(/closed/);
    const raw = path('short.raw');
    await makeRaw(raw, 199 * cs + 5, []);
    const handle = await open(raw, 'r');
    await expect(writeQcow2(layout, fileGuestReader(handle), sink)).rejects.toThrow(
      /the source ended at byte 13041669, before byte 13107200 it should hold/,
    );
    await handle.close();
  });
});

describe('scanNonZero', () => {
  it('finds the clusters holding any non-zero byte, across chunk boundaries', async () => {
    const raw = path('scan.raw');
    await makeRaw(raw, 9 * cs + 512, [
      { offset: 0, bytes: Buffer.from([1]) },
      { offset: 4 * cs - 1, bytes: Buffer.from([0, 2]) },
      { offset: 9 * cs + 511, bytes: Buffer.from([3]) },
    ]);
    const handle = await open(raw, 'r');
    const { clusters, counts } = await scanNonZero(fileGuestReader(handle), 9 * cs + 512, cs, 3 * cs);
    await handle.close();
    expect([...clusters.runs()]).toEqual([
      { start: 0, count: 1, kind: 'data' },
      { start: 4, count: 1, kind: 'data' },
      { start: 9, count: 1, kind: 'data' },
    ]);
    expect(counts).toEqual({ bytesRead: 9 * cs + 512, dataClusters: 3 });
  });
});
