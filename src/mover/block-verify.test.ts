// A restored device compared with its chain: a full image and an overlay that
// changes, zeroes and adds clusters. Bytes flipped where an image holds them,
// where no image does, and under an overlay's clusters are found, or not, as
// the chain says the guest sees them.
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRun } from '../core/cluster-map.ts';
import { planQcow2, qcow2ClusterSize as cs } from '../core/qcow2-layout.ts';
import { verifyDevice, type ChainImage } from './block-verify.ts';
import type { Repository } from './engine.ts';
import { writeQcow2 } from './qcow2-writer.ts';
import { scanNonZero } from './zero-scan.ts';

let dir = '';
let serial = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'safehold-block-verify-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Bytes that are never zero, different for each seed. */
function filled(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (Math.imul(seed + i, 2654435761) >>> 24) | 1;
  return bytes;
}

/** Our image of `raw`: its non-zero clusters, or the clusters given (an overlay). */
async function imageOf(raw: Buffer, clusters?: ClusterRun[], backingFile?: string): Promise<Buffer> {
  const reader = (offset: number, length: number, into: Buffer) => {
    raw.copy(into, 0, offset, offset + length);
    return Promise.resolve();
  };
  const listed = clusters ?? (await scanNonZero(reader, raw.length, cs)).clusters;
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  await writeQcow2(planQcow2({ virtualSize: raw.length, clusters: listed, backingFile }), reader, out);
  return Buffer.concat(parts);
}

/** A repository holding the images; like restic, a dump whose reader stops early fails. */
function repositoryOf(images: Map<string, Buffer>, sizes: readonly number[]) {
  const dumps: string[] = [];
  const repository: Pick<Repository, 'dumpStream'> = {
    dumpStream: async (snapshotId, path, consume) => {
      dumps.push(`${snapshotId.slice(0, 8)}${path}`);
      const image = images.get(snapshotId);
      if (image === undefined)
        return { ok: false, error: { type: 'error', code: 'EngineFailed', message: 'no such snapshot' } };
      const stream = Readable.from(chunks(image, sizes));
      const value = await consume(stream);
      if (!stream.readableEnded)
        return { ok: false, error: { type: 'error', code: 'EngineFailed', message: 'restic: broken pipe' } };
      return { ok: true, value };
    },
  };
  return { repository, dumps };
}

function* chunks(image: Buffer, sizes: readonly number[]): Generator<Buffer> {
  for (let at = 0, i = 0; at < image.length; i++) {
    const size = sizes[i % sizes.length] ?? 65536;
    yield image.subarray(at, at + size);
    at += size;
  }
}

const size = 12 * cs + 1024; // the last cluster partial
const base: ChainImage = { id: 'b'.repeat(64), file: 'disk.qcow2' };
const overlay: ChainImage = { id: 'c'.repeat(64), file: 'disk.qcow2' };
// The full image: clusters 0 to 5, and 1000 bytes in the last, partial one.
const first = Buffer.alloc(size);
filled(6 * cs, 1).copy(first, 0);
filled(1000, 2).copy(first, 12 * cs);
// The overlay changes cluster 2, zeroes cluster 3 and adds cluster 8: what the guest then sees.
const guest = Buffer.from(first);
filled(cs, 3).copy(guest, 2 * cs);
guest.fill(0, 3 * cs, 4 * cs);
filled(cs, 4).copy(guest, 8 * cs);
const changes: ClusterRun[] = [
  { start: 2, count: 1, kind: 'data' },
  { start: 3, count: 1, kind: 'zero' },
  { start: 8, count: 1, kind: 'data' },
];

async function chain(): Promise<Map<string, Buffer>> {
  return new Map([
    [base.id, await imageOf(first)],
    [overlay.id, await imageOf(guest, changes, 'disk-bbbbbbbb.qcow2')],
  ]);
}

/** Compares a device holding `bytes` with the chain, the images streamed in chunks of `sizes`. */
async function verify(bytes: Buffer, sizes: readonly number[] = [65536]) {
  const path = join(dir, `device-${serial++}`);
  await writeFile(path, bytes);
  const handle = await open(path, 'r');
  try {
    const { repository, dumps } = repositoryOf(await chain(), sizes);
    const outcome = await verifyDevice({ handle, path }, [base, overlay], repository);
    return { outcome, dumps, path };
  } finally {
    await handle.close();
  }
}

function changed(at: number, value = 0x42): Buffer {
  const bytes = Buffer.from(guest);
  bytes[at] = bytes[at] === value ? value + 1 : value;
  return bytes;
}

describe('verifyDevice', () => {
  it.each([[[65536]], [[1000, 70_000, 4093]], [[5 * 2 ** 20]]])(
    'passes a device that holds what the chain holds, every byte compared once (chunks of %j)',
    async (sizes) => {
      const { outcome, dumps } = await verify(guest, sizes);
      expect(outcome).toEqual({ ok: true, value: size });
      // The top image first: its clusters hide the full image's below them.
      expect(dumps).toEqual(['cccccccc/disk.qcow2', 'bbbbbbbb/disk.qcow2']);
    },
  );

  it.each([
    ['a cluster only the full image holds', 4 * cs + 77, base],
    ["the full image's partial last cluster", 12 * cs + 999, base],
    ["an overlay's data cluster", 8 * cs + 1, overlay],
    ["an overlay's zero cluster, over the full image's data", 3 * cs + 5, overlay],
  ])('finds a byte changed in %s, naming the image', async (_where, at, image) => {
    const { outcome, path } = await verify(changed(at));
    expect(outcome).toEqual({
      ok: false,
      error: {
        type: 'error',
        code: 'Unverified',
        message: expect.stringContaining(
          `${path} differs at byte ${at} from image disk.qcow2 of snapshot ${image.id.slice(0, 8)}: what was written does not read back`,
        ) as string,
      },
    });
  });

  it("does not hold the full image's data against a cluster an overlay changed", async () => {
    // The device holds the overlay's cluster 2; the full image has other bytes there, and is not asked.
    const { outcome } = await verify(guest);
    expect(outcome.ok).toBe(true);
    // Had the full image's bytes stayed there, the overlay's cluster is what fails.
    const stale = Buffer.from(guest);
    first.copy(stale, 2 * cs, 2 * cs, 3 * cs);
    const { outcome: failed } = await verify(stale);
    expect(failed.ok ? '' : failed.error.message).toContain(
      `differs at byte ${2 * cs} from image disk.qcow2 of snapshot cccccccc`,
    );
  });

  it('finds data where no image of the chain holds any', async () => {
    const { outcome, path } = await verify(changed(7 * cs + 5));
    expect(outcome.ok ? '' : outcome.error).toMatchObject({
      code: 'Unverified',
      message: expect.stringContaining(
        `${path} is not zeros at byte ${7 * cs + 5}, where no image of the chain holds data`,
      ) as string,
    });
  });

  it('fails a device that ends before the virtual size (a restore refuses one first)', async () => {
    // The full image's last cluster is the first compare that reads past the end.
    const { outcome } = await verify(guest.subarray(0, 10 * cs));
    expect(outcome.ok ? '' : outcome.error.message).toContain(`differs at byte ${12 * cs} from image disk.qcow2`);
  });

  it('says an image it could not read again, apart from a difference', async () => {
    const path = join(dir, `device-${serial++}`);
    await writeFile(path, guest);
    const handle = await open(path, 'r');
    try {
      const images = await chain();
      images.delete(base.id);
      const { repository } = repositoryOf(images, [65536]);
      const outcome = await verifyDevice({ handle, path }, [base, overlay], repository);
      expect(outcome).toEqual({
        ok: false,
        error: {
          type: 'error',
          code: 'EngineFailed',
          message: 'reading image disk.qcow2 of snapshot bbbbbbbb again to verify the device: no such snapshot',
        },
      });
    } finally {
      await handle.close();
    }
  });

  it('compares data longer than one read of the device, and names the first byte that differs in it', async () => {
    const big = Buffer.alloc(160 * cs);
    filled(100 * cs, 5).copy(big, 0);
    const path = join(dir, `device-${serial++}`);
    const at = 5 * 2 ** 20 + 3;
    const device = Buffer.from(big);
    device[at] = 0;
    await writeFile(path, device);
    const handle = await open(path, 'r');
    try {
      const { repository } = repositoryOf(new Map([[base.id, await imageOf(big)]]), [65536]);
      const outcome = await verifyDevice({ handle, path }, [base], repository);
      expect(outcome.ok ? '' : outcome.error.message).toContain(`differs at byte ${at} from image disk.qcow2`);
    } finally {
      await handle.close();
    }
  });
});
