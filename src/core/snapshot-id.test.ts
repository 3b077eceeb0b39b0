// Objects written before the snapshot id field was named for no engine hold it
// in status.resticSnapshotId: each reader still finds it there.
import { describe, expect, it } from 'vitest';
import { snapshotIdOf, type ChosenBackup, type VolumeBackup, type VolumeBackupStatus } from '../api/index.ts';
import { chooseBackup } from './backup-choice.ts';
import { catalogueEntry } from './retention-plan.ts';
import { restoreMoverTask } from './restore-task.ts';
import { entryOf, historyEntries, nextHistory } from './volume-history.ts';

const oldId = 'a1b2c3d4'.repeat(8);
const newId = 'e5f6a7b8'.repeat(8);

/** A Succeeded VolumeBackup as the version before the rename wrote it. */
function written(name: string, status: Partial<VolumeBackupStatus>): VolumeBackup {
  return {
    metadata: { name, namespace: 'team', creationTimestamp: '2026-11-01T02:00:00Z' },
    spec: { pvc: 'data', trigger: 'schedule' },
    status: { phase: 'Succeeded', repository: 'shared', snapshotTime: '2026-11-01T02:00:00Z', ...status },
  };
}
const before = written('data-old', { resticSnapshotId: oldId });
const after = written('data-new', { snapshotId: newId, snapshotTime: '2026-11-02T02:00:00Z' });

describe('snapshotIdOf', () => {
  it('reads snapshotId, else the field earlier versions wrote, else nothing', () => {
    expect(snapshotIdOf({ snapshotId: newId, resticSnapshotId: oldId })).toBe(newId);
    expect(snapshotIdOf({ resticSnapshotId: oldId })).toBe(oldId);
    expect(snapshotIdOf({})).toBeUndefined();
    expect(snapshotIdOf(undefined)).toBeUndefined();
  });
});

describe('a VolumeBackup written before the rename', () => {
  it('is chosen for a restore by its id, and the choice names the id without naming restic', () => {
    const answer = chooseBackup([before, after], { namespace: 'team', pvc: 'data', backup: oldId.slice(0, 8) });
    expect(answer).toMatchObject({ ok: true, backup: { name: 'data-old', snapshotId: oldId } });
    expect(answer.ok && 'resticSnapshotId' in answer.backup).toBe(false);
  });

  it('is recorded in the volume history with its id', () => {
    expect(entryOf(before)?.id).toBe(oldId);
    const status = nextHistory(undefined, [before, after]);
    const history = { metadata: { name: 'data', namespace: 'team' }, spec: { pvc: 'data' }, status };
    expect(historyEntries(history).map((e) => e.id)).toEqual([newId, oldId]);
  });

  it('is planned by retention with its id', () => {
    expect(catalogueEntry(before)?.id).toBe(oldId);
  });
});

describe('a restore that settled on a backup before the rename', () => {
  it('gives the mover the id it recorded', () => {
    const chosen = { name: 'b', namespace: 'team', pvc: 'data', resticSnapshotId: oldId, repository: 'shared' };
    const task = restoreMoverTask(
      { metadata: { name: 'r', namespace: 'team' }, spec: { source: { pvc: 'data' }, target: { pvc: 'back' } } },
      chosen satisfies ChosenBackup,
      { engine: 'restic' as const, url: 's3:http://s3/b/team', region: 'us-east-1' },
    );
    expect(task).toMatchObject({ kind: 'restore', source: { snapshotId: oldId } });
  });
});
