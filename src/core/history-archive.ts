// The older part of a long VolumeHistory, kept deflated in the object itself
// (status.archive), so a volume with a hundred kept backups weighs a few
// kilobytes in etcd and in the API server, not twenty. An archived entry keeps
// what listing, restore, retention and block chains need (name, capture time,
// size, method, trigger, policy, change detection, VolumeSnapshot, path,
// block fields) and drops the run's statistics (when it finished, how long it
// took, bytes added, file counts): restic keeps those in the snapshot itself.
// The lines are compressed with Brotli, which packs these short, repetitive
// lines about a tenth smaller than deflate. A file backup's
// restic id is shortened to its first 16 digits, which restic resolves and
// refuses when ambiguous; a block backup keeps its full id, since its
// overlays name it as their parent.
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { KeptEntry } from './volume-history.ts';

/** How many digits of a file backup's restic id the archive keeps (64 bits). */
export const archivedIdDigits = 16;

/** What an entry keeps once archived. */
export function archivedEntry(entry: KeptEntry): KeptEntry {
  const kept = { ...entry };
  delete kept.done;
  delete kept.took;
  delete kept.added;
  delete kept.files;
  if (entry.block === undefined) kept.id = entry.id.slice(0, archivedIdDigits);
  return kept;
}

/**
 * Lines are written as the history's own (see encodeEntry), but the name is given as the length of
 * the part it shares with the line before and the rest ("24:0300"), and the capture time as seconds
 * before the line before: what a history repeats line after line then compresses to almost nothing.
 */
export function packArchive(entries: readonly KeptEntry[], encode: (entry: KeptEntry) => string): string {
  let previous: KeptEntry | undefined;
  const lines = entries.map((entry) => {
    const [, , ...rest] = encode(entry).split(' ');
    const shared = previous === undefined ? 0 : sharedPrefix(previous.name, entry.name);
    const seconds = Date.parse(entry.time) / 1000;
    const time = previous === undefined ? seconds : Date.parse(previous.time) / 1000 - seconds;
    previous = entry;
    return [`${shared}:${escapeField(entry.name.slice(shared))}`, String(time), ...rest].join(' ');
  });
  const text = Buffer.from(lines.join('\n'));
  return brotliCompressSync(text, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: text.length,
    },
  }).toString('base64');
}

/** The archive's entries, newest first; undefined when it is not an archive Safehold wrote. */
export function unpackArchive(
  archive: string,
  decode: (line: string) => KeptEntry | undefined,
): KeptEntry[] | undefined {
  let text: string;
  try {
    text = brotliDecompressSync(Buffer.from(archive, 'base64')).toString();
  } catch {
    return undefined;
  }
  const entries: KeptEntry[] = [];
  let previous: KeptEntry | undefined;
  for (const line of text === '' ? [] : text.split('\n')) {
    const [name, time, ...rest] = line.split(' ');
    const colon = name?.indexOf(':') ?? -1;
    const offset = Number(time);
    if (name === undefined || colon < 0 || Number.isNaN(offset)) return undefined;
    const shared = Number(name.slice(0, colon));
    const fullName = (previous?.name ?? '').slice(0, shared) + decodeURIComponent(name.slice(colon + 1));
    const seconds = previous === undefined ? offset : Date.parse(previous.time) / 1000 - offset;
    const at = new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
    const entry = decode([escapeField(fullName), at, ...rest].join(' '));
    if (entry === undefined) return undefined;
    entries.push(entry);
    previous = entry;
  }
  return entries;
}

function sharedPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** A history line's field: only what would split a line or a field is escaped, so lines stay readable. */
export const escapeField = (v: string | number) => String(v).replace(/[%\s]/g, (c) => encodeURIComponent(c));
