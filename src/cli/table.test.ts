import { describe, expect, it } from 'vitest';
import { printable, renderTable } from './table.ts';

describe('renderTable', () => {
  it('pads columns to the widest visible cell, colour codes not counted', () => {
    expect(
      renderTable(
        ['A', 'B'],
        [
          ['\x1b[32mok\x1b[39m', 'x'],
          ['long', 'y'],
        ],
      ),
    ).toBe('A     B\n\x1b[32mok\x1b[39m    x\nlong  y\n');
  });

  it('keeps a name with a newline, a tab or an escape sequence on its own row', () => {
    const table = renderTable(
      ['MODE', 'PATH'],
      [
        ['-rw-r--r--', 'two\nlines'],
        ['-rw-r--r--', 'tab\there\x1b[2J'],
      ],
    );
    expect(table.split('\n')).toEqual([
      'MODE        PATH',
      '-rw-r--r--  two\\nlines',
      '-rw-r--r--  tab\\there\\033[2J',
      '',
    ]);
  });
});

describe('printable', () => {
  it.each([
    ['plain name.txt', 'plain name.txt'],
    ['new\nline', 'new\\nline'],
    ['cr\rbell\x07', 'cr\\rbell\\a'],
    ['esc\x1b[31m', 'esc\\033[31m'],
    ['del\x7f', 'del\\177'],
    ['c1\u0085 sep\u2028', 'c1\\u0085 sep\\u2028'],
    ['back\\slash\\n', 'back\\\\slash\\\\n'],
    ['ünïcödé', 'ünïcödé'],
  ])('shows %j as %s', (name, shown) => {
    expect(printable(name)).toBe(shown);
  });
});
