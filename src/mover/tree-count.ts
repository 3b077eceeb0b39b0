// What a restored folder holds, counted as a backup's summary counts it: each
// regular file's path once (a hardlinked file under each of its names) and
// the sum of their sizes (a sparse file at its length). A drill compares
// these with what the backup recorded. Symlinks are not followed; folders,
// links and special files are not counted.
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeCounts {
  files: number;
  bytes: number;
}

export async function countTree(root: string): Promise<TreeCounts> {
  const counts: TreeCounts = { files: 0, bytes: 0 };
  const folders = [root];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    for await (const entry of await opendir(folder)) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) folders.push(path);
      else if (entry.isFile()) {
        counts.files += 1;
        counts.bytes += (await lstat(path)).size;
      }
    }
  }
  return counts;
}
