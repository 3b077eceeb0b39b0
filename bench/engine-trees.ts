// The shapes of data the engines benchmark backs up, so that a win on one
// cannot hide a loss on another: the 2 GiB mixed tree of backup-2g.ts, 100,000
// small files, and one large file of which a tenth of the blocks change
// between backups. All random, so incompressible. Also: a cold read of a tree
// (the page cache dropped first), and a digest of a tree's paths and bytes
// that tells a faithful restore from a fast wrong one.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../testenv/command.ts';

export interface TreeSize {
  bytes: number;
  files: number;
}

/** 100,000 files of 1 to 8 KiB (any size between), 1,000 to a folder. */
export function makeSmallFilesTree(dir: string): TreeSize {
  rmSync(dir, { recursive: true, force: true });
  let bytes = 0;
  for (let d = 0; d < 100; d++) {
    const sub = join(dir, `d${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 1000; f++) {
      const size = randomInt(1024, 8 * 1024 + 1);
      writeFileSync(join(sub, `f${f}.dat`), randomBytes(size));
      bytes += size;
    }
  }
  return { bytes, files: 100_000 };
}

export const largeFileBytes = 2 * 2 ** 30;
export const changeBlockBytes = 2 ** 20;

/** One file of 2 GiB, in a folder of its own. */
export function makeLargeFileTree(dir: string): TreeSize {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, 'large.bin'), 'w');
  try {
    for (let written = 0; written < largeFileBytes; written += 16 * 2 ** 20) writeSync(fd, randomBytes(16 * 2 ** 20));
  } finally {
    closeSync(fd);
  }
  return { bytes: largeFileBytes, files: 1 };
}

/** Overwrites a tenth of the large file's 1 MiB blocks, chosen at random, with new random bytes. */
export function changeTenthOfBlocks(dir: string): { blocks: number; bytes: number } {
  const total = largeFileBytes / changeBlockBytes;
  const chosen = new Set<number>();
  while (chosen.size < Math.round(total / 10)) chosen.add(randomInt(total));
  const fd = openSync(join(dir, 'large.bin'), 'r+');
  try {
    for (const block of chosen)
      writeSync(fd, randomBytes(changeBlockBytes), 0, changeBlockBytes, block * changeBlockBytes);
  } finally {
    closeSync(fd);
  }
  return { blocks: chosen.size, bytes: chosen.size * changeBlockBytes };
}

export async function dropCaches(): Promise<void> {
  await run('sync', []);
  writeFileSync('/proc/sys/vm/drop_caches', '3\n');
}

/** Seconds to read every file of the tree once, from a cold page cache (one reader, as `cat` reads). */
export async function coldRead(dir: string): Promise<number> {
  await dropCaches();
  const started = process.hrtime.bigint();
  await run('bash', ['-c', 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', '_', dir], { timeoutMs: 1_800_000 });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** SHA-256 over every file's relative path, size and SHA-256, in path order. */
export function treeDigest(dir: string): TreeSize & { sha256: string } {
  const tree = createHash('sha256');
  const buffer = Buffer.allocUnsafe(8 * 2 ** 20);
  let bytes = 0;
  let files = 0;
  const walk = (relative: string) => {
    const entries = readdirSync(join(dir, relative), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      const file = createHash('sha256');
      const fd = openSync(join(dir, path), 'r');
      let size = 0;
      try {
        for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; size += n)
          file.update(buffer.subarray(0, n));
      } finally {
        closeSync(fd);
      }
      tree.update(`${path}\0${size}\0${file.digest('hex')}\n`);
      bytes += size;
      files++;
    }
  };
  walk('');
  return { bytes, files, sha256: tree.digest('hex') };
}
