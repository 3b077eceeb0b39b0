// Plain-text tables: columns padded to the widest visible cell (colour codes
// do not count), two spaces apart, no trailing blanks. A cell is one line:
// control characters in it (a file name with a newline, an escape sequence)
// are shown escaped, so no name can break a row or drive the terminal.

// eslint-disable-next-line no-control-regex -- the colour codes the commands add themselves
const colour = /\x1b\[[0-9;]*m/g;
// eslint-disable-next-line no-control-regex -- C0 and C1 controls, DEL, and the Unicode line and paragraph separators
const control = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const named: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\v': '\\v',
  '\f': '\\f',
  '\r': '\\r',
};

function escapeControl(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return (
    named[char] ?? (code < 0x80 ? `\\${code.toString(8).padStart(3, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
  );
}

/**
 * Text from outside (a file name, a link target) as one printable line, as `ls -b` shows it:
 * controls as C escapes (`\n`) or octal (`\033`), and a backslash doubled so that what is shown
 * reads back as one name.
 */
export function printable(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(control, escapeControl);
}

/** A cell with its controls escaped, keeping the colour codes a command put around it. */
function oneLine(cell: string): string {
  let out = '';
  let last = 0;
  for (const match of cell.matchAll(colour)) {
    out += cell.slice(last, match.index).replace(control, escapeControl) + match[0];
    last = match.index + match[0].length;
  }
  return out + cell.slice(last).replace(control, escapeControl);
}

export function renderTable(header: readonly string[], cells: readonly (readonly string[])[]): string {
  const rows = [header, ...cells].map((r) => r.map(oneLine));
  const visible = (text: string) => text.replace(colour, '').length;
  const widths = header.map((_, i) => Math.max(...rows.map((r) => visible(r[i] ?? ''))));
  const line = (r: readonly string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell))))
      .join('  ')
      .trimEnd();
  return rows.map(line).join('\n') + '\n';
}
