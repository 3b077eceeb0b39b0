import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { moverResult, type MoverError, type MoverResult } from '../api/index.ts';
import { encodeResult, terminationMessageLimit } from './termination-message.ts';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const error = (message: string): MoverError => ({ type: 'error', code: 'ResticFailed', message });

describe('encodeResult', () => {
  it('keeps a summary whole', () => {
    const summary: MoverResult = {
      type: 'summary',
      snapshotId: 'c9a56d86e1454cf576622964d1f1689b3f285449c07c21fd81a7a3eacf53c202',
      filesNew: 2,
      filesChanged: 0,
      filesUnmodified: 0,
      dirsNew: 3,
      dirsChanged: 0,
      bytesAdded: 100008937,
      bytesProcessed: 160000000,
      filesProcessed: 2,
      durationSeconds: 3.827492865,
    };
    expect(JSON.parse(encodeResult(summary))).toEqual(summary);
  });

  it('keeps an error that fits whole', () => {
    expect(encodeResult(error('restic failed'))).toBe(JSON.stringify(error('restic failed')));
  });

  it.each([
    ['ASCII', 'x'.repeat(10_000)],
    ['characters JSON escapes', '"\\\n\u0001'.repeat(3_000)],
    ['multi-byte characters', 'ü€😀'.repeat(2_000)],
    ['a message just over the limit', 'y'.repeat(terminationMessageLimit)],
  ])('cuts a long message of %s to fit in 4096 bytes as valid JSON', (_, message) => {
    const encoded = encodeResult(error(message));
    expect(bytes(encoded)).toBeLessThanOrEqual(terminationMessageLimit);
    expect(bytes(encoded)).toBeGreaterThan(terminationMessageLimit - 16);
    const parsed = moverResult.parse(JSON.parse(encoded));
    if (parsed.type !== 'error') throw new Error('expected an error');
    expect(parsed.code).toBe('ResticFailed');
    expect(parsed.message.endsWith('…')).toBe(true);
    expect(message.startsWith(parsed.message.slice(0, -1))).toBe(true);
  });

  it('always fits, always parses, and keeps a prefix of the message', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 6_000 }),
        fc.integer({ min: 200, max: 5_000 }),
        (message, limit) => {
          const encoded = encodeResult(error(message), limit);
          expect(bytes(encoded)).toBeLessThanOrEqual(limit);
          const parsed = moverResult.parse(JSON.parse(encoded));
          if (parsed.type !== 'error') throw new Error('expected an error');
          const kept = encoded === JSON.stringify(error(message)) ? parsed.message : parsed.message.slice(0, -1);
          expect(message.startsWith(kept)).toBe(true);
        },
      ),
    );
  });
  it('cuts what a repository check found, keeping the rest of a maintenance summary', () => {
    const summary: MoverResult = {
      type: 'maintenance',
      forgotten: 2,
      alreadyGone: 0,
      prune: {
        bytesFreed: 3001025,
        message: 'freed 2.862 MiB (7 blobs: 1.185 KiB deleted); 2.862 MiB in 7 blobs remain',
      },
      check: {
        ok: false,
        readDataSubset: '100%',
        message: `restic check found 1 error: ${'pack ü€ damaged; '.repeat(1_000)}`,
      },
      snapshots: 3,
      repositoryBytes: 9_000_000,
      durationSeconds: 12.5,
    };
    const encoded = encodeResult(summary);
    expect(bytes(encoded)).toBeLessThanOrEqual(terminationMessageLimit);
    const parsed = moverResult.parse(JSON.parse(encoded));
    if (parsed.type !== 'maintenance') throw new Error('expected a maintenance summary');
    expect(parsed).toMatchObject({ forgotten: 2, snapshots: 3, prune: summary.prune, check: { ok: false } });
    expect(parsed.check?.message).toMatch(/^restic check found 1 error: pack ü€ damaged; .*…$/);
  });
});
