import { describe, expect, it } from 'vitest';
import {
  adoptableRuns,
  adoptedSlot,
  groupBusy,
  groupCapture,
  groupMembers,
  memberBackupName,
  nextGroupSnapshotStep,
  nextGroupStep,
  snapshotTaken,
  type GroupVolume,
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
    // A group snapshot takes the members' snapshots: only their backups are made.
    expect(nextGroupStep([member({ exists: false })], true)).toEqual({ kind: 'create-member-backup', index: 0 });
    expect(nextGroupStep([member({})], true)).toBeUndefined();
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

describe('groupCapture', () => {
  const rbd = { driver: 'rbd.csi.ceph.com', keepsSnapshots: false };
  const member = (pvc: string, volume: GroupVolume) => ({ pvc, backup: `db-1-${pvc}`, ...volume });
  const wal = member('wal', rbd);
  const logs = member('logs', { driver: 'cephfs.csi.ceph.com', keepsSnapshots: false });
  const kept = member('kept', { ...rbd, keepsSnapshots: true });
  const bare = ({ pvc, backup }: { pvc: string; backup: string }) => ({ pvc, backup });

  it.each([
    ['hooks, every member can join: one group snapshot', true, rbd, [wal], 'rbd-group', [wal], 'rbd-group'],
    [
      'hooks, a member on another driver: one snapshot each',
      true,
      rbd,
      [wal, logs],
      'rbd-group',
      [wal, logs],
      undefined,
    ],
    ['hooks, a member keeps snapshots: one snapshot each', true, rbd, [wal, kept], 'rbd-group', [wal, kept], undefined],
    ['hooks, no group class: one snapshot each', true, rbd, [wal], undefined, [wal], undefined],
    ['no hooks: only those that can join', false, rbd, [wal, logs, kept], 'rbd-group', [wal], 'rbd-group'],
    ['no hooks, none can join: no group', false, rbd, [logs], 'rbd-group', [], undefined],
    ['no hooks, no group class: no group', false, rbd, [wal], undefined, [], undefined],
    [
      'no hooks, the run keeps snapshots: no group',
      false,
      { ...rbd, keepsSnapshots: true },
      [wal],
      'rbd-group',
      [],
      undefined,
    ],
  ] as const)('%s', (_, hooked, leader, members, groupSnapshotClass, wanted, wantedClass) => {
    expect(groupCapture({ hooked, leader, members, groupSnapshotClass })).toEqual({
      members: wanted.map(bare),
      groupSnapshotClass: wantedClass,
    });
  });
});

describe('nextGroupSnapshotStep', () => {
  const at = (groupSnapshot: Parameters<typeof nextGroupSnapshotStep>[1], labelled = true) =>
    nextGroupSnapshotStep('db-1', groupSnapshot, labelled);

  it('labels the claims for its selector, then makes it, then adopts its snapshots once ready', () => {
    expect(at(undefined, false)).toEqual({ kind: 'label-group-claims' });
    expect(at(undefined)).toEqual({ kind: 'create-group-snapshot' });
    expect(at({ ready: false, error: undefined, deleting: false })).toMatchObject({ kind: 'group-snapshot-wait' });
    expect(at({ ready: true, error: undefined, deleting: false })).toEqual({ kind: 'adopt-group-snapshot' });
  });

  it('fails with the reason the snapshot controller gives, and waits out an old one being deleted', () => {
    expect(at({ ready: false, error: 'no VolumeGroupSnapshotClass', deleting: false })).toEqual({
      kind: 'group-snapshot-failed',
      message: 'VolumeGroupSnapshot db-1: no VolumeGroupSnapshotClass',
    });
    expect(at({ ready: true, error: undefined, deleting: true })).toEqual({
      kind: 'group-snapshot-wait',
      message: 'waiting for the old VolumeGroupSnapshot db-1 to go',
    });
  });
});

describe('groupBusy', () => {
  const members = [{ pvc: 'wal', backup: 'db-1-wal' }];

  it('waits while another run captures a volume of the group, or takes this one in its own group', () => {
    expect(groupBusy('db', members, [{ name: 'wal-7', pvc: 'wal', members: [] }])).toBe(
      'PVC wal of this workload is in backup wal-7, which is running',
    );
    expect(groupBusy('db', members, [{ name: 'logs-2', pvc: 'logs', members: ['db'] }])).toBe(
      'PVC db of this workload is in backup logs-2, which is running',
    );
  });

  it('lets it start beside runs of other volumes, and leaves runs of its own volume to volumeBusy', () => {
    expect(groupBusy('db', members, [{ name: 'logs-2', pvc: 'logs', members: ['cache'] }])).toBeUndefined();
    expect(groupBusy('db', members, [{ name: 'db-0', pvc: 'db', members: [] }])).toBeUndefined();
  });
});
