import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSegment, keyOfFile, objectFile } from './bucket-keys.ts';

const long = 'x'.repeat(300);

describe('objectFile', () => {
  it.each([
    ['photos/2024/cat.jpg', 'objects/photos%D/2024%D/cat.jpg'],
    ['a', 'objects/a'],
    ['a/', 'objects/a%D/%'],
    ['/a', 'objects/%%D/a'],
    ['a//b', 'objects/a%D/%%D/b'],
    ['./..', 'objects/%2E%D/%2E%2E'],
    ['.hidden', 'objects/.hidden'],
    ['notes 1.txt', 'objects/notes%201.txt'],
    ['100%/a*b?[c]', 'objects/100%25%D/a%2Ab%3F%5Bc%5D'],
    ['über', 'objects/%C3%BCber'],
  ])('%j is stored as %j', (key, file) => {
    expect(objectFile(key)).toBe(file);
  });

  it('gives a segment over 200 bytes a readable start and its hash, within a file name', () => {
    const file = objectFile(`dir/${long}`);
    expect(file).toMatch(/^objects\/dir%D\/x{120}%H[0-9a-f]{64}$/);
    expect(Buffer.byteLength(file.split('/').at(-1) ?? '')).toBeLessThan(255);
    expect(objectFile(`dir/${long}y`)).not.toBe(file);
  });

  it('never cuts a long segment inside a %XX', () => {
    const segment = encodeSegment('é'.repeat(100));
    expect(segment).toMatch(/^(%[0-9A-F]{2})+%H[0-9a-f]{64}$/);
  });

  it('hashes a key whose path would pass 3,000 bytes', () => {
    expect(objectFile('/'.repeat(1000))).toMatch(/^objects\/%K[0-9a-f]{64}$/);
  });

  it('keeps a file and a folder of the same name apart ("a" and "a/b")', () => {
    expect(objectFile('a')).toBe('objects/a');
    expect(objectFile('a/b').startsWith('objects/a%D/')).toBe(true);
  });

  it('reads the key back from a file that holds it whole', () => {
    for (const key of ['a/b', 'a/', '//', '.', '..', 'x y/%D', 'ü/ö']) expect(keyOfFile(objectFile(key))).toBe(key);
    expect(keyOfFile(objectFile(long))).toBeUndefined();
    expect(keyOfFile('objects/a%D')).toBeUndefined();
    expect(keyOfFile('objects/%zz')).toBeUndefined();
  });
});

// Keys made of the parts that are hard to store: empty, ".", "..", "%", the folder mark, long and non-ASCII.
const segment = fc.oneof(
  fc.constantFrom('', '.', '..', '%', '%D', 'a%D', '%%', 'a', 'A', long, `${long}a`, 'é'.repeat(80), 'x%2E'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);
const key = fc
  .array(segment, { minLength: 1, maxLength: 5 })
  .map((segments) => segments.join('/'))
  .filter((text) => text !== '' && text.isWellFormed() && Buffer.byteLength(text) <= 1024);

describe('objectFile over random keys', () => {
  it('maps two different keys to two different files, neither inside the other', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        fc.pre(a !== b);
        const [fa, fb] = [objectFile(a), objectFile(b)];
        expect(fa).not.toBe(fb);
        expect(fb.startsWith(`${fa}/`)).toBe(false);
        expect(fa.startsWith(`${fb}/`)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives plain relative paths of safe names: no "", "." or "..", no glob characters, short names', () => {
    fc.assert(
      fc.property(key, (k) => {
        const parts = objectFile(k).split('/');
        for (const part of parts) {
          expect(part === '' || part === '.' || part === '..').toBe(false);
          expect(part).toMatch(/^[A-Za-z0-9._~%-]+$/);
          expect(Buffer.byteLength(part)).toBeLessThanOrEqual(255);
        }
        const back = keyOfFile(objectFile(k));
        if (back !== undefined) expect(back).toBe(k);
      }),
      { numRuns: 3000 },
    );
  });
});
