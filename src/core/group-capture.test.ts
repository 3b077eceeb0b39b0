import { describe, expect, it } from 'vitest';
import {
  adoptableRuns,
  adoptedSlot,
  groupMembers,
  memberBackupName,
  nextGroupStep,
  snapshotTaken,
  type MemberObservation,
  type MemberVolumeRun,
} from './group-capture.ts';

describe('groupMembers', () => {
  it('takes each other volume of the hooked Pods once, if a snapshot can capture it, in name order', () => {
    const members = groupMembers({
      leader: 'db-1',
      attempt: 1,
      pvc: 'data',
      hookedPods: new Set(['db-0', 'db-1']),
      pods: [
        { pod: 'db-0', claims: ['data', 'wal', 'scratch'] },
        { pod: 'db-1', claims: ['data', 'archive', 'wal'] },
        { pod: 'web', claims: ['data', 'static'] },
      ],
      capturable: (pvc) => pvc !== 'scratch',
    });
    expect(members).toEqual([
      { pvc: 'archive', backup: 'db-1-archive' },
      { pvc: 'wal', backup: 'db-1-wal' },
    ]);
  });

  it("names a later attempt's members apart from the first's", () => {
    expect(memberBackupName('db-1', 'wal')).toBe('db-1-wal');
    expect(memberBackupName('db-1', 'wal', 2)).toBe('db-1-a2-wal');
  });

  it('names member backups within the limits of a name', () => {
    const name = memberBackupName('x'.repeat(250), `${'y'.repeat(150)}-`);
    expect(name.length).toBeLessThanOrEqual(200);
    expect(name).toMatch(/^x+-y+$/);
  });
});

describe('nextGroupStep', () => {
  const member = (rest: Partial<MemberObservation>): MemberObservation => ({
    pvc: 'wal',
    backup: 'db-1-wal',
    exists: true,
    snapshot: undefined,
    ...rest,
  });
  const taken = { ready: false, error: undefined, creationTime: '2026-12-05T03:00:00Z' };

  it('makes every member backup, then every member snapshot, then nothing', () => {
    expect(nextGroupStep([member({ exists: false }), member({ exists: false })])).toEqual({
      kind: 'create-member-backup',
      index: 0,
    });
    expect(nextGroupStep([member({}), member({ exists: false })])).toEqual({ kind: 'create-member-backup', index: 1 });
    expect(nextGroupStep([member({ snapshot: taken }), member({})])).toEqual({
      kind: 'create-member-snapshot',
      index: 1,
    });
    expect(nextGroupStep([member({ snapshot: taken })])).toBeUndefined();
  });

  it('counts a snapshot as taken once it has a creation time, or failed', () => {
    expect(snapshotTaken(undefined)).toBe(false);
    expect(snapshotTaken({ ready: false, error: undefined })).toBe(false);
    expect(snapshotTaken(taken)).toBe(true);
    expect(snapshotTaken({ ready: false, error: 'no space' })).toBe(true);
  });
});

describe('adoptableRuns', () => {
  const run = (over: Partial<MemberVolumeRun>): MemberVolumeRun => ({
    name: 'wal-sched',
    uid: 'u1',
    trigger: 'schedule',
    scheduledFor: '2026-12-01T02:00:00Z',
    groupOf: undefined,
    phase: 'Pending',
    attempt: undefined,
    ...over,
  });

  it("adopts the member volume's scheduled runs that never started", () => {
    const runs = [run({}), run({ name: 'caught-up', uid: 'u2', trigger: 'catch-up', phase: undefined })];
    expect(adoptableRuns(runs, new Set()).map((r) => r.name)).toEqual(['wal-sched', 'caught-up']);
  });

  it('leaves runs someone asked for, runs that started or retry, members, and runs being started now', () => {
    const runs = [
      run({ name: 'manual', trigger: 'manual' }),
      run({ name: 'running', phase: 'Running' }),
      run({ name: 'retrying', attempt: 1 }),
      run({ name: 'member', groupOf: 'pg-1' }),
      run({ name: 'starting', uid: 'u9' }),
    ];
    expect(adoptableRuns(runs, new Set(['u9']))).toEqual([]);
  });

  it('takes the latest slot of the adopted runs', () => {
    expect(adoptedSlot([run({}), run({ scheduledFor: '2026-12-01T03:00:00Z' })])).toBe('2026-12-01T03:00:00Z');
    expect(adoptedSlot([run({ scheduledFor: undefined })])).toBeUndefined();
  });
});
