// How a file backup tells changed files from unchanged ones, decided per run.
// restic's own check (size, mtime, ctime, inode) never misses a change; it
// costs nothing extra where the data keeps its inode numbers and ctimes (the
// live volume, a CephFS .snap snapshot, an RBD clone, which is a block-level
// copy of the file system), and re-reads every file where a snapshot's clone
// is a file-by-file copy. The cheap check (size and mtime) misses a file
// rewritten in place with the same size and mtime, so it is used only when a
// policy asks for it.
import { cephfsCsiDriver, rbdCsiDriver, type ChangeDetectionMode } from '../api/index.ts';
import type { RunMethod } from './backup-run.ts';

export interface ChangeDetection {
  mode: ChangeDetectionMode;
  reason: string;
}

export function changeDetectionFor(input: {
  policy: { name: string; changeDetection: ChangeDetectionMode } | undefined;
  method: RunMethod;
  /** The CSI driver of the volume, if any. */
  driver: string | undefined;
}): ChangeDetection {
  const { policy, method, driver } = input;
  if (policy?.changeDetection === 'mtime-size')
    return {
      mode: 'mtime-size',
      reason: `BackupPolicy ${policy.name} sets changeDetection: mtime-size: a file rewritten in place with the same size and mtime keeps its old content in this backup`,
    };
  const full = (why: string): ChangeDetection => ({ mode: 'full', reason: why });
  switch (method) {
    case 'live':
      return full('the live volume keeps inode numbers and ctimes: unchanged files are not read again');
    case 'cephfs-snapshot':
      return full('a CephFS snapshot keeps inode numbers and ctimes: unchanged files are not read again');
    case 'snapshot':
      if (driver === rbdCsiDriver)
        return full(
          'an RBD clone is a block-level copy that keeps inode numbers and ctimes: unchanged files are not read again',
        );
      if (driver === cephfsCsiDriver)
        return full(
          "a CephFS snapshot's clone is a copy with new inode numbers and ctimes: every file is read again (method cephfs-snapshot reads only what changed)",
        );
      return full(
        `the clone of a ${driver ?? 'non-CSI'} volume may be a copy with new inode numbers and ctimes: then every file is read again, and no change is missed`,
      );
  }
}
