import { describe, expect, it } from 'vitest';
import {
  groupMembers,
  memberBackupName,
  nextGroupStep,
  snapshotTaken,
  type MemberObservation,
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
