// A volume's worth of awkward files for restore journeys, and a byte-for-byte
// comparison of two folders. writeRichTree holds what a restore must bring back
// exactly: modes (setgid too), owners other than root (so it must run as
// root), fixed times, every kind of symlink, a hardlink group, empty folders,
// names with spaces and glob characters, and a 1 GiB sparse file.
//   writeRichTree(root)      fill an empty or missing folder
//   mutateTree(root)         change, delete and add some of it (a later backup)
//   compareTrees(a, b)       the differences, in words; [] when equal
//   allocatedBytes(file)     what a file takes on disk, to tell it is still sparse
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { join } from 'node:path';

/** The owner of what writeRichTree gives away from root. */
export const otherOwner = { uid: 1234, gid: 2345 } as const;

/** The sparse file: its path in the tree, its apparent size, and how much data it holds. */
export const sparseFile = { path: '/sparse/disk.img', size: 1024 ** 3, dataBytes: 4 * 1024 ** 2 } as const;

/** Names in the tree that a restore of some paths can ask for: a file, a folder and a name full of glob characters. */
export const richPaths = {
  file: '/docs/d1/s2/f3.txt',
  folder: '/docs/d2',
  globName: '/names/glob*[1]?.txt',
  hardlinks: ['/hard/one', '/hard/two', '/hard/nested/three'],
} as const;

const mib = 1024 ** 2;
const baseTime = Date.parse('2024-05-06T07:08:09.123Z') / 1000;

export interface TreeCounts {
  files: number;
  folders: number;
  symlinks: number;
}

/** Writes the tree into root (created if missing); returns how many of each kind it holds. */
export function writeRichTree(root: string): TreeCounts {
  const counts: TreeCounts = { files: 0, folders: 0, symlinks: 0 };
  const times: { path: string; seconds: number; link?: boolean }[] = [];
  const folder = (path: string, mode = 0o755) => {
    mkdirSync(join(root, path), { recursive: true });
    chmodSync(join(root, path), mode);
    counts.folders++;
    times.push({ path, seconds: baseTime - 86_400 + counts.folders });
  };
  const file = (path: string, data: Buffer | string, mode = 0o644, owner?: { uid: number; gid: number }) => {
    writeFileSync(join(root, path), data);
    if (owner !== undefined) chownSync(join(root, path), owner.uid, owner.gid);
    chmodSync(join(root, path), mode);
    counts.files++;
    times.push({ path, seconds: baseTime + counts.files + 0.25 });
  };
  const symlink = (path: string, target: string) => {
    symlinkSync(target, join(root, path));
    counts.symlinks++;
    times.push({ path, seconds: baseTime - 3600 + counts.symlinks, link: true });
  };

  mkdirSync(root, { recursive: true });
  // 8 × 8 folders of 40 small files: a few thousand entries, with every mode and owner.
  const modes = [0o644, 0o600, 0o640, 0o755, 0o444];
  folder('docs');
  for (let d = 0; d < 8; d++) {
    folder(`docs/d${d}`);
    for (let s = 0; s < 8; s++) {
      folder(`docs/d${d}/s${s}`);
      for (let f = 0; f < 40; f++) {
        const n = d * 320 + s * 40 + f;
        const size = f % 10 === 0 ? 0 : (n * 37) % 4096;
        file(
          `docs/d${d}/s${s}/f${f}.txt`,
          randomBytes(size),
          modes[n % modes.length],
          n % 3 === 0 ? otherOwner : undefined,
        );
      }
    }
  }
  folder('docs/d2/empty-inside');
  folder('empty');
  folder('private', 0o700);
  chownSync(join(root, 'private'), otherOwner.uid, otherOwner.gid);
  file('private/secret.key', randomBytes(64), 0o600, otherOwner);
  folder('shared', 0o775);
  chownSync(join(root, 'shared'), 0, otherOwner.gid);
  chmodSync(join(root, 'shared'), 0o2775);
  file('shared/note.txt', 'shared by the group\n', 0o664, { uid: 0, gid: otherOwner.gid });
  folder('names');
  file('names/with space.txt', 'a space\n');
  file('names/ünïcödé.txt', 'not ascii\n');
  file('names/glob*[1]?.txt', 'a name restic would read as a pattern\n');
  file('names/glob1x.txt', 'what the pattern glob*[1]?.txt would match\n');

  folder('links');
  symlink('links/relative', '../docs/d0/s0/f1.txt');
  symlink('links/absolute', '/etc/hostname');
  symlink('links/dangling', '../no/such/file');
  symlink('links/to-folder', '../docs/d1');
  symlink('links/owned', 'relative');
  // The link itself, not what it points to.
  lchownSync(join(root, 'links/owned'), otherOwner.uid, otherOwner.gid);

  folder('hard');
  folder('hard/nested');
  file('hard/one', randomBytes(10_000), 0o640, otherOwner);
  linkSync(join(root, 'hard/one'), join(root, 'hard/two'));
  linkSync(join(root, 'hard/one'), join(root, 'hard/nested/three'));

  folder('sparse');
  writeSparse(join(root, sparseFile.path));
  counts.files++;
  times.push({ path: sparseFile.path, seconds: baseTime + 0.5 });

  // Times last, deepest first: writing into a folder changes its mtime.
  for (const { path, seconds, link } of times.toReversed()) {
    if (link === true) lutimesSync(join(root, path), seconds, seconds);
    else utimesSync(join(root, path), seconds, seconds);
  }
  // The root too: a whole-volume restore must give the target's root the backup's owner, mode and times.
  chownSync(root, 0, otherOwner.gid);
  chmodSync(root, 0o2750);
  utimesSync(root, baseTime - 2 * 86_400, baseTime - 2 * 86_400);
  return counts;
}

/** 1 GiB apparent size, 4 MiB of random data in four places (the first and the last MiB among them). */
function writeSparse(path: string): void {
  writeFileSync(path, '');
  truncateSync(path, sparseFile.size);
  const fd = openSync(path, 'r+');
  try {
    for (const offset of [0, 300 * mib + 4096, 777 * mib, sparseFile.size - mib]) {
      writeSync(fd, randomBytes(mib), 0, mib, offset);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Changes the tree the way a day of use does: files rewritten (one to a new
 * size), a folder and one name of the hardlink group deleted, files and a
 * folder added, a mode and a symlink changed, and new data in the sparse file.
 */
export function mutateTree(root: string): void {
  const later = baseTime + 86_400;
  const rewrite = (path: string, data: Buffer | string) => {
    writeFileSync(join(root, path), data);
    utimesSync(join(root, path), later, later);
  };
  rewrite('docs/d0/s0/f1.txt', randomBytes(5000));
  rewrite('docs/d3/s3/f3.txt', randomBytes(lstatSync(join(root, 'docs/d3/s3/f3.txt')).size));
  rewrite('names/with space.txt', 'a space, and more\n');
  rmSync(join(root, 'docs/d7'), { recursive: true });
  rmSync(join(root, 'hard/two'));
  rmSync(join(root, 'links/dangling'));
  mkdirSync(join(root, 'docs/new'));
  rewrite('docs/new/added.txt', 'added after the first backup\n');
  rewrite('docs/d0/s0/extra.txt', 'also added\n');
  chmodSync(join(root, 'private/secret.key'), 0o644);
  rmSync(join(root, 'links/relative'));
  symlinkSync('../docs/d0/s0/f2.txt', join(root, 'links/relative'));
  const fd = openSync(join(root, sparseFile.path), 'r+');
  writeSync(fd, randomBytes(mib), 0, mib, 500 * mib);
  closeSync(fd);
  utimesSync(join(root, sparseFile.path), later, later);
}

/** What a file takes on disk (its allocated blocks), to tell a sparse file from a full one. */
export function allocatedBytes(path: string): number {
  return lstatSync(path).blocks * 512;
}

interface Entry {
  stats: BigIntStats;
  kind: 'file' | 'folder' | 'symlink' | 'other';
}

function walk(root: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const visit = (relative: string) => {
    const stats = lstatSync(join(root, relative), { bigint: true });
    const kind = stats.isFile()
      ? 'file'
      : stats.isDirectory()
        ? 'folder'
        : stats.isSymbolicLink()
          ? 'symlink'
          : 'other';
    entries.set(relative === '' ? '/' : `/${relative}`, { stats, kind });
    if (kind === 'folder') {
      for (const name of readdirSync(join(root, relative)).sort())
        visit(relative === '' ? name : `${relative}/${name}`);
    }
  };
  visit('');
  return entries;
}

/**
 * Every way folder b differs from folder a, one line each ("/docs/x: mode 0644 in a, 0600 in b"),
 * at most `limit`; [] when they are equal: the same names, types, contents, sizes, modes, owners,
 * mtimes (files, folders and symlinks, to the nanosecond), symlink targets, and the same names
 * sharing an inode. The two roots are compared too (a whole-volume restore sets its root).
 */
export function compareTrees(a: string, b: string, limit = 50): string[] {
  const left = walk(a);
  const right = walk(b);
  const differences: string[] = [];
  let more = 0;
  const differ = (path: string, what: string) => {
    if (differences.length < limit) differences.push(`${path}: ${what}`);
    else more++;
  };
  // A folder only one side has is one difference, not one per entry in it.
  const onlyIn = (side: Map<string, Entry>, other: Map<string, Entry>, name: string) => {
    for (const path of side.keys()) {
      if (!other.has(path) && other.has(parent(path))) differ(path, `only in ${name}`);
    }
  };
  onlyIn(left, right, 'a');
  onlyIn(right, left, 'b');
  for (const [path, x] of left) {
    const y = right.get(path);
    if (y === undefined) continue;
    if (x.kind !== y.kind) {
      differ(path, `a ${x.kind} in a, a ${y.kind} in b`);
      continue;
    }
    const field = (name: string, p: bigint | string, q: bigint | string) => {
      if (p !== q) differ(path, `${name} ${p} in a, ${q} in b`);
    };
    if (x.kind !== 'symlink') field('mode', octal(x.stats.mode), octal(y.stats.mode));
    field('uid', x.stats.uid, y.stats.uid);
    field('gid', x.stats.gid, y.stats.gid);
    field('mtime', iso(x.stats.mtimeNs), iso(y.stats.mtimeNs));
    if (x.kind === 'file') {
      field('size', x.stats.size, y.stats.size);
      if (x.stats.size === y.stats.size) {
        const at = firstDifference(join(a, path), join(b, path));
        if (at !== undefined) differ(path, `content differs from byte ${at}`);
      }
      const p = sharing(left, x);
      const q = sharing(right, y);
      if (p !== q) differ(path, `shares its inode with [${p}] in a, [${q}] in b`);
    }
    if (x.kind === 'symlink') field('target', readlinkSync(join(a, path)), readlinkSync(join(b, path)));
  }
  return more === 0 ? differences : [...differences, `and ${more} more differences`];
}

const parent = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/';
const octal = (mode: bigint) => `0${(mode & 0o7777n).toString(8)}`;
const iso = (ns: bigint) =>
  `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;

/** The other names of a file's inode, in order ('' when it has one name). */
function sharing(entries: Map<string, Entry>, entry: Entry): string {
  if (entry.stats.nlink < 2n) return '';
  return [...entries]
    .filter(([, e]) => e.kind === 'file' && e.stats.ino === entry.stats.ino && e.stats.dev === entry.stats.dev)
    .map(([path]) => path)
    .join(', ');
}

const chunk = 4 * mib;
const buffers = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)] as const;

/** The offset of the first byte that differs between two files of the same size, or undefined. */
function firstDifference(a: string, b: string): number | undefined {
  const x = buffers[0];
  const y = buffers[1];
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  try {
    for (let offset = 0; ; offset += chunk) {
      const n = readSync(fa, x, 0, chunk, offset);
      const m = readSync(fb, y, 0, chunk, offset);
      if (n === 0 && m === 0) return undefined;
      if (n !== m || !x.subarray(0, n).equals(y.subarray(0, m))) {
        const length = Math.min(n, m);
        for (let i = 0; i < length; i++) if (x[i] !== y[i]) return offset + i;
        return offset + length;
      }
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}
