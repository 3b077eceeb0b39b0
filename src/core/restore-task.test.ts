import { describe, expect, it } from 'vitest';
import type { ChosenBackup, VolumeRestore } from '../api/index.ts';
import { restoreMoverTask } from './restore-task.ts';

const backup: ChosenBackup = {
  name: 'b',
  namespace: 'team',
  pvc: 'data',
  snapshotId: 'a1b2c3d4',
  repository: 'shared',
};
const repository = { engine: 'restic' as const, url: 's3:http://s3/b/team', region: 'us-east-1' };
const restore = (spec: Partial<VolumeRestore['spec']> = {}, targetCreated?: boolean): VolumeRestore => ({
  metadata: { name: 'r', namespace: 'team' },
  spec: { source: { pvc: 'data' }, target: { pvc: 'back' }, ...spec },
  ...(targetCreated === undefined ? {} : { status: { targetCreated } }),
});

describe('restoreMoverTask', () => {
  it('restores files from where the backup read them, never creating the repository', () => {
    expect(
      restoreMoverTask(restore(), { ...backup, snapshotPath: '/data/.snap/safehold-backup' }, repository),
    ).toMatchObject({
      kind: 'restore',
      repository: { ...repository, initialize: false },
      source: { snapshotId: 'a1b2c3d4', snapshotPath: '/data/.snap/safehold-backup' },
      // Named like the folder the backup read: the engine restores that folder's own metadata too.
      targetPath: '/target/safehold-backup',
      deleteExtra: false,
    });
    expect(restoreMoverTask(restore(), backup, repository)).toMatchObject({ targetPath: '/target/data' });
    expect(restoreMoverTask(restore(), { ...backup, snapshotPath: '/' }, repository)).toMatchObject({
      targetPath: '/target',
    });
  });
  it('makes a used volume equal to a whole backup unless told to keep extra files', () => {
    const existing = { target: { pvc: 'back', existing: true } };
    expect(restoreMoverTask(restore(existing), backup, repository)).toMatchObject({ deleteExtra: true });
    const keep = { target: { pvc: 'back', existing: true, keepExtraFiles: true } };
    expect(restoreMoverTask(restore(keep), backup, repository)).toMatchObject({ deleteExtra: false });
  });
  it('writes an image onto a device, zeroing the gaps unless the PVC was made for the restore', () => {
    const image = { ...backup, image: 'data.qcow2' };
    expect(restoreMoverTask(restore({}, true), image, repository)).toMatchObject({
      kind: 'block-restore',
      snapshotId: 'a1b2c3d4',
      devicePath: '/dev/safehold-target',
      zeroUnlisted: false,
    });
    expect(restoreMoverTask(restore({ target: { pvc: 'back', existing: true } }), image, repository)).toMatchObject({
      zeroUnlisted: true,
    });
  });
});
