// What `safehold ls` prints: a listing's entries as a table for people (mode
// string, owner, size, time, path, each name escaped onto one line) or as
// records for programs (-o json|yaml).
import type { ListingEntry } from '../api/index.ts';
import { formatBytes } from '../core/index.ts';
import { forPrograms, type OutputFormat } from './output-format.ts';
import { printable, renderTable } from './table.ts';

const typeLetter: Record<ListingEntry['type'], string> = {
  file: '-',
  dir: 'd',
  symlink: 'l',
  dev: 'b',
  chardev: 'c',
  fifo: 'p',
  socket: 's',
  irregular: '?',
};

/** Each execute place: its letter, and the special bit shown there (lower case when x is set too). */
const executePlaces = [
  { shift: 6, special: 0o4000, letter: 's' },
  { shift: 3, special: 0o2000, letter: 's' },
  { shift: 0, special: 0o1000, letter: 't' },
] as const;

/** "drwxr-x---", "-rwsr-sr-t" as ls -l shows them, from the entry's type and Unix mode (0o7777 bits). */
export function modeString(entry: ListingEntry): string {
  const mode = entry.mode ?? 0;
  const triads = executePlaces.map(({ shift, special, letter }) => {
    const bits = (mode >> shift) & 0o7;
    const x = bits & 1 ? 'x' : '-';
    const exec = mode & special ? (bits & 1 ? letter : letter.toUpperCase()) : x;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${exec}`;
  });
  return `${typeLetter[entry.type]}${triads.join('')}`;
}

export function renderListing(entries: readonly ListingEntry[], format: OutputFormat): string {
  return (
    forPrograms(format, entries) ??
    renderTable(
      ['MODE', 'OWNER', 'SIZE', 'MODIFIED', 'PATH'],
      entries.map((e) => [
        modeString(e),
        `${e.uid ?? ''}:${e.gid ?? ''}`,
        e.type === 'file' && e.size !== undefined ? formatBytes(e.size) : '',
        e.mtime?.slice(0, 19).replace('T', ' ') ?? '',
        `${printable(e.path)}${e.type === 'dir' ? '/' : ''}${e.linkTarget === undefined ? '' : ` -> ${printable(e.linkTarget)}`}`,
      ]),
    )
  );
}
