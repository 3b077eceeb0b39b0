// Plain-text tables: columns padded to the widest visible cell (colour codes
// do not count), two spaces apart, no trailing blanks.
export function renderTable(header: readonly string[], cells: readonly (readonly string[])[]): string {
  // eslint-disable-next-line no-control-regex -- strips the colour codes to measure width
  const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => visible(r[i] ?? ''))));
  const line = (r: readonly string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell))))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}
