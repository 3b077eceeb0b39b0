import { describe, expect, it } from 'vitest';
import type { ListingEntry } from '../api/index.ts';
import { modeString } from './browse-commands.ts';

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

  it('takes the type from the entry and only the low 9 bits of the mode', () => {
    // restic reports Go's os.FileMode: ModeDir is 1 << 31, setuid 1 << 23, sticky 1 << 20.
    expect(modeString(entry('dir', 2 ** 31 + 0o755))).toBe('drwxr-xr-x');
    expect(modeString(entry('file', 2 ** 23 + 0o755))).toBe('-rwxr-xr-x');
    expect(modeString(entry('dir', 2 ** 20 + 0o777))).toBe('drwxrwxrwx');
    expect(modeString(entry('file', 0o4755))).toBe('-rwxr-xr-x');
  });
});
