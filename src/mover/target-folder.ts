// The folder a restore writes into: the target volume's mount, which must be
// there (restic would otherwise create it inside the mover's own file system
// and the restore would vanish with the Pod). restic restores what is inside
// the snapshot's folder but not that folder's own owner, mode and times, so a
// whole-volume restore sets them on the target after the engine is done.
import { chmod, chown, stat, utimes } from 'node:fs/promises';
import type { SnapshotEntry } from './engine.ts';
import type { Failure } from './failure.ts';

export async function checkTargetFolder(path: string): Promise<Failure | undefined> {
  const missing = (why: string): Failure => ({
    type: 'error',
    code: 'TargetMissing',
    message: `the target folder ${path} ${why}: the target volume is not mounted where the task says`,
  });
  try {
    return (await stat(path)).isDirectory() ? undefined : missing('is not a folder');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return missing('does not exist');
    return missing(`cannot be opened (${error instanceof Error ? error.message : String(error)})`);
  }
}

/**
 * Gives the folder the owner, mode and times the snapshot's entry has. Like
 * restic (and cp -a), what cannot be set is reported, not fatal: the data is
 * restored. Owner first: chown clears setgid.
 */
export async function setFolderMetadata(path: string, entry: SnapshotEntry): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      problems.push(`cannot set the ${what} of ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const { uid, gid, mode, mtime, atime } = entry;
  if (uid !== undefined && gid !== undefined) await attempt('owner', () => chown(path, uid, gid));
  if (mode !== undefined) await attempt('mode', () => chmod(path, mode));
  const modified = mtime === undefined ? undefined : epochSeconds(mtime);
  if (modified !== undefined) {
    const accessed = (atime === undefined ? undefined : epochSeconds(atime)) ?? modified;
    await attempt('times', () => utimes(path, accessed, modified));
  }
  return problems;
}

/**
 * Seconds since the epoch of an RFC 3339 time with up to nanoseconds, as
 * utimes takes them: a double, so to a fraction of a microsecond (Date would
 * keep only milliseconds).
 */
export function epochSeconds(time: string): number | undefined {
  const fraction = /\.(\d+)/.exec(time)?.[1] ?? '';
  const whole = Date.parse(time.replace(/\.\d+/, ''));
  if (Number.isNaN(whole)) return undefined;
  return whole / 1000 + (fraction === '' ? 0 : Number(`0.${fraction}`));
}
