// Streams a planned QCOW2 image (src/core/qcow2-layout.ts) to a Writable,
// normally stdout when restic runs the mover with --stdin-from-command: the
// metadata, then the listed data clusters read from the volume in guest order.
// Reads are batched over contiguous data clusters and the next batch is read
// while the previous one is written, so the volume and the pipe stay busy.
import { once } from 'node:events';
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { qcow2Metadata, type Qcow2Layout } from '../core/qcow2-layout.ts';

/**
 * Fills `into[0, length)` with the guest bytes at `offset`. The caller owns
 * `into`, so a zero scan can reuse one buffer: a fresh 16 MiB buffer per read
 * costs more than the read itself (page faults; 10 times slower on a 1 GiB file).
 */
export type GuestReader = (offset: number, length: number, into: Buffer) => Promise<void>;

export interface Qcow2WriteCounts {
  /** Bytes of image written to `out` (the image's file size). */
  bytesWritten: number;
  guestBytesRead: number;
  dataClusters: number;
}

/** Up to 4 MiB per read: large enough for a block device, small enough to keep two in flight. */
export const readBatchBytes = 4 * 2 ** 20;

/** A GuestReader over a block device or file; a short read (the source ended early) is an error. */
export function fileGuestReader(handle: FileHandle): GuestReader {
  return async (offset, length, into) => {
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(into, filled, length - filled, offset + filled);
      if (bytesRead === 0) {
        throw new Error(`the source ended at byte ${offset + filled}, before byte ${offset + length} it should hold`);
      }
      filled += bytesRead;
    }
  };
}

interface Batch {
  offset: number;
  length: number;
  clusters: number;
}

/**
 * Writes the whole image to `out`, waiting for 'drain' whenever `out` is full.
 * Each batch is a fresh buffer: `out` may hold a chunk after calling back (a
 * Transform queues it for its reader), so reusing one could change data not
 * yet sent. Does not end `out` (stdout is not ours to end); the caller ends it
 * and waits for 'finish'.
 */
export async function writeQcow2(layout: Qcow2Layout, source: GuestReader, out: Writable): Promise<Qcow2WriteCounts> {
  const output = guardedOutput(out);
  try {
    let bytesWritten = 0;
    for (const piece of qcow2Metadata(layout)) {
      bytesWritten += piece.length;
      await output.write(piece);
    }
    if (bytesWritten !== layout.dataOffset) {
      throw new Error(`the metadata took ${bytesWritten} bytes, the layout planned ${layout.dataOffset}`);
    }

    const cs = layout.clusterSize;
    const read = (batch: Batch) => {
      const buffer = Buffer.allocUnsafe(batch.clusters * cs);
      const reading = source(batch.offset, batch.length, buffer).then(() => buffer);
      reading.catch(() => undefined); // awaited next round; a failed read-ahead is not "unhandled" meanwhile
      return reading;
    };
    let guestBytesRead = 0;
    let dataClusters = 0;
    const batches = dataBatches(layout);
    let next = batches.next();
    let reading = next.done ? undefined : read(next.value);
    while (!next.done && reading !== undefined) {
      const batch = next.value;
      const buffer = await output.guard(reading);
      next = batches.next();
      reading = next.done ? undefined : read(next.value);
      guestBytesRead += batch.length;
      // Only the volume's last cluster can be partial: pad it to a whole host cluster.
      buffer.fill(0, batch.length);
      await output.write(buffer);
      bytesWritten += buffer.length;
      dataClusters += batch.clusters;
    }
    if (bytesWritten !== layout.fileSize) {
      throw new Error(`wrote ${bytesWritten} bytes of image, the layout planned ${layout.fileSize}`);
    }
    return { bytesWritten, guestBytesRead, dataClusters };
  } finally {
    output.dispose();
  }
}

/** The data clusters in guest order, in reads of at most readBatchBytes that never cross a run's end. */
function* dataBatches(layout: Qcow2Layout): Generator<Batch> {
  const cs = layout.clusterSize;
  const perBatch = Math.max(1, Math.floor(readBatchBytes / cs));
  for (const run of layout.clusters.runs()) {
    if (run.kind !== 'data') continue;
    const end = run.start + run.count;
    for (let c = run.start; c < end; c += perBatch) {
      const clusters = Math.min(perBatch, end - c);
      const offset = c * cs;
      yield { offset, length: Math.min(clusters * cs, layout.virtualSize - offset), clusters };
    }
  }
}

/**
 * Writes to `out` and fails every wait at once if `out` errors or closes
 * (restic exited), instead of waiting forever for a 'drain' or a callback.
 */
function guardedOutput(out: Writable) {
  const stop = new AbortController();
  let failure: Error | undefined;
  const waiting = new Set<(error: Error) => void>();
  const fail = (error: Error) => {
    failure ??= error;
    for (const reject of waiting) reject(failure);
    waiting.clear();
  };
  const onError = (error: Error) => fail(error);
  const onClose = () => fail(new Error('the output closed before the image was written'));
  out.on('error', onError);
  out.on('close', onClose);
  if (out.destroyed) onClose();
  const guard = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      waiting.add(reject);
      promise.then(resolve, reject).finally(() => waiting.delete(reject));
    });
  return {
    guard,
    /** Resolves when `out` can take more: at once, or after 'drain' if it is full. */
    write(chunk: Buffer): Promise<void> {
      if (failure !== undefined) return Promise.reject(failure);
      if (out.write(chunk)) return Promise.resolve();
      return guard(once(out, 'drain', { signal: stop.signal }).then(() => undefined));
    },
    dispose() {
      stop.abort();
      out.off('error', onError);
      out.off('close', onClose);
    },
  };
}
