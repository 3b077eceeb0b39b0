// A block restore drill: the device read back and compared with what its
// chain of images holds, each guest cluster as the topmost image that lists it
// has it (data, or zeros an overlay wrote) and zeros where no image lists it.
// The images are streamed again, top image first; a map of the clusters an
// upper image already settled skips what it overrides below, and the clusters
// no image lists are compared with zeros last. Memory stays bounded: a read
// buffer, the data of one pending read, and two bits per cluster per map.
import type { FileHandle } from 'node:fs/promises';
import { ClusterMap } from '../core/cluster-map.ts';
import type { Repository } from './engine.ts';
import type { Failure, Outcome } from './failure.ts';
import { readQcow2, type Qcow2Event } from './qcow2-reader.ts';

export interface ChainImage {
  id: string;
  file: string;
}

const chunkBytes = 4 * 2 ** 20;
const advice =
  'what was written does not read back: the storage under the volume did not keep it, or something else wrote to the device during the restore; run the drill again, and check that storage if it repeats';

/** Compares the device with the chain (full image first); the bytes compared, all of the virtual size. */
export async function verifyDevice(
  device: { handle: FileHandle; path: string },
  chain: readonly ChainImage[],
  repository: Pick<Repository, 'dumpStream'>,
): Promise<Outcome<number>> {
  const comparer = new DeviceComparer(device.handle);
  const fail = (message: string): Outcome<number> => ({
    ok: false,
    error: { type: 'error', code: 'Unverified', message },
  });
  for (const image of chain.toReversed()) {
    const name = `image ${image.file} of snapshot ${image.id.slice(0, 8)}`;
    let differs: number | undefined;
    const dumped = await repository.dumpStream(image.id, `/${image.file}`, async (stdout) => {
      differs = await comparer.compareImage(readQcow2(stdout));
    });
    if (differs !== undefined) return fail(`${device.path} differs at byte ${differs} from ${name}: ${advice}`);
    if (!dumped.ok) return { ok: false, error: readAgainFailed(name, dumped.error) };
  }
  const differs = await comparer.compareUnlisted();
  if (differs !== undefined)
    return fail(`${device.path} is not zeros at byte ${differs}, where no image of the chain holds data: ${advice}`);
  return { ok: true, value: comparer.bytes };
}

function readAgainFailed(name: string, error: Failure): Failure {
  return {
    type: 'error',
    code: 'EngineFailed',
    message: `reading ${name} again to verify the device: ${error.message}`,
  };
}

/** The device against one image after another, top first; each compare returns the first differing offset. */
class DeviceComparer {
  /** Bytes read back and compared. */
  bytes = 0;
  readonly #device: FileHandle;
  readonly #buffer = Buffer.allocUnsafe(chunkBytes);
  readonly #zeros = Buffer.alloc(chunkBytes);
  /** Clusters an image already compared: lower images do not show there. Made from the top image's header. */
  #settled: ClusterMap | undefined;
  #clusterSize = 0;
  #size = 0;

  constructor(device: FileHandle) {
    this.#device = device;
  }

  async compareImage(events: AsyncIterable<Qcow2Event>): Promise<number | undefined> {
    let listed: ClusterMap | undefined;
    const pending = new PendingRead((offset, length) => this.#read(offset, length));
    for await (const event of events) {
      if (event.type === 'header') {
        listed = this.#begin(event);
        continue;
      }
      if (listed === undefined) throw new Error('the image stream has data before its header');
      const length = event.type === 'data' ? event.bytes.length : event.length;
      for (const [from, to] of this.#unsettled(event.guestOffset, event.guestOffset + length)) {
        this.bytes += to - from;
        const differs =
          event.type === 'data'
            ? await pending.add(from, event.bytes.subarray(from - event.guestOffset, to - event.guestOffset))
            : await this.#compareZeros(from, to);
        if (differs !== undefined) return differs;
      }
      this.#mark(listed, event.guestOffset, event.guestOffset + length);
    }
    const differs = await pending.flush();
    if (differs !== undefined) return differs;
    if (listed === undefined) throw new Error('the image stream ended without a header');
    for (const run of listed.runs()) this.#settled?.mark(run.start, run.count, 'data');
    return undefined;
  }

  /** Compares what no image listed with zeros. */
  async compareUnlisted(): Promise<number | undefined> {
    const settled = this.#settled;
    if (settled === undefined) throw new Error('no image of the chain was compared');
    const cs = this.#clusterSize;
    let next = 0;
    const gap = async (to: number) => {
      const from = next * cs;
      const end = Math.min(to * cs, this.#size);
      if (end <= from) return undefined;
      this.bytes += end - from;
      return this.#compareZeros(from, end);
    };
    for (const run of settled.runs()) {
      const differs = await gap(run.start);
      if (differs !== undefined) return differs;
      next = run.start + run.count;
    }
    return gap(settled.clusterCount);
  }

  #begin(header: Extract<Qcow2Event, { type: 'header' }>): ClusterMap {
    if (this.#settled === undefined) {
      this.#size = header.virtualSize;
      this.#clusterSize = header.clusterSize;
      this.#settled = new ClusterMap(Math.ceil(header.virtualSize / header.clusterSize));
    } else if (header.clusterSize % this.#clusterSize !== 0) {
      // Smaller clusters below would settle part of a cluster of the map.
      throw new Error(
        `an image below has clusters of ${header.clusterSize} bytes, the top image of ${this.#clusterSize}: the chain cannot be compared`,
      );
    }
    return new ClusterMap(this.#settled.clusterCount);
  }

  /** The parts of [from, to) within the virtual size that no upper image settled, at most a read each. */
  *#unsettled(from: number, to: number): Generator<[number, number]> {
    const settled = this.#settled;
    const cs = this.#clusterSize;
    const end = Math.min(to, this.#size);
    if (settled === undefined) return;
    let cluster = Math.floor(from / cs);
    while (cluster * cs < end) {
      while (cluster * cs < end && settled.kindAt(cluster) !== undefined) cluster++;
      const start = Math.max(from, cluster * cs);
      while (cluster * cs < end && settled.kindAt(cluster) === undefined) cluster++;
      const stop = Math.min(end, cluster * cs);
      for (let at = start; at < stop; at += chunkBytes) yield [at, Math.min(stop, at + chunkBytes)];
    }
  }

  #mark(listed: ClusterMap, from: number, to: number): void {
    const first = Math.floor(from / this.#clusterSize);
    const end = Math.ceil(Math.min(to, this.#size) / this.#clusterSize);
    if (end > first) listed.mark(first, end - first, 'data');
  }

  async #compareZeros(from: number, to: number): Promise<number | undefined> {
    for (let at = from; at < to; at += chunkBytes) {
      const length = Math.min(chunkBytes, to - at);
      const differs = firstDifference(this.#zeros.subarray(0, length), await this.#read(at, length));
      if (differs !== undefined) return at + differs;
    }
    return undefined;
  }

  /** Up to `length` bytes at `offset` (fewer where the device ends), in the shared buffer. */
  async #read(offset: number, length: number): Promise<Buffer> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#device.read(this.#buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return this.#buffer.subarray(0, done);
  }
}

/** Contiguous data of an image gathered into one read of the device, compared when it is full or breaks. */
class PendingRead {
  readonly #read: (offset: number, length: number) => Promise<Buffer>;
  #pieces: Buffer[] = [];
  #offset = 0;
  #length = 0;

  constructor(read: (offset: number, length: number) => Promise<Buffer>) {
    this.#read = read;
  }

  async add(offset: number, bytes: Buffer): Promise<number | undefined> {
    if (this.#length > 0 && (offset !== this.#offset + this.#length || this.#length + bytes.length > chunkBytes)) {
      const differs = await this.flush();
      if (differs !== undefined) return differs;
    }
    if (this.#length === 0) this.#offset = offset;
    this.#pieces.push(bytes);
    this.#length += bytes.length;
    return undefined;
  }

  async flush(): Promise<number | undefined> {
    if (this.#length === 0) return undefined;
    const device = await this.#read(this.#offset, this.#length);
    let at = 0;
    for (const piece of this.#pieces) {
      const differs = firstDifference(piece, device.subarray(at, at + piece.length));
      if (differs !== undefined) return this.#offset + at + differs;
      at += piece.length;
    }
    this.#pieces = [];
    this.#length = 0;
    return undefined;
  }
}

/** The index of the first byte of `actual` that is not as `expected` has it (a short `actual` ends early). */
function firstDifference(expected: Buffer, actual: Buffer): number | undefined {
  if (expected.equals(actual)) return undefined;
  const length = Math.min(expected.length, actual.length);
  for (let i = 0; i < length; i++) if (expected[i] !== actual[i]) return i;
  return length;
}
