// Where a bucket backup keeps each object: one file per key under objects/,
// at a relative path that any S3 key maps to and no two keys share. S3 keys
// may hold "//", "." and ".." segments, a trailing "/", segments longer than a
// file name may be, and characters no file name takes; a key may also be both
// an object and the folder of others ("a" and "a/b"). So each segment is
// percent-encoded outside a small safe set, an empty segment is a lone "%",
// folders end in "%D" (which no encoded file name does), a segment that would
// encode to more than 200 bytes keeps a readable start and its SHA-256, and a
// key whose path would pass 3,000 bytes becomes one file named by its hash.
// The snapshot's manifest is the truth for key <-> file; this only has to be
// deterministic and collision-free. The names hold no glob characters, so a
// path selects itself in an engine's include pattern.
import { createHash } from 'node:crypto';

/** The folder of a bucket snapshot that holds the objects' files. */
export const objectsFolder = 'objects';

/** Longest encoded segment kept as it is, in bytes (file names take 255). */
const maxSegmentBytes = 200;
/** What a long segment keeps of its encoding before its hash. */
const keptSegmentBytes = 120;
/** Longest path under objects/ before the whole key is hashed (PATH_MAX is 4096, and the work folder comes first). */
const maxPathBytes = 3000;

const folderMark = '%D';

/** The file of an object, relative to the snapshot's folder: objects/<segments>. */
export function objectFile(key: string): string {
  const segments = key.split('/');
  const last = segments.pop() ?? '';
  const path = [...segments.map((segment) => `${encodeSegment(segment)}${folderMark}`), encodeSegment(last)].join('/');
  if (Buffer.byteLength(path, 'utf8') > maxPathBytes) return `${objectsFolder}/%K${sha256(key)}`;
  return `${objectsFolder}/${path}`;
}

/** One segment as a file name: safe bytes as they are, the rest %XX (upper-case), "" as "%". */
export function encodeSegment(segment: string): string {
  if (segment === '') return '%';
  let encoded = '';
  for (const byte of Buffer.from(segment, 'utf8')) {
    encoded += isSafe(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  // "." and ".." name the folder itself and its parent.
  if (encoded === '.' || encoded === '..') encoded = encoded.replaceAll('.', '%2E');
  if (encoded.length <= maxSegmentBytes) return encoded;
  // Cut before a %XX, never inside it.
  const cut = encoded.slice(0, keptSegmentBytes).replace(/%[0-9A-F]?$/, '');
  return `${cut}%H${sha256(segment)}`;
}

/**
 * The key back from its file, when the file holds it whole (no hashed segment); undefined otherwise.
 * The manifest is what restores read; this serves checks and people reading a snapshot.
 */
export function keyOfFile(file: string): string | undefined {
  if (!file.startsWith(`${objectsFolder}/`)) return undefined;
  const parts = file.slice(objectsFolder.length + 1).split('/');
  const last = parts.pop();
  if (last === undefined || last.endsWith(folderMark)) return undefined;
  const folders = parts.map((part) => (part.endsWith(folderMark) ? part.slice(0, -folderMark.length) : undefined));
  const segments = [...folders, last].map((part) => (part === undefined ? undefined : decodeSegment(part)));
  return segments.every((segment) => segment !== undefined) ? segments.join('/') : undefined;
}

function decodeSegment(encoded: string): string | undefined {
  if (encoded === '%') return '';
  if (encoded.includes('%H') || encoded.includes('%K')) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const char = encoded.charCodeAt(i);
    if (char !== 0x25) {
      if (!isSafe(char)) return undefined;
      bytes.push(char);
      continue;
    }
    const hex = encoded.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  const text = Buffer.from(bytes).toString('utf8');
  return encodeSegment(text) === encoded ? text : undefined;
}

/** A-Z a-z 0-9 - . _ ~ : the bytes every file system and shell takes as they are. */
function isSafe(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
