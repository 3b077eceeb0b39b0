// A snapshot's entries as an engine lists them, found by volume path and given
// as the protocol's ListingEntry, whose paths start at the volume's root.
import { listingEntry, type ListingEntry } from '../api/index.ts';
import type { Listing, SnapshotEntry, SnapshotSource } from './engine.ts';
import { inSnapshot, inVolume } from './snapshot-paths.ts';

const entryType = listingEntry.shape.type;

/** The entry a listing holds for a volume path, if the snapshot has it. */
export function entryAt(listing: Listing, source: SnapshotSource, path: string): SnapshotEntry | undefined {
  const wanted = inSnapshot(source.snapshotPath, path);
  return listing.entries.find((entry) => entry.path === wanted);
}

/** The entry as a listing entry, its path relative to the volume's root; undefined when outside the volume. */
export function listingEntryOf(entry: SnapshotEntry, snapshotPath: string): ListingEntry | undefined {
  const path = inVolume(snapshotPath, entry.path);
  if (path === undefined) return undefined;
  const type = entryType.safeParse(entry.type);
  return {
    path,
    type: type.success ? type.data : 'irregular',
    ...(entry.size === undefined ? {} : { size: entry.size }),
    ...(entry.mode === undefined ? {} : { mode: entry.mode }),
    ...(entry.uid === undefined ? {} : { uid: entry.uid }),
    ...(entry.gid === undefined ? {} : { gid: entry.gid }),
    ...(entry.mtime === undefined ? {} : { mtime: entry.mtime }),
  };
}
