// Whether a backup compresses what it stores: the repository's setting
// (spec.compression), and for `auto`, what a sample of the volume's files
// says. Compressing what does not compress (random, already compressed or
// encrypted data) saves nothing and costs CPU: on two cores, about a fifth of
// a 2 GiB backup's time. Only what is stored changes, never what is restored,
// and an engine reads compressed and plain data in one repository alike.
import type { CompressionMode } from '../api/index.ts';

/** What an engine is asked for: its fast level, none, or its strongest. */
export type CompressionLevel = 'fast' | 'off' | 'max';

/** A sample of a volume's data: how many bytes it read, and what they compressed to. */
export interface CompressionSample {
  files: number;
  bytes: number;
  compressedBytes: number;
}

/** A sample that shrinks by less than this fraction is stored as it is. */
export const minimumSaving = 0.1;

/** The level for a backup; `auto` without a sample (a block image, an empty volume) compresses. */
export function compressionFor(mode: CompressionMode, sample: CompressionSample | undefined): CompressionLevel {
  if (mode === 'off') return 'off';
  if (mode === 'max') return 'max';
  if (sample === undefined || sample.bytes === 0) return 'fast';
  return sample.compressedBytes <= sample.bytes * (1 - minimumSaving) ? 'fast' : 'off';
}

/** The choice as the mover's log says it. */
export function describeChoice(level: CompressionLevel, sample: CompressionSample | undefined): string {
  if (sample === undefined || sample.bytes === 0) return `compression: ${level}`;
  const percent = Math.round((sample.compressedBytes / sample.bytes) * 100);
  const kib = Math.round(sample.bytes / 1024);
  return `compression: ${level} (a sample of ${sample.files} files, ${kib} KiB, compresses to ${percent}%)`;
}
