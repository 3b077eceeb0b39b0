import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ListingEntry } from '../api/index.ts';
import { modeString, renderListing } from './listing-table.ts';

const entry = (type: ListingEntry['type'], mode?: number): ListingEntry => ({
  path: '/x',
  type,
  ...(mode === undefined ? {} : { mode }),
});

describe('modeString', () => {
  it.each<[ListingEntry['type'], number | undefined, string]>([
    ['dir', 0o750, 'drwxr-x---'],
    ['file', 0o644, '-rw-r--r--'],
    ['file', 0o755, '-rwxr-xr-x'],
    ['symlink', 0o777, 'lrwxrwxrwx'],
    ['dev', 0o660, 'brw-rw----'],
    ['chardev', 0o666, 'crw-rw-rw-'],
    ['fifo', 0o600, 'prw-------'],
    ['socket', 0o700, 'srwx------'],
    ['irregular', 0o000, '?---------'],
    ['file', undefined, '----------'],
  ])('shows a %s with mode %o as %s', (type, mode, shown) => {
    expect(modeString(entry(type, mode))).toBe(shown);
  });

  it.each([
    [0o400, '-r--------'],
    [0o200, '--w-------'],
    [0o100, '---x------'],
    [0o040, '----r-----'],
    [0o020, '-----w----'],
    [0o010, '------x---'],
    [0o004, '-------r--'],
    [0o002, '--------w-'],
    [0o001, '---------x'],
  ])('puts permission bit %o in its own place', (mode, shown) => {
    expect(modeString(entry('file', mode))).toBe(shown);
  });

  it('shows setuid, setgid and sticky in the execute places, capital where execute is not set', () => {
    expect(modeString(entry('file', 0o4755))).toBe('-rwsr-xr-x');
    expect(modeString(entry('file', 0o4644))).toBe('-rwSr--r--');
    expect(modeString(entry('dir', 0o2775))).toBe('drwxrwsr-x');
    expect(modeString(entry('dir', 0o2745))).toBe('drwxr-Sr-x');
    expect(modeString(entry('dir', 0o1777))).toBe('drwxrwxrwt');
    expect(modeString(entry('dir', 0o1770))).toBe('drwxrwx--T');
    expect(modeString(entry('file', 0o7777))).toBe('-rwsrwsrwt');
    expect(modeString(entry('file', 0o7000))).toBe('---S--S--T');
  });
});

describe('renderListing', () => {
  const entries: ListingEntry[] = [
    { path: '/tool', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 2048, mtime: '2024-05-06T07:08:09.5Z' },
    { path: '/two\nlines', type: 'file', mode: 0o644 },
    { path: '/link', type: 'symlink', mode: 0o777, linkTarget: 'a\x1b[2Jb' },
  ];

  it('prints one row per entry however its name is spelled', () => {
    const lines = renderListing(entries, 'table').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^-rwsr-xr-x\s+0:0\s+2 KiB\s+2024-05-06 07:08:09\s+\/tool$/);
    expect(lines[2]).toMatch(/\/two\\nlines$/);
    expect(lines[3]).toMatch(/\/link -> a\\033\[2Jb$/);
  });

  it.each(['json', 'yaml'] as const)('prints the entries as %s, names as they are', (format) => {
    const printed = renderListing(entries, format);
    expect(printed).not.toMatch(/^MODE/);
    if (format === 'json') expect(JSON.parse(printed)).toEqual(entries);
    else expect(parse(printed)).toEqual(entries);
  });
});
