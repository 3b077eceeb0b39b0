// Paths inside a volume ("/etc/app.conf", the volume's root being "/") and
// where they are in a snapshot, which holds the volume under the folder the
// backup mover read it from (snapshotPath, e.g. "/data").
import { posix } from 'node:path';

/** The path with no empty parts and no trailing slash: "//etc/" is "/etc"; the root is "/". */
export function normalVolumePath(path: string): string {
  return `/${path.split('/').filter(Boolean).join('/')}`;
}

/** Where a volume path is in the snapshot. */
export function inSnapshot(snapshotPath: string, path: string): string {
  return normalVolumePath(posix.join(snapshotPath, path));
}

/** The volume path of a path in the snapshot, or undefined when it is outside the volume's folder. */
export function inVolume(snapshotPath: string, snapshotEntryPath: string): string | undefined {
  const base = normalVolumePath(snapshotPath);
  if (snapshotEntryPath === base) return '/';
  const prefix = base === '/' ? '/' : `${base}/`;
  return snapshotEntryPath.startsWith(prefix) ? `/${snapshotEntryPath.slice(prefix.length)}` : undefined;
}

/** How many folders below `folder` a path is: 0 for the folder itself, 1 for its entries. */
export function depthBelow(folder: string, path: string): number {
  const parts = (p: string) => p.split('/').filter(Boolean).length;
  return parts(path) - parts(folder);
}

/**
 * The paths a restore asks for, normalized, without repeats and without those
 * under another one; [] when it asks for the whole volume (none, or "/").
 */
export function restorePaths(paths: readonly string[]): string[] {
  const normal = [...new Set(paths.map(normalVolumePath))].sort();
  if (normal.includes('/')) return [];
  return normal.filter((path) => !normal.some((other) => other !== path && path.startsWith(`${other}/`)));
}
