// RBD images as files, without a kernel rbd module: one `rbd-fuse -r IMAGE`
// mount per image, at <fuseDir>/<image>, showing the one file <image>. Made when
// the image is created, stopped before it is removed.
//
// Why not one mount of the whole pool: it does list images created after it
// was mounted, but rbd-fuse opens every image it is asked to stat (ls -l, df)
// and closes none until it is unmounted (at most 128, then ENOENT); an open
// image keeps a watch, and `rbd rm` refuses an image with watchers.
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cephEnv } from '../ceph/ceph-status.ts';
import { CommandError, run } from '../command.ts';
import { startFuse, stopFuse } from './fuse-mounts.ts';

export class RbdImageFiles {
  readonly fuseDir: string;
  readonly #confPath: string;
  readonly #pool: string;

  constructor(fuseDir: string, confPath: string, pool: string) {
    this.fuseDir = fuseDir;
    this.#confPath = confPath;
    this.#pool = pool;
  }

  /** Where the image's bytes can be read and written while its mount is up. */
  path(image: string): string {
    return imageFilePath(this.fuseDir, image);
  }

  /** Mounts the image unless it is mounted; returns its file. */
  async ensure(image: string): Promise<string> {
    mkdirSync(this.fuseDir, { recursive: true });
    const mountPoint = join(this.fuseDir, image);
    await startFuse({
      dir: this.fuseDir,
      name: image,
      command: 'rbd-fuse',
      args: ['-f', '-c', this.#confPath, '-p', this.#pool, '-r', image, mountPoint],
      mountPoint,
      env: cephEnv(this.#confPath),
    });
    const file = this.path(image);
    // The first stat opens the image; made here, once, because rbd-fuse's open is not thread-safe.
    if (!existsSync(file)) throw new Error(`rbd-fuse mounted ${mountPoint} but shows no file ${image}`);
    return file;
  }

  /** Unmounts the image; rbd-fuse closes it on the way out, so its watch is gone when this returns. */
  async stop(image: string): Promise<void> {
    await stopFuse(this.fuseDir, image, join(this.fuseDir, image));
  }
}

export function imageFilePath(fuseDir: string, image: string): string {
  return join(fuseDir, image, image);
}

/** True when the file holds an ext2/3/4 file system (magic 0xEF53 at byte 1080). */
export function hasExtFilesystem(file: string): boolean {
  return superblock(file).readUInt16LE(56) === 0xef53;
}

/**
 * Grows the ext4 in `file` to the file's size, for a volume restored from a
 * smaller snapshot. Offline, before any mount: online resizing needs
 * CAP_SYS_RESOURCE, which these machines do not give. A snapshot of a mounted
 * ext4 needs its journal replayed first, which e2fsck does.
 */
export async function growExtFilesystem(file: string): Promise<void> {
  const sb = superblock(file);
  const blockSize = 1024 << sb.readUInt32LE(24);
  const is64bit = (sb.readUInt32LE(0x60) & 0x80) !== 0;
  const blocks = sb.readUInt32LE(4) + (is64bit ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  if (blocks * blockSize + blockSize > statSync(file).size) return;
  // -p repairs what is safe to repair unattended; exit 1 means it did.
  await run('e2fsck', ['-f', '-p', file], { timeoutMs: 30 * 60_000 }).catch((error: unknown) => {
    if (!(error instanceof CommandError && error.exitCode === 1)) throw error;
  });
  await run('resize2fs', [file], { timeoutMs: 30 * 60_000 });
}

/** The 1024 bytes of an ext superblock, at byte 1024 of the file system. */
function superblock(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1024);
    readSync(fd, buffer, 0, 1024, 1024);
    return buffer;
  } finally {
    closeSync(fd);
  }
}
