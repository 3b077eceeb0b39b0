import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dataFrames, endFrame, FrameDecoder, incompleteDump, maxFrameBytes, type DecodedFrame } from './dump-frames.ts';

/** Cuts the bytes into pieces of random sizes, 1 byte and up. */
function pieces(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = Math.min(bytes.length - at, randomInt(1, 70_000));
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

describe('the dump stream', () => {
  it('gives back the same data and end however the stream is cut (200 random cuts)', () => {
    for (let round = 0; round < 200; round++) {
      const chunks = Array.from({ length: randomInt(0, 6) }, () => randomBytes(randomInt(0, 100_000)));
      const end = { exitCode: 0, bytes: chunks.reduce((n, c) => n + c.length, 0), message: '' };
      const stream = Buffer.concat([...chunks.flatMap((c) => dataFrames(c)), endFrame(end)]);
      const decoder = new FrameDecoder();
      const frames: DecodedFrame[] = pieces(stream).flatMap((p) => decoder.push(p));
      const data = frames.flatMap((f) => (f.kind === 'data' ? [f.payload] : []));
      expect(Buffer.concat(data).equals(Buffer.concat(chunks))).toBe(true);
      expect(frames.at(-1)).toEqual({ kind: 'end', end });
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('splits a piece larger than a frame may be', () => {
    const big = Buffer.alloc(maxFrameBytes * 2 + 3, 7);
    const frames = dataFrames(big);
    expect(frames.map((f) => f.length - 5)).toEqual([maxFrameBytes, maxFrameBytes, 3]);
  });

  it('refuses a stream that is not frames, naming what it found', () => {
    expect(() => new FrameDecoder().push(Buffer.from('-- PostgreSQL database dump'))).toThrow(
      /^not a dump stream: frame type 45, length/,
    );
  });

  it('counts a dump complete only when its command exited 0 and every byte it wrote arrived', () => {
    const ok = { exitCode: 0, bytes: 10, message: '' };
    expect(incompleteDump(ok, 10)).toBeUndefined();
    expect(incompleteDump(undefined, 4)).toBe('the stream ended after 4 bytes, before the dump command did');
    expect(incompleteDump({ exitCode: 1, bytes: 3, message: 'pg_dumpall: error: connection refused' }, 3)).toBe(
      'the dump command exited 1: pg_dumpall: error: connection refused',
    );
    expect(incompleteDump({ exitCode: undefined, bytes: 3, message: 'its Pod was deleted' }, 3)).toBe(
      'the dump command did not finish: its Pod was deleted',
    );
    expect(incompleteDump({ exitCode: 0, bytes: 0, message: '' }, 0)).toBe('the dump command wrote nothing');
    expect(incompleteDump(ok, 8)).toBe('the dump command wrote 10 bytes, 8 arrived');
  });
});
