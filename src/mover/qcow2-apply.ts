// Applies a decoded QCOW2 image (readQcow2's events) to a block device or a
// file. A chain restores as the base with zeroUnlisted, then each overlay in
// order without it: an overlay's unlisted clusters are "as in the backing file",
// which the target already holds.
import type { FileHandle } from 'node:fs/promises';
import { ClusterMap } from '../core/cluster-map.ts';
import type { Qcow2Event } from './qcow2-reader.ts';

export interface ApplyOptions {
  /**
   * Zero every cluster the image does not list, as a full image means: the
   * target may hold old data. Only where the target is not zero already
   * (read, compare, write), so a thin device or a sparse file stays thin.
   */
  zeroUnlisted: boolean;
}

export interface ApplyResult {
  /** Bytes written to the target: data, and zeros where it was not zero. */
  bytesWritten: number;
  virtualSize: number;
  backingFile: string | undefined;
}

const zeroChunkBytes = 4 * 2 ** 20;
const zeroBlockBytes = 64 * 2 ** 10;

export async function applyQcow2(
  events: AsyncIterable<Qcow2Event>,
  target: FileHandle,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const zeroFill = zeroFiller(target);
  let header: Extract<Qcow2Event, { type: 'header' }> | undefined;
  let listed: ClusterMap | undefined;
  let bytesWritten = 0;
  const place = (guestOffset: number, length: number) => {
    if (header === undefined) throw new Error('the image stream has data before its header');
    if (guestOffset < 0 || length <= 0 || guestOffset + length > header.virtualSize) {
      throw new Error(`${length} bytes at guest offset ${guestOffset} do not fit ${header.virtualSize} bytes`);
    }
    const cs = header.clusterSize;
    listed?.mark(
      Math.floor(guestOffset / cs),
      Math.ceil((guestOffset + length) / cs) - Math.floor(guestOffset / cs),
      'data',
    );
  };
  for await (const event of events) {
    switch (event.type) {
      case 'header':
        if (header !== undefined) throw new Error('the image stream has two headers');
        header = event;
        if (options.zeroUnlisted) listed = new ClusterMap(Math.ceil(event.virtualSize / event.clusterSize));
        break;
      case 'data':
        place(event.guestOffset, event.bytes.length);
        await writeAll(target, event.bytes, event.guestOffset);
        bytesWritten += event.bytes.length;
        break;
      case 'zero':
        place(event.guestOffset, event.length);
        bytesWritten += await zeroFill(event.guestOffset, event.length);
        break;
    }
  }
  if (header === undefined) throw new Error('the image stream ended without a header');
  const { virtualSize, clusterSize: cs } = header;
  if (listed !== undefined) {
    let next = 0;
    const gap = async (to: number) => {
      const from = next * cs;
      const end = Math.min(to * cs, virtualSize);
      if (end > from) bytesWritten += await zeroFill(from, end - from);
    };
    for (const run of listed.runs()) {
      await gap(run.start);
      next = run.start + run.count;
    }
    await gap(listed.clusterCount);
  }
  // A file target gets the image's size even if its tail is unlisted; a device has its own size.
  const stat = await target.stat();
  if (stat.isFile() && stat.size < virtualSize) await target.truncate(virtualSize);
  return { bytesWritten, virtualSize, backingFile: header.backingFile };
}

async function writeAll(target: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await target.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Zeros [offset, offset + length) where the target is not zero yet; returns
 * the bytes written. Its two buffers are made once and reused: fresh ones per
 * call cost more than reading a sparse file's holes.
 */
function zeroFiller(target: FileHandle): (offset: number, length: number) => Promise<number> {
  let buffer = Buffer.alloc(0);
  let zeros = Buffer.alloc(0);
  return async (offset, length) => {
    if (buffer.length < Math.min(zeroChunkBytes, length)) {
      buffer = Buffer.allocUnsafe(Math.min(zeroChunkBytes, Math.max(length, zeroBlockBytes)));
      zeros = Buffer.alloc(buffer.length);
    }
    let written = 0;
    for (let at = offset; at < offset + length; at += buffer.length) {
      const n = Math.min(buffer.length, offset + length - at);
      let read = 0;
      for (;;) {
        const { bytesRead } = await target.read(buffer, read, n - read, at + read);
        read += bytesRead;
        if (bytesRead === 0 || read === n) break;
      }
      // Past the end of a file reads as zeros already.
      let dirtyFrom = -1;
      for (let block = 0; block <= read; block += zeroBlockBytes) {
        const end = Math.min(block + zeroBlockBytes, read);
        const dirty = end > block && buffer.compare(zeros, 0, end - block, block, end) !== 0;
        if (dirty && dirtyFrom < 0) dirtyFrom = block;
        if (!dirty && dirtyFrom >= 0) {
          await writeAll(target, zeros.subarray(0, block - dirtyFrom), at + dirtyFrom);
          written += block - dirtyFrom;
          dirtyFrom = -1;
        }
      }
      if (dirtyFrom >= 0) {
        await writeAll(target, zeros.subarray(0, read - dirtyFrom), at + dirtyFrom);
        written += read - dirtyFrom;
      }
    }
    return written;
  };
}
