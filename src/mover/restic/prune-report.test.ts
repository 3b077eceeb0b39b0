import { describe, expect, it } from 'vitest';
import { describePrune, parsePruneReport, parseResticSize } from './prune-report.ts';

// restic 0.18.1's stdout for `restic prune`, after forgetting a snapshot that
// shared a pack with one that stays.
const repacking = `loading indexes...
loading all snapshots...
finding data that is still in use for 1 snapshots
[0:00] 100.00%  1 / 1 snapshots
searching used packs...
collecting packs for deletion and repacking
[0:00] 100.00%  3 / 3 packs processed

to repack:             6 blobs / 5.723 MiB
this removes:          3 blobs / 2.861 MiB
to delete:             4 blobs / 1.185 KiB
total prune:           7 blobs / 2.862 MiB
remaining:             7 blobs / 2.862 MiB
unused size after prune: 0 B (0.00% of remaining size)

repacking packs
[0:00] 100.00%  1 / 1 packs repacked
rebuilding index
[0:00] 100.00%  3 / 3 indexes processed
[0:00] 100.00%  3 / 3 old indexes deleted
removing 2 old packs
[0:00] 100.00%  2 / 2 files deleted
done`.split('\n');

const nothing = `loading indexes...
loading all snapshots...
finding data that is still in use for 1 snapshots
[0:00] 100.00%  1 / 1 snapshots
searching used packs...
collecting packs for deletion and repacking
[0:00] 100.00%  2 / 2 packs processed

to repack:             0 blobs / 0 B
this removes:          0 blobs / 0 B
to delete:             0 blobs / 0 B
total prune:           0 blobs / 0 B
remaining:             7 blobs / 2.862 MiB
unused size after prune: 0 B (0.00% of remaining size)

done`.split('\n');

describe('parseResticSize', () => {
  it.each([
    ['0 B', 0],
    ['812 B', 812],
    ['1.185 KiB', 1213],
    ['2.862 MiB', 3001025],
    ['1.500 GiB', 1610612736],
    ['2.000 TiB', 2199023255552],
  ])('reads %s as %d bytes', (size, bytes) => {
    expect(parseResticSize(size)).toBe(bytes);
  });

  it.each(['', '12', '1.5 MB', 'many KiB'])('turns down %j', (size) => {
    expect(parseResticSize(size)).toBeUndefined();
  });
});

describe('parsePruneReport', () => {
  it('reads what was deleted, repacked away and what remains', () => {
    const report = parsePruneReport(repacking);
    expect(report).toEqual({
      repacked: { blobs: 6, bytes: 6001000, size: '5.723 MiB' },
      repackedAway: { blobs: 3, bytes: 2999976, size: '2.861 MiB' },
      deleted: { blobs: 4, bytes: 1213, size: '1.185 KiB' },
      total: { blobs: 7, bytes: 3001025, size: '2.862 MiB' },
      remaining: { blobs: 7, bytes: 3001025, size: '2.862 MiB' },
    });
    if (report === undefined) return;
    expect(describePrune(report)).toBe(
      'freed 2.862 MiB (7 blobs: 1.185 KiB deleted, 2.861 MiB by repacking 5.723 MiB); 2.862 MiB in 7 blobs remain',
    );
  });

  it('reads a prune with nothing to do', () => {
    const report = parsePruneReport(nothing);
    expect(report?.total).toEqual({ blobs: 0, bytes: 0, size: '0 B' });
    if (report !== undefined) expect(describePrune(report)).toBe('nothing to remove; 2.862 MiB in 7 blobs remain');
  });

  it('counts unreferenced packs, which have no blobs in the index, as freed', () => {
    const lines = nothing.map((line) =>
      line.startsWith('total prune') ? 'total prune:           0 blobs / 4.000 MiB' : line,
    );
    const report = parsePruneReport(lines);
    expect(report?.total.bytes).toBe(4 * 1024 * 1024);
    if (report !== undefined) expect(describePrune(report)).toMatch(/^freed 4.000 MiB/);
  });

  it('gives up on output without the summary rather than guess', () => {
    expect(parsePruneReport(nothing.filter((line) => !line.startsWith('total prune')))).toBeUndefined();
    expect(parsePruneReport(['Fatal: unable to create lock in backend'])).toBeUndefined();
  });
});
