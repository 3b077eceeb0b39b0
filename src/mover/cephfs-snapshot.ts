// A CephFS snapshot of the volume for one backup: `mkdir <volume>/.snap/NAME`
// makes it (CephFS snapshots a folder and everything below it, at once), the
// backup reads the read-only tree there, and `rmdir` drops it. One name per
// volume, so every backup has the same path in restic; a snapshot a crashed
// mover left behind is dropped first, since it holds older data.
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Failure } from './failure.ts';

export async function makeCephfsSnapshot(
  volume: string,
  name: string,
): Promise<{ path: string; remove: () => Promise<void> } | Failure> {
  const snapDir = join(volume, '.snap');
  const path = join(snapDir, name);
  const failed = (what: string, error: unknown): Failure => ({
    type: 'error',
    code: 'SourceMissing',
    message: `cannot ${what} the CephFS snapshot ${path}: ${error instanceof Error ? error.message : String(error)} (method cephfs-snapshot needs a CephFS volume whose Ceph user may make snapshots, and a writable mount)`,
  });
  try {
    await stat(snapDir);
  } catch (error) {
    return failed('find the .snap folder for', error);
  }
  try {
    await rmdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return failed('remove the stale', error);
  }
  try {
    await mkdir(path);
  } catch (error) {
    return failed('make', error);
  }
  return { path, remove: () => rmdir(path) };
}
