import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketRestorePlan,
  decideObject,
  etagMd5,
  manifestTime,
  objectTime,
  plainEtag,
  rfc3339Nanos,
  type ListedObject,
} from './bucket-changes.ts';
import type { ManifestObject } from './bucket-manifest.ts';

const listed: ListedObject = {
  key: 'a/b.txt',
  size: 10,
  etag: '0123456789abcdef0123456789abcdef',
  lastModified: '2026-03-01T10:00:00.000Z',
};
const file = 'objects/a%D/b.txt';
const previous: ManifestObject = { ...listed, file, contentType: 'text/plain', metadata: {} };
const timeOf = (object: ListedObject) => {
  const time = objectTime(object.lastModified, object.etag);
  if (time === undefined) throw new Error('no time');
  return time;
};
const parentOf = (object: ListedObject) => ({ size: object.size, mtimeNs: timeOf(object).ns });

describe('decideObject', () => {
  it('reuses an object the previous snapshot holds alike', () => {
    expect(decideObject(listed, file, previous, parentOf(listed))).toMatchObject({ kind: 'reuse', previous });
  });

  it.each<[string, ListedObject, ManifestObject | undefined, boolean, string]>([
    ['a new key', listed, undefined, true, 'new'],
    ['another ETag at the same size and second', { ...listed, etag: 'ffff' }, previous, true, 'changed'],
    ['another size', { ...listed, size: 11 }, previous, true, 'changed'],
    ['another LastModified', { ...listed, lastModified: '2026-03-01T10:00:01.000Z' }, previous, true, 'changed'],
    ['a manifest line the previous snapshot has no file for', listed, previous, false, 'not in the previous snapshot'],
  ])('reads %s', (_, object, before, inParent, why) => {
    const decision = decideObject(object, file, before, inParent ? parentOf(listed) : undefined);
    expect(decision).toMatchObject({ kind: 'read', why });
  });

  it('reads when the previous file has another mtime or size than the manifest says', () => {
    const parent = parentOf(listed);
    expect(decideObject(listed, file, previous, { ...parent, mtimeNs: parent.mtimeNs + 1000n }).kind).toBe('read');
    expect(decideObject(listed, file, previous, { ...parent, size: 9 }).kind).toBe('read');
    expect(decideObject(listed, 'objects/other', { ...previous, file: 'objects/other' }, parent).kind).toBe('reuse');
    expect(decideObject(listed, file, { ...previous, file: 'objects/moved' }, parent).kind).toBe('read');
  });

  it('gives a changed object that would look unchanged to the engine another mtime', () => {
    // The parent file has exactly the mtime and size the changed object would get.
    const changed = { ...listed, etag: 'fedcba9876543210fedcba9876543210' };
    const decision = decideObject(changed, file, previous, { size: changed.size, mtimeNs: timeOf(changed).ns });
    expect(decision.kind).toBe('read');
    if (decision.kind === 'read') expect(decision.time.ns).not.toBe(timeOf(changed).ns);
  });

  it('refuses a LastModified that is not a time', () => {
    expect(decideObject({ ...listed, lastModified: 'yesterday' }, file, undefined, undefined).kind).toBe('invalid');
  });
});

describe('objectTime', () => {
  it('is the LastModified second plus a fraction, the same as a double and in nanoseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), fc.string(), (second, etag) => {
        const time = objectTime(new Date(second * 1000).toISOString(), etag);
        if (time === undefined) throw new Error('no time');
        expect(Math.floor(time.seconds)).toBe(second);
        expect(time.ns / 1_000_000_000n).toBe(BigInt(second));
        // What libuv does with the double: whole seconds, the rest times 1e9, truncated.
        expect(time.ns % 1_000_000_000n).toBe(BigInt(Math.trunc((time.seconds - second) * 1e9)));
      }),
    );
  });

  it('differs for another ETag at the same second (almost always)', () => {
    const times = new Set(Array.from({ length: 1000 }, (_, i) => objectTime('2026-03-01T10:00:00Z', `etag-${i}`)?.ns));
    expect(times.size).toBeGreaterThan(995);
  });
});

describe('rfc3339Nanos', () => {
  it.each([
    ['2026-03-01T10:00:00Z', 1772359200000000000n],
    ['2026-03-01T10:00:00.5Z', 1772359200500000000n],
    ['2026-03-01T10:00:00.123456789Z', 1772359200123456789n],
    ['2026-03-01T11:00:00.000001+01:00', 1772359200000001000n],
  ])('%s is %s ns', (text, ns) => {
    expect(rfc3339Nanos(text)).toBe(ns);
  });
  it('refuses what is not RFC 3339', () => {
    expect(rfc3339Nanos('2026-03-01 10:00:00')).toBeUndefined();
    expect(rfc3339Nanos('2026-03-01T10:00:00.1234567891Z')).toBeUndefined();
  });
});

describe('ETags', () => {
  it('loses its quotes, and is an MD5 only when uploaded in one piece', () => {
    expect(plainEtag('"abc"')).toBe('abc');
    expect(etagMd5('0123456789ABCDEF0123456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
    expect(etagMd5('0123456789abcdef0123456789abcdef-3')).toBeUndefined();
  });
});

describe('bucketRestorePlan', () => {
  const object = (key: string, etag = 'e1'): ManifestObject => ({ ...previous, key, file: `objects/${key}`, etag });
  const objects = [object('docs/a'), object('docs/b'), object('docs/c'), object('img/x')];
  const target = new Map([
    ['docs/a', { size: 10, etag: 'e1' }],
    ['docs/b', { size: 10, etag: 'e2' }],
    ['docs/new', { size: 1, etag: 'e9' }],
  ]);

  it('writes what the target lacks or has otherwise, and deletes what is newer only when asked', () => {
    const plan = bucketRestorePlan(objects, 'docs/', target, true);
    expect(plan.write.map((o) => o.key)).toEqual(['docs/b', 'docs/c']);
    expect(plan.unchanged.map((o) => o.key)).toEqual(['docs/a']);
    expect(plan.remove).toEqual(['docs/new']);
    expect(bucketRestorePlan(objects, 'docs/', target, false).remove).toEqual([]);
  });

  it('takes the whole snapshot with an empty prefix', () => {
    const plan = bucketRestorePlan(objects, '', target, true);
    expect(plan.write.map((o) => o.key)).toEqual(['docs/b', 'docs/c', 'img/x']);
    expect(plan.remove).toEqual(['docs/new']);
  });
});

describe('manifestTime', () => {
  const objects = [{ lastModified: '2026-03-01T10:00:00Z' }, { lastModified: '2026-03-02T10:00:00.700Z' }];
  it('is the same for the same manifest, at the latest LastModified second', () => {
    const time = manifestTime('aa', objects, undefined);
    expect(time).toEqual(manifestTime('aa', objects, { sha256: 'aa', mtimeNs: time.ns }));
    expect(time.ns / 1_000_000_000n).toBe(BigInt(Date.parse('2026-03-02T10:00:00Z') / 1000));
  });
  it("never takes the previous manifest's mtime for another manifest", () => {
    const previous = { sha256: 'bb', mtimeNs: manifestTime('aa', objects, undefined).ns };
    expect(manifestTime('aa', objects, previous).ns).not.toBe(previous.mtimeNs);
  });
  it('takes the epoch for an empty bucket', () => {
    expect(manifestTime('aa', [], undefined).ns / 1_000_000_000n).toBe(0n);
  });
});
