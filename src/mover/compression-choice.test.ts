import { describe, expect, it } from 'vitest';
import { compressionFor, describeChoice, type CompressionSample } from './compression-choice.ts';

const sample = (bytes: number, compressedBytes: number): CompressionSample => ({ files: 3, bytes, compressedBytes });

describe('compressionFor', () => {
  it.each([
    ['off is off, whatever the data', 'off', sample(1000, 100), 'off'],
    ['max is max, whatever the data', 'max', sample(1000, 1001), 'max'],
    ['auto compresses text', 'auto', sample(1000, 300), 'fast'],
    ['auto compresses what shrinks by exactly a tenth', 'auto', sample(1000, 900), 'fast'],
    ['auto stores what shrinks by less as it is', 'auto', sample(1000, 901), 'off'],
    ['auto stores random data as it is', 'auto', sample(1000, 1004), 'off'],
    ['auto without a sample (a block image) compresses', 'auto', undefined, 'fast'],
    ['auto over an empty sample (no files) compresses', 'auto', sample(0, 0), 'fast'],
  ] as const)('%s', (_, mode, given, level) => {
    expect(compressionFor(mode, given)).toBe(level);
  });
});

describe('describeChoice', () => {
  it('says what the sample was and what it compressed to', () => {
    expect(describeChoice('off', { files: 64, bytes: 4 * 1024 * 1024, compressedBytes: 4 * 1024 * 1024 + 500 })).toBe(
      'compression: off (a sample of 64 files, 4096 KiB, compresses to 100%)',
    );
    expect(describeChoice('fast', undefined)).toBe('compression: fast');
  });
});
