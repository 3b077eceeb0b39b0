import { describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../api/index.ts';
import { catalogueDeletions } from './catalogue.ts';

const now = new Date('2026-12-01T12:00:00Z');
const run = (name: string, phase: 'Succeeded' | 'Failed', completionTime: string, id?: string): VolumeBackup => ({
  metadata: { name, namespace: 'team' },
  spec: { pvc: 'data', trigger: 'schedule' },
  status: { phase, completionTime, ...(id === undefined ? {} : { snapshotId: id }) },
});
const names = (backups: VolumeBackup[]) => backups.map((b) => b.metadata.name);

describe('catalogueDeletions', () => {
  it('deletes the runs of forgotten snapshots, by id or prefix', () => {
    const kept = run('a', 'Succeeded', '2026-11-30T02:00:00Z', 'aaaa1111');
    const forgotten = run('b', 'Succeeded', '2026-11-01T02:00:00Z', 'bbbb2222');
    expect(names(catalogueDeletions([kept, forgotten], ['bbbb'], now))).toEqual(['b']);
  });

  it('deletes failed runs older than a week, but not newer ones', () => {
    const old = run('old', 'Failed', '2026-11-20T02:00:00Z');
    const recent = run('recent', 'Failed', '2026-11-29T02:00:00Z');
    const good = run('good', 'Succeeded', '2026-11-30T02:00:00Z', 'cccc');
    expect(names(catalogueDeletions([old, recent, good], [], now))).toEqual(['old']);
  });

  it("keeps a volume's newest finished run even when it is an old failure, so the failure stays visible", () => {
    const success = run('success', 'Succeeded', '2026-11-01T02:00:00Z', 'dddd');
    const older = run('failed-1', 'Failed', '2026-11-10T02:00:00Z');
    const newest = run('failed-2', 'Failed', '2026-11-11T02:00:00Z');
    expect(names(catalogueDeletions([success, older, newest], [], now))).toEqual(['failed-1']);
  });
});
