// What `restic prune` says it removed. restic 0.18 has no JSON for prune (it
// ignores --json), so the mover reads the summary it prints on stdout:
//
//   to repack:             6 blobs / 5.723 MiB
//   this removes:          3 blobs / 2.861 MiB
//   to delete:             4 blobs / 1.185 KiB
//   total prune:           7 blobs / 2.862 MiB
//   remaining:             7 blobs / 2.862 MiB
//   unused size after prune: 0 B (0.00% of remaining size)
//
// "total prune" is what "this removes" (repacked away) and "to delete" add up
// to. Sizes come in binary units with three decimals, so bytes are as exact
// as restic prints them.

export interface BlobAmount {
  blobs: number;
  bytes: number;
  /** As restic wrote it, e.g. "2.862 MiB". */
  size: string;
}

export interface PruneReport {
  repacked: BlobAmount;
  /** Removed by repacking: the unused blobs of packs rewritten. */
  repackedAway: BlobAmount;
  deleted: BlobAmount;
  total: BlobAmount;
  remaining: BlobAmount;
}

const units = { B: 0, KiB: 1, MiB: 2, GiB: 3, TiB: 4 } as const;
const amountLine =
  /^(to repack|this removes|to delete|total prune|remaining):?\s+(\d+) blobs \/ (\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB)$/;

/** Bytes of a size as restic formats it ("2.862 MiB", "0 B"); undefined for anything else. */
export function parseResticSize(size: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB)$/.exec(size.trim());
  if (match === null) return undefined;
  const [, value = '', unit = 'B'] = match;
  return Math.round(Number(value) * 1024 ** units[unit as keyof typeof units]);
}

/** The summary in prune's output; undefined when a line of it is missing. */
export function parsePruneReport(lines: readonly string[]): PruneReport | undefined {
  const found = new Map<string, BlobAmount>();
  for (const line of lines) {
    const match = amountLine.exec(line.trim());
    if (match === null) continue;
    const [, label = '', blobs = '', value = '', unit = ''] = match;
    const size = `${value} ${unit}`;
    found.set(label, { blobs: Number(blobs), bytes: parseResticSize(size) ?? 0, size });
  }
  const repacked = found.get('to repack');
  const repackedAway = found.get('this removes');
  const deleted = found.get('to delete');
  const total = found.get('total prune');
  const remaining = found.get('remaining');
  if (!repacked || !repackedAway || !deleted || !total || !remaining) return undefined;
  return { repacked, repackedAway, deleted, total, remaining };
}

/** One line for people: what went, what stays. */
export function describePrune(report: PruneReport): string {
  const { total, deleted, repackedAway, repacked, remaining } = report;
  if (total.blobs === 0 && total.bytes === 0)
    return `nothing to remove; ${remaining.size} in ${remaining.blobs} blobs remain`;
  const repacking = repacked.blobs === 0 ? '' : `, ${repackedAway.size} by repacking ${repacked.size}`;
  return `freed ${total.size} (${total.blobs} blobs: ${deleted.size} deleted${repacking}); ${remaining.size} in ${remaining.blobs} blobs remain`;
}
