// A quick sample of a volume's data, to tell whether it compresses: the first
// files a breadth-first walk of the folder meets, a slice of each (its start,
// and its middle when large), each compressed with zstd at its fastest level.
// The walk and the reads are bounded, so the sample costs milliseconds on any
// volume; what it reads, the backup reads next from the page cache.
import type { Dir } from 'node:fs';
import { open, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, zstdCompressSync } from 'node:zlib';
import type { CompressionSample } from './compression-choice.ts';

export interface SampleLimits {
  /** At most this many files are read. */
  files: number;
  /** From each, at most this many bytes, in up to two slices. */
  bytesPerFile: number;
  /** At most this many folder entries are looked at, in all. */
  entries: number;
}

export const defaultSampleLimits: SampleLimits = { files: 64, bytesPerFile: 64 * 1024, entries: 4_096 };

export async function sampleData(root: string, limits: SampleLimits = defaultSampleLimits): Promise<CompressionSample> {
  const sample: CompressionSample = { files: 0, bytes: 0, compressedBytes: 0 };
  const folders = [root];
  let seen = 0;
  for (let next = folders.shift(); next !== undefined && sample.files < limits.files; next = folders.shift()) {
    try {
      const entries: Dir = await opendir(next);
      for await (const entry of entries) {
        if (++seen > limits.entries || sample.files >= limits.files) break;
        const path = join(next, entry.name);
        if (entry.isDirectory()) folders.push(path);
        else if (entry.isFile()) await sampleFile(path, limits.bytesPerFile, sample);
      }
    } catch {
      // An unreadable folder: the backup itself will say so; the sample is what was read.
    }
    if (seen > limits.entries) break;
  }
  return sample;
}

async function sampleFile(path: string, most: number, sample: CompressionSample): Promise<void> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return;
  }
  try {
    const { size } = await file.stat();
    if (size === 0) return;
    // A small file whole; a large one as its start and its middle, half of `most` each.
    const slices = size > most ? [0, Math.floor(size / 2)].map((at) => [at, most / 2]) : [[0, size]];
    for (const [at = 0, length = 0] of slices) {
      const { bytesRead, buffer } = await file.read(Buffer.alloc(length), 0, length, at);
      if (bytesRead === 0) continue;
      sample.bytes += bytesRead;
      const level = { [constants.ZSTD_c_compressionLevel]: 1 };
      sample.compressedBytes += zstdCompressSync(buffer.subarray(0, bytesRead), { params: level }).length;
    }
    sample.files++;
  } catch {
    // unreadable: the backup itself will say so
  } finally {
    await file.close();
  }
}
