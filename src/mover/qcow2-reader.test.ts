// Decoding images as a stream and applying them: our writer's images, chains
// of overlays, QEMU's own images (decoded or refused, with the reason), and
// damaged streams.
import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRun } from '../core/cluster-map.ts';
import { planQcow2, qcow2ClusterSize as cs } from '../core/qcow2-layout.ts';
import { applyQcow2 } from './qcow2-apply.ts';
import { readQcow2, type Qcow2Event } from './qcow2-reader.ts';
import { writeQcow2, type GuestReader } from './qcow2-writer.ts';
import { scanNonZero } from './zero-scan.ts';

const run = promisify(execFile);
let dir = '';
let serial = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'safehold-qcow2-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const path = (name: string) => join(dir, `${serial++}-${name}`);

const memoryReader =
  (raw: Buffer): GuestReader =>
  (offset, length, into) => {
    raw.copy(into, 0, offset, offset + length);
    return Promise.resolve();
  };

/** Our image of `raw`: its non-zero clusters, or the clusters given. */
async function imageOf(raw: Buffer, clusters?: ClusterRun[], backingFile?: string): Promise<Buffer> {
  const source = memoryReader(raw);
  const listed = clusters ?? (await scanNonZero(source, raw.length, cs)).clusters;
  // Keeps the chunks after calling back, as a Transform does: the writer must not reuse them.
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  await writeQcow2(planQcow2({ virtualSize: raw.length, clusters: listed, backingFile }), source, out);
  return Buffer.concat(parts);
}

/** The image as a stream in chunks of the given sizes, cycling (pipes rarely line up with clusters). */
function chunked(image: Buffer, sizes: readonly number[] = [65536]): Readable {
  const pieces = function* () {
    for (let at = 0, i = 0; at < image.length; i++) {
      const size = sizes[i % sizes.length] ?? 65536;
      yield image.subarray(at, at + size);
      at += size;
    }
  };
  return Readable.from(pieces());
}

/** Applies images in order to a target file starting as `initial`; returns the file's bytes. */
async function restore(images: readonly Buffer[], initial: Buffer | number, sizes?: number[]) {
  const file = path('target');
  await writeFile(file, typeof initial === 'number' ? Buffer.alloc(0) : initial);
  const handle = await open(file, 'r+');
  const written: number[] = [];
  try {
    for (const [i, image] of images.entries()) {
      const result = await applyQcow2(readQcow2(chunked(image, sizes)), handle, { zeroUnlisted: i === 0 });
      written.push(result.bytesWritten);
    }
  } finally {
    await handle.close();
  }
  return { bytes: await readFile(file), written };
}

function sparse(size: number, pieces: readonly { offset: number; length: number; seed: number }[]): Buffer {
  const raw = Buffer.alloc(size);
  for (const { offset, length, seed } of pieces) {
    for (let i = offset; i < Math.min(size, offset + length); i++)
      raw[i] = (Math.imul(seed + i, 2654435761) >>> 24) | 1;
  }
  return raw;
}

async function events(image: Buffer): Promise<Qcow2Event[]> {
  const list: Qcow2Event[] = [];
  for await (const event of readQcow2(chunked(image))) list.push(event);
  return list;
}

describe('readQcow2 and applyQcow2', () => {
  it('restore our images byte for byte, over any chunking, onto old data too', async () => {
    const piece = fc.record({ offset: fc.nat(30 * cs), length: fc.integer({ min: 1, max: 2 * cs }), seed: fc.nat() });
    const chunkSizes = fc.array(fc.integer({ min: 1000, max: 200_000 }), { minLength: 1, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 * 128 }),
        fc.array(piece, { maxLength: 6 }),
        chunkSizes,
        async (sectors, pieces, sizes) => {
          const raw = sparse(sectors * 512, pieces);
          const image = await imageOf(raw);
          const fresh = await restore([image], 0, sizes);
          expect(fresh.bytes.equals(raw)).toBe(true);
          const dataBytes = (await events(image)).reduce((n, e) => n + (e.type === 'data' ? e.bytes.length : 0), 0);
          expect(fresh.written).toEqual([dataBytes]); // no zeros written onto a sparse file
          const old = await restore([image], Buffer.alloc(raw.length + 1000, 0xee), sizes);
          expect(old.bytes.subarray(0, raw.length).equals(raw)).toBe(true);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('decodes a stream in chunks of a few bytes', async () => {
    const raw = sparse(4 * cs + 512, [{ offset: 2 * cs - 3, length: 7, seed: 1 }]);
    const restored = await restore([await imageOf(raw)], 0, [1, 7, 4093]);
    expect(restored.bytes.equals(raw)).toBe(true);
  });

  it('reports the header first, then zeros from the L2 tables, then data in file order', async () => {
    const raw = sparse(8 * cs, [{ offset: 5 * cs, length: 2 * cs + 3, seed: 1 }]);
    const overlay = await imageOf(
      raw,
      [
        { start: 1, count: 2, kind: 'zero' },
        { start: 5, count: 3, kind: 'data' },
      ],
      'base.qcow2',
    );
    const list = await events(overlay);
    expect(list.map((e) => (e.type === 'data' ? { ...e, bytes: e.bytes.length } : e))).toEqual([
      { type: 'header', virtualSize: 8 * cs, clusterSize: cs, backingFile: 'base.qcow2' },
      { type: 'zero', guestOffset: cs, length: 2 * cs },
      // Data comes as the stream's chunks came (64 KiB here), uncopied.
      { type: 'data', guestOffset: 5 * cs, bytes: cs },
      { type: 'data', guestOffset: 6 * cs, bytes: cs },
      { type: 'data', guestOffset: 7 * cs, bytes: cs },
    ]);
  });

  it('restores a chain: the base, then each overlay in order', async () => {
    const size = 40 * cs + 1024;
    const a = sparse(size, [{ offset: 0, length: 30 * cs, seed: 1 }]);
    const b = Buffer.from(a);
    b.fill(0, 3 * cs, 5 * cs); // zeroed
    sparse(cs, [{ offset: 0, length: cs, seed: 2 }]).copy(b, 10 * cs); // changed
    sparse(cs, [{ offset: 0, length: 1024, seed: 3 }]).copy(b, 40 * cs, 0, 1024); // changed, the partial last cluster
    const c = Buffer.from(b);
    sparse(cs, [{ offset: 0, length: cs, seed: 4 }]).copy(c, 3 * cs); // data again where b had zeroed
    c.fill(0, 10 * cs, 11 * cs);
    c.fill(0, 20 * cs, 21 * cs);
    const base = await imageOf(a);
    const first = await imageOf(
      b,
      [
        { start: 3, count: 2, kind: 'zero' },
        { start: 10, count: 1, kind: 'data' },
        { start: 40, count: 1, kind: 'data' },
      ],
      'base.qcow2',
    );
    const second = await imageOf(
      c,
      [
        { start: 3, count: 1, kind: 'data' },
        { start: 10, count: 1, kind: 'zero' },
        { start: 20, count: 1, kind: 'zero' },
      ],
      'first.qcow2',
    );
    const restored = await restore([base, first, second], Buffer.alloc(size, 0x5a));
    expect(restored.bytes.equals(c)).toBe(true);
  });
});

describe('readQcow2 on images QEMU made', () => {
  const qemuImage = async (raw: Buffer, ...options: string[]) => {
    const rawFile = path('qemu.raw');
    const image = path('qemu.qcow2');
    await writeFile(rawFile, raw);
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', ...options, rawFile, image]);
    return image;
  };
  // With 4 KiB clusters an L2 table maps 2 MiB, so this spans many of them.
  const raw = sparse(40 * 2 ** 20 + 512, [
    { offset: 7, length: 3 * cs, seed: 1 },
    { offset: 21 * 2 ** 20 - 5, length: 5 * cs, seed: 2 },
    { offset: 40 * 2 ** 20 + 412, length: 100, seed: 3 },
  ]);

  // qemu-img convert allocates each L2 table before the data it maps, so its images decode.
  it.each([
    ['qemu-img convert', []],
    ['version 2 (compat=0.10)', ['-o', 'compat=0.10']],
    ['4 KiB clusters', ['-o', 'cluster_size=4096']],
  ])('decodes %s', async (_name, options) => {
    const image = await readFile(await qemuImage(raw, ...options));
    const restored = await restore([image], 0);
    expect(restored.bytes.equals(raw)).toBe(true);
  });

  it('refuses compressed clusters', async () => {
    const image = await readFile(await qemuImage(raw.subarray(0, 4 * 2 ** 20), '-c'));
    await expect(events(image)).rejects.toThrow(/guest offset 0 is compressed, which this decoder lacks/);
  });

  it('refuses an image whose L2 table was copied after its data (an internal snapshot made it so)', async () => {
    const image = path('snapshot.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', image, '4M']);
    await run('qemu-io', ['-c', 'write -P 5 0 64k', image]);
    await run('qemu-img', ['snapshot', '-c', 'before', image]);
    await run('qemu-io', ['-c', 'write -P 6 128k 64k', image]);
    await expect(events(await readFile(image))).rejects.toThrow(
      /the data of guest offset 0 precedes its L2 table; this decoder reads only images whose metadata precede/,
    );
  });
});

describe('readQcow2 refuses what it cannot read', () => {
  const raw = sparse(20 * cs, [{ offset: 0, length: 3 * cs, seed: 1 }]);
  const patched = async (at: number, bytes: number[]) => {
    const image = await imageOf(raw);
    Buffer.from(bytes).copy(image, at);
    return image;
  };

  it.each([
    [0, [0x51, 0x46, 0x49, 0xfa], /not a qcow2 image: it starts with 0x514649fa/],
    [4, [0, 0, 0, 4], /qcow2 version 4 is not 2 or 3/],
    [20, [0, 0, 0, 22], /cluster_bits 22 is not from 9/],
    [32, [0, 0, 0, 2], /encrypted \(crypt_method 2\)/],
    [79, [0x10], /incompatible feature this decoder lacks: extended L2 entries/],
    [79, [0x04], /lacks: external data file/],
    [79, [0x08], /lacks: compression type/],
    [78, [0x04], /lacks: unknown bit 10/],
    [79, [0x02], /lacks: corrupt/],
    [36, [0, 0, 0, 0], /l1_size 0 maps less than the size/],
  ])('at byte %i, %j', async (at, bytes, message) => {
    await expect(events(await patched(at, bytes))).rejects.toThrow(message);
  });

  it('reads an image marked dirty: only its refcounts are in doubt', async () => {
    const restored = await restore([await patched(79, [0x01])], 0);
    expect(restored.bytes.equals(raw)).toBe(true);
  });

  it('says where a truncated stream ended', async () => {
    const image = await imageOf(raw);
    const layout = planQcow2({ virtualSize: raw.length, clusters: [{ start: 0, count: 3, kind: 'data' }] });
    expect(image.length).toBe(layout.fileSize);
    const cut = async (length: number) => events(image.subarray(0, length));
    await expect(cut(50)).rejects.toThrow(/stream ended at byte 50, in the header; is the image truncated\?/);
    await expect(cut(cs + 4)).rejects.toThrow(/ended at byte 65540, in the L1 table/);
    await expect(cut(layout.l2Offset + 100)).rejects.toThrow(/in the L2 table at host offset 262144/);
    await expect(cut(layout.dataOffset + cs + 1)).rejects.toThrow(
      /in the data of guest offset 0 at host offset 327680/,
    );
    await expect(cut(image.length - 1)).rejects.toThrow(/truncated/);
  });
});
