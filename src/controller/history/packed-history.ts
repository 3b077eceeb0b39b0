// How the operator's cache holds VolumeHistories: a long history's lines are
// kept deflated, so the cache of 10,000 volumes with a hundred kept backups
// each stays within the operator's memory budget. What per-event work reads
// (the newest line, the oldest) stays plain; the rest is inflated for the one
// volume a restore, a block backup or the history writer looks at.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { VolumeHistory } from '../../api/index.ts';
import { historyLength } from '../../core/index.ts';

/**
 * Histories with fewer lines are kept as they are. One the operator writes keeps at most five lines
 * plain and the rest in its archive; longer ones name several repositories, or an earlier version wrote them.
 */
const packFrom = 8;

/**
 * The deflated lines, as a one-byte string: exactly their size on the V8 heap. A Buffer from
 * deflateRawSync keeps its whole 64 KiB output chunk alive, 10,000 of them over 600 MiB.
 */
const packed = new WeakMap<VolumeHistory, { bytes: string; count: number }>();

/** The informer's transform: long histories keep only their newest and oldest line in `status.backups`. */
export function packHistory(history: VolumeHistory): VolumeHistory {
  const lines = history.status?.backups;
  // A history whose lines name their own repository needs every line for its summary: kept plain.
  if (lines === undefined || lines.length < packFrom || lines.some((line) => line.includes(' repo='))) return history;
  const small: VolumeHistory = {
    ...history,
    status: { ...history.status, backups: [lines[0] ?? '', lines.at(-1) ?? ''] },
  };
  packed.set(small, { bytes: deflateRawSync(lines.join('\n')).toString('latin1'), count: historyLength(history) });
  return small;
}

/** The history with every line, as the API holds it. */
export function unpackHistory(history: VolumeHistory): VolumeHistory;
export function unpackHistory(history: VolumeHistory | undefined): VolumeHistory | undefined;
export function unpackHistory(history: VolumeHistory | undefined): VolumeHistory | undefined {
  const bytes = history === undefined ? undefined : packed.get(history);
  if (history === undefined || bytes === undefined) return history;
  return {
    ...history,
    status: { ...history.status, backups: inflateRawSync(Buffer.from(bytes.bytes, 'latin1')).toString().split('\n') },
  };
}

/** How many kept backups a cached history holds, without inflating it. */
export function keptCount(history: VolumeHistory | undefined): number {
  if (history === undefined) return 0;
  return packed.get(history)?.count ?? historyLength(history);
}
