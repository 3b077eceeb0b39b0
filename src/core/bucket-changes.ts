// Which objects a bucket backup reads, and which a bucket restore writes.
//
// A backup stages one file per object and lets the engine tell changed files
// by mtime and size alone (mtime-size change detection). An object the
// previous snapshot holds unchanged (same key, size, ETag and LastModified in
// its manifest, and a file there of the size and mtime this object gets) is
// staged as an empty placeholder of that size and mtime, and the engine takes
// its content from that snapshot without reading it. Every other object is
// read. An object's mtime is its LastModified second plus a fraction drawn
// from its ETag, so a body rewritten within the same second and at the same
// size still gets another mtime, and the engine reads it.
import { createHash } from 'node:crypto';
import type { ManifestObject } from './bucket-manifest.ts';

/** An object as a listing gives it (ETag without quotes). */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
}

/** A file of the previous snapshot, as the engine lists it. */
export interface ParentFile {
  size: number;
  mtimeNs: bigint;
}

/** A staged file's mtime: as utimes takes it (seconds, a double), and the nanoseconds the file system keeps. */
export interface ObjectTime {
  seconds: number;
  ns: bigint;
}

export type ObjectDecision =
  /** Staged as a placeholder; the manifest line is the previous one. */
  | { kind: 'reuse'; previous: ManifestObject; time: ObjectTime }
  | { kind: 'read'; why: 'new' | 'changed' | 'not in the previous snapshot'; time: ObjectTime };

const fractionSteps = 2 ** 20;

/**
 * The mtime of an object's file: LastModified's second, and k/2^20 of a second with k from the ETag's
 * SHA-256. A double holds that exactly, and the file system keeps it as Node's utimes sets it: the
 * fraction times 1e9, truncated to whole nanoseconds (libuv; bucket-stage.test.ts checks it on the
 * file system). undefined when lastModified is not a time.
 */
export function objectTime(lastModified: string, etag: string, nudge = 0): ObjectTime | undefined {
  const ms = Date.parse(lastModified);
  if (Number.isNaN(ms)) return undefined;
  const second = Math.floor(ms / 1000);
  const k = (createHash('sha256').update(etag, 'utf8').digest().readUInt32BE(0) + nudge) % fractionSteps;
  const nanos = (BigInt(k) * 1_953_125n) / 2048n; // k * 1e9 / 2^20, truncated
  return { seconds: second + k / fractionSteps, ns: BigInt(second) * 1_000_000_000n + nanos };
}

/** Whether listing and manifest describe the same object version. */
export function sameVersion(listed: ListedObject, previous: ManifestObject): boolean {
  return (
    listed.size === previous.size &&
    listed.etag === previous.etag &&
    Date.parse(listed.lastModified) === Date.parse(previous.lastModified)
  );
}

/**
 * Reuse or read. previous: the previous manifest's line for the key; parentFile: the file the previous
 * snapshot has at the key's path (file), as the engine lists it. Any doubt reads.
 */
export function decideObject(
  listed: ListedObject,
  file: string,
  previous: ManifestObject | undefined,
  parentFile: ParentFile | undefined,
): ObjectDecision | { kind: 'invalid'; why: string } {
  const time = objectTime(listed.lastModified, listed.etag);
  if (time === undefined) return { kind: 'invalid', why: `LastModified "${listed.lastModified}" is not a time` };
  const matches = (candidate: ObjectTime) =>
    parentFile !== undefined && parentFile.size === listed.size && parentFile.mtimeNs === candidate.ns;
  if (previous !== undefined && previous.file === file && sameVersion(listed, previous) && matches(time)) {
    return { kind: 'reuse', previous, time };
  }
  const why = previous === undefined ? 'new' : parentFile === undefined ? 'not in the previous snapshot' : 'changed';
  // A changed body that would still look unchanged to the engine (same size, and the fraction drawn
  // alike): another fraction, so the engine reads it.
  let readTime = time;
  for (let nudge = 1; matches(readTime); nudge++)
    readTime = objectTime(listed.lastModified, listed.etag, nudge) ?? time;
  return { kind: 'read', why, time: readTime };
}

/**
 * The staged manifest's mtime: the latest LastModified's second and a fraction from the manifest's SHA-256,
 * so an unchanged manifest is not read again and a changed one always is (never the previous one's mtime).
 */
export function manifestTime(
  sha256: string,
  objects: readonly { lastModified: string }[],
  previous: { sha256: string; mtimeNs: bigint | undefined } | undefined,
): ObjectTime {
  const latest = objects.reduce((max, object) => Math.max(max, Date.parse(object.lastModified) || 0), 0);
  const at = new Date(latest).toISOString();
  const fallback = { seconds: latest / 1000, ns: BigInt(latest) * 1_000_000n };
  let time = objectTime(at, sha256) ?? fallback;
  for (let nudge = 1; previous !== undefined && previous.sha256 !== sha256 && previous.mtimeNs === time.ns; nudge++) {
    time = objectTime(at, sha256, nudge) ?? fallback;
  }
  return time;
}

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits (as restic prints mtimes). */
export function rfc3339Nanos(text: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (match === null) return undefined;
  const [, whole = '', fraction = '', zone = ''] = match;
  const ms = Date.parse(`${whole}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** An ETag as S3 sends it ("\"abc\"", W/ never): without the quotes. */
export function plainEtag(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

/** The MD5 an ETag is, for an object uploaded in one piece; undefined for a multipart one ("...-3"). */
export function etagMd5(etag: string): string | undefined {
  return /^[0-9a-f]{32}$/i.test(etag) ? etag.toLowerCase() : undefined;
}

/** What a target bucket holds of a key: what tells whether a restore must write it. */
export interface TargetObject {
  size: number;
  etag: string;
}

export interface BucketRestorePlan {
  write: ManifestObject[];
  unchanged: ManifestObject[];
  /** Keys under the prefix the snapshot lacks (deleteNewer only). */
  remove: string[];
}

/** For each object of the snapshot under prefix: write it unless the target has it alike; what else to delete. */
export function bucketRestorePlan(
  objects: readonly ManifestObject[],
  prefix: string,
  target: ReadonlyMap<string, TargetObject>,
  deleteNewer: boolean,
): BucketRestorePlan {
  const selected = objects.filter((object) => object.key.startsWith(prefix));
  const keys = new Set(selected.map((object) => object.key));
  const alike = (object: ManifestObject) => {
    const there = target.get(object.key);
    return there !== undefined && there.size === object.size && there.etag === object.etag;
  };
  return {
    write: selected.filter((object) => !alike(object)),
    unchanged: selected.filter(alike),
    remove: deleteNewer ? [...target.keys()].filter((key) => key.startsWith(prefix) && !keys.has(key)) : [],
  };
}
