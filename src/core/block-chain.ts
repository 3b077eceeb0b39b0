// Incremental block backups form chains: a full QCOW2 image, then overlays,
// each naming its parent's restic snapshot (status.block.parent). These pure
// functions walk the chains: the images a restore applies, the parents that
// retention must keep for the backups it keeps, and whether the next backup
// of a volume may overlay the last one or must be a full image again.
import { snapshotIdOf, type VolumeBackup } from '../api/index.ts';

/** The backups a restore of `id` applies, full image first; `missing` when a parent is not in the catalogue. */
export function chainOf(
  backups: readonly VolumeBackup[],
  id: string,
): { chain: VolumeBackup[]; missing: string | undefined } {
  const byId = new Map(
    backups.flatMap((b) => {
      const id = snapshotIdOf(b.status);
      return id === undefined ? [] : [[id, b]];
    }),
  );
  const chain: VolumeBackup[] = [];
  const seen = new Set<string>();
  let next: string | undefined = id;
  while (next !== undefined) {
    const backup = byId.get(next);
    if (backup === undefined || seen.has(next)) return { chain: chain.reverse(), missing: next };
    seen.add(next);
    chain.push(backup);
    next = backup.status?.block?.parent;
  }
  return { chain: chain.reverse(), missing: undefined };
}

/**
 * Retention verdicts with every parent of a kept backup kept too: dropping a parent would make its
 * overlays unreadable. Works on any verdict list whose entries carry the backup.
 */
export function keepChainParents<
  V extends { entry: { id: string; backup: VolumeBackup }; keep: boolean; reasons: string[] },
>(verdicts: readonly V[]): V[] {
  const byId = new Map(verdicts.map((v, index) => [v.entry.id, index]));
  const result = verdicts.map((v) => ({ ...v, reasons: [...v.reasons] }));
  for (const kept of verdicts.filter((v) => v.keep)) {
    let parent = kept.entry.backup.status?.block?.parent;
    const seen = new Set<string>();
    while (parent !== undefined && !seen.has(parent)) {
      seen.add(parent);
      const index = byId.get(parent);
      const verdict = index === undefined ? undefined : result[index];
      if (verdict === undefined) break;
      if (!verdict.keep) {
        verdict.keep = true;
        verdict.reasons.push(`parent of ${kept.entry.id.slice(0, 8)}`);
      }
      parent = verdict.entry.backup.status?.block?.parent;
    }
  }
  return result;
}

export interface IncrementalInput {
  /** The volume's Succeeded backups. */
  backups: readonly VolumeBackup[];
  /** The RBD image this run reads (pool[/ns]/image): only backups of the same image can be a base. */
  image: string;
  /** Names of the volume's VolumeSnapshots that still exist and are ready. */
  snapshotsKept: ReadonlySet<string>;
  maxChainLength: number;
  /** Backups that retention would drop on their own merit (restic snapshot ids). */
  droppedByRetention: ReadonlySet<string>;
}

export type IncrementalChoice =
  | { kind: 'incremental'; parent: string; fromSnapshot: string; chainLength: number }
  | { kind: 'full'; because: string | undefined };

/** Whether the next backup overlays the newest one (and on what), or writes a full image, and why. */
export function chooseIncremental(input: IncrementalInput): IncrementalChoice {
  const latest = [...input.backups]
    .filter((b) => b.status?.phase === 'Succeeded' && b.status.block !== undefined)
    .sort((a, b) => (b.status?.snapshotTime ?? '').localeCompare(a.status?.snapshotTime ?? ''))[0];
  if (latest === undefined) return { kind: 'full', because: undefined };
  const block = latest.status?.block;
  const id = snapshotIdOf(latest.status);
  const rbd = block?.rbdSnapshot === undefined ? undefined : splitRbdSnapshot(block.rbdSnapshot);
  if (block === undefined || id === undefined || rbd === undefined)
    return { kind: 'full', because: `the last backup ${latest.metadata.name} read no RBD snapshot` };
  if (rbd.image !== input.image)
    return { kind: 'full', because: `the last backup ${latest.metadata.name} read another image (${rbd.image})` };
  if (!input.snapshotsKept.has(latest.status?.snapshotName ?? latest.metadata.name))
    return { kind: 'full', because: `the VolumeSnapshot of the last backup ${latest.metadata.name} is gone` };
  const { chain, missing } = chainOf(input.backups, id);
  if (missing !== undefined)
    return { kind: 'full', because: `the chain of ${latest.metadata.name} misses snapshot ${missing.slice(0, 8)}` };
  if (chain.length >= input.maxChainLength)
    return {
      kind: 'full',
      because: `the chain reached ${chain.length} images (maxChainLength ${input.maxChainLength})`,
    };
  const base = chain[0];
  const baseId = snapshotIdOf(base?.status) ?? '';
  if (input.droppedByRetention.has(baseId))
    return {
      kind: 'full',
      because: `retention would drop the full image ${base?.metadata.name ?? baseId.slice(0, 8)} but for its overlays`,
    };
  return { kind: 'incremental', parent: id, fromSnapshot: rbd.snapshot, chainLength: chain.length + 1 };
}

/** "pool/image@snap" or "pool/ns/image@snap" → the image part and the snapshot. */
export function splitRbdSnapshot(ref: string): { image: string; snapshot: string } | undefined {
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) return undefined;
  return { image: ref.slice(0, at), snapshot: ref.slice(at + 1) };
}
