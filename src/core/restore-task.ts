// The mover task of a VolumeRestore from the backup it settled on: files
// restored into the target folder, or a block volume's image chain written
// onto the target device.
import {
  snapshotIdOf,
  type ChosenBackup,
  type MoverTask,
  type RepositoryTarget,
  type VolumeRestore,
} from '../api/index.ts';
import { moverCacheDir, moverSourcePath, moverTargetDevice, restoreTargetPath } from './mover-job.ts';

export function restoreMoverTask(
  restore: VolumeRestore,
  backup: ChosenBackup,
  repository: Omit<RepositoryTarget, 'initialize'>,
): MoverTask {
  const target = { ...repository, initialize: false };
  if (backup.image !== undefined)
    return {
      kind: 'block-restore',
      repository: target,
      cacheDir: moverCacheDir,
      snapshotId: snapshotIdOf(backup) ?? '',
      devicePath: moverTargetDevice,
      // A PVC made for the restore reads as zeros; an existing one may hold anything.
      zeroUnlisted: restore.status?.targetCreated !== true,
      verify: false,
    };
  const paths = restore.spec.paths ?? [];
  const snapshotPath = backup.snapshotPath ?? moverSourcePath;
  return {
    kind: 'restore',
    repository: target,
    cacheDir: moverCacheDir,
    source: { snapshotId: snapshotIdOf(backup) ?? '', snapshotPath },
    targetPath: restoreTargetPath(snapshotPath),
    paths,
    deleteExtra:
      restore.spec.target.existing === true && restore.spec.target.keepExtraFiles !== true && paths.length === 0,
    verify: false,
  };
}
