import { describe, expect, it } from 'vitest';
import type { VolumeBackup, VolumeBackupStatus } from '../api/index.ts';
import { captureTime, chooseBackup, readRefusal, type BackupQuestion } from './backup-choice.ts';

const idOf = (n: number) => `${String(n).repeat(8)}${'0'.repeat(56)}`;

function kept(
  name: string,
  status: VolumeBackupStatus,
  where: { namespace?: string; pvc?: string } = {},
): VolumeBackup {
  return {
    metadata: { name, namespace: where.namespace ?? 'team' },
    spec: { pvc: where.pvc ?? 'data', trigger: 'schedule' },
    status: { phase: 'Succeeded', repository: 'shared', ...status },
  };
}

// Three kept backups of team/data, listed out of order; the middle one predates snapshotTime.
const monday = kept('data-mon', { snapshotId: idOf(1), snapshotTime: '2026-11-16T02:00:00Z' });
const tuesday = kept('data-tue', { snapshotId: idOf(2), completionTime: '2026-11-17T02:05:00Z' });
const wednesday = kept('data-wed', { snapshotId: idOf(3), snapshotTime: '2026-11-18T02:00:00Z' });
const catalogue = [tuesday, wednesday, monday];

const ask = (question: Partial<BackupQuestion>, list: readonly VolumeBackup[] = catalogue) =>
  chooseBackup(list, { namespace: 'team', pvc: 'data', backup: 'latest', ...question });
const chosenName = (question: Partial<BackupQuestion>, list?: readonly VolumeBackup[]) => {
  const answer = ask(question, list);
  return answer.ok ? answer.backup.name : `error: ${answer.message}`;
};
const errorOf = (question: Partial<BackupQuestion>, list?: readonly VolumeBackup[]) => {
  const answer = ask(question, list);
  return answer.ok ? `chose ${answer.backup.name}` : answer.message;
};

describe('captureTime', () => {
  it('is the snapshot time, else the completion time, else undefined', () => {
    expect(captureTime(kept('a', { snapshotTime: 't1', completionTime: 't2' }))).toBe('t1');
    expect(captureTime(kept('a', { completionTime: 't2' }))).toBe('t2');
    expect(captureTime(kept('a', {}))).toBeUndefined();
    expect(captureTime({ ...kept('a', {}), status: undefined })).toBeUndefined();
  });
});

describe('chooseBackup', () => {
  it('settles on the newest capture as a complete ChosenBackup', () => {
    expect(ask({})).toStrictEqual({
      ok: true,
      backup: {
        name: 'data-wed',
        namespace: 'team',
        pvc: 'data',
        snapshotId: idOf(3),
        snapshotTime: '2026-11-18T02:00:00Z',
        repository: 'shared',
      },
    });
  });

  it('dates a backup made before snapshotTime was recorded by its completion time', () => {
    expect(chosenName({}, [monday, tuesday])).toBe('data-tue');
    const answer = ask({ backup: 'data-tue' });
    expect(answer.ok && answer.backup.snapshotTime).toBe('2026-11-17T02:05:00Z');
  });

  it('leaves snapshotTime out of the answer when the backup has no capture time', () => {
    const undated = kept('data-old', { snapshotId: idOf(4) });
    const answer = ask({ backup: 'data-old' }, [undated]);
    expect(answer.ok).toBe(true);
    if (answer.ok) expect('snapshotTime' in answer.backup).toBe(false);
  });

  it.each([
    ['not Succeeded', kept('x', { phase: 'Failed', snapshotId: idOf(9), snapshotTime: '2026-11-20T00:00:00Z' })],
    ['still running', kept('x', { phase: 'Running', snapshotId: idOf(9), snapshotTime: '2026-11-20T00:00:00Z' })],
    ['without a restic id', kept('x', { snapshotTime: '2026-11-20T00:00:00Z' })],
    [
      'without a repository',
      kept('x', { repository: undefined, snapshotId: idOf(9), snapshotTime: '2026-11-20T00:00:00Z' }),
    ],
    ['of another PVC', kept('x', { snapshotId: idOf(9), snapshotTime: '2026-11-20T00:00:00Z' }, { pvc: 'logs' })],
    [
      'of the same PVC name in another namespace',
      kept('x', { snapshotId: idOf(9), snapshotTime: '2026-11-20T00:00:00Z' }, { namespace: 'other' }),
    ],
    ['without a status', { ...kept('x', {}), status: undefined }],
  ])('ignores a newer backup %s', (_, newer) => {
    expect(chosenName({}, [...catalogue, newer])).toBe('data-wed');
    expect(chosenName({ backup: 'x' }, [...catalogue, newer])).toMatch(/^error: team\/data has no kept backup "x"/);
  });

  it('names the volume when it has no kept backup at all', () => {
    const failed = kept('f', { phase: 'Failed', snapshotId: idOf(1) });
    expect(errorOf({}, [])).toBe('team/data has no successful backup');
    expect(errorOf({ backup: 'data-mon' }, [failed])).toBe('team/data has no successful backup');
    expect(errorOf({ asOf: '2026-11-18T00:00:00Z' }, [])).toBe('team/data has no successful backup');
    expect(
      errorOf(
        {},
        catalogue.map((b) => ({ ...b, metadata: { ...b.metadata, namespace: 'x' } })),
      ),
    ).toContain('team/data');
  });

  it.each([
    ['a VolumeBackup name', 'data-mon', 'data-mon'],
    ['a full restic id', idOf(2), 'data-tue'],
    ['an 8-digit restic id prefix', '33333333', 'data-wed'],
    ['a longer prefix', '1111111100', 'data-mon'],
  ])('finds one backup by %s', (_, backup, name) => {
    expect(chosenName({ backup })).toBe(name);
  });

  it('takes fewer than 8 hex digits, or capital ones, as a name and finds nothing', () => {
    expect(errorOf({ backup: '3333333' })).toBe(
      'team/data has no kept backup "3333333" (a restic snapshot id or VolumeBackup name; see safehold backups team/data)',
    );
    expect(errorOf({ backup: 'ABCDEF12' }, [kept('b', { snapshotId: `abcdef12${'0'.repeat(56)}` })])).toContain(
      'no kept backup "ABCDEF12"',
    );
  });

  it('refuses a prefix that more than one kept backup starts with, naming the volume', () => {
    const twins = [
      kept('a', { snapshotId: `deadbeef${'1'.repeat(56)}`, snapshotTime: '2026-11-16T02:00:00Z' }),
      kept('b', { snapshotId: `deadbeef${'2'.repeat(56)}`, snapshotTime: '2026-11-17T02:00:00Z' }),
    ];
    expect(errorOf({ backup: 'deadbeef' }, twins)).toBe(
      'snapshot id deadbeef is ambiguous: 2 backups of team/data start with it',
    );
    expect(chosenName({ backup: 'deadbeef2' }, twins)).toBe('b');
  });

  it('does not count a prefix match in a failed backup towards ambiguity', () => {
    const list = [
      kept('a', { snapshotId: `deadbeef${'1'.repeat(56)}` }),
      kept('b', { phase: 'Failed', snapshotId: `deadbeef${'2'.repeat(56)}` }),
    ];
    expect(chosenName({ backup: 'deadbeef' }, list)).toBe('a');
  });

  it('prefers an exact VolumeBackup name over restic ids that start with it', () => {
    const list = [
      kept('cafebabe', { snapshotId: idOf(1) }),
      kept('x', { snapshotId: `cafebabe${'1'.repeat(56)}` }),
      kept('y', { snapshotId: `cafebabe${'2'.repeat(56)}` }),
    ];
    expect(chosenName({ backup: 'cafebabe' }, list)).toBe('cafebabe');
  });

  it.each([
    ['just after the newest', '2026-11-19T00:00:00Z', 'data-wed'],
    ['exactly at a capture time', '2026-11-18T02:00:00Z', 'data-wed'],
    ['one second before it', '2026-11-18T01:59:59Z', 'data-tue'],
    ['at a completion time (old backup)', '2026-11-17T02:05:00Z', 'data-tue'],
    ['between the first two', '2026-11-16T12:00:00Z', 'data-mon'],
    ['in another offset, by instant', '2026-11-18T03:30:00+02:00', 'data-tue'],
    ['in another offset, by instant (after)', '2026-11-18T04:00:00+02:00', 'data-wed'],
  ])('as of a time %s, takes the newest captured at or before it', (_, asOf, name) => {
    expect(chosenName({ asOf })).toBe(name);
  });

  it('names the volume and the oldest capture when nothing is that old', () => {
    expect(errorOf({ asOf: '2026-11-16T01:59:59Z' })).toBe(
      'team/data has no backup captured at or before 2026-11-16T01:59:59Z (the oldest is 2026-11-16T02:00:00Z)',
    );
  });

  it('rejects an asOf that is not a time', () => {
    expect(errorOf({ asOf: 'last tuesday' })).toBe('asOf last tuesday is not an RFC 3339 time');
  });
});

describe('readRefusal', () => {
  const refused = (annotation: string | undefined) =>
    readRefusal('team', 'audit', annotation === undefined ? {} : { 'safehold.io/restore-to': annotation });

  it('always lets a namespace read its own backups', () => {
    expect(readRefusal('team', 'team', undefined)).toBeUndefined();
    expect(readRefusal('team', 'team', { 'safehold.io/restore-to': 'nobody' })).toBeUndefined();
  });

  it.each([
    ['named alone', 'audit'],
    ['named in a list', 'staging,audit,prod'],
    ['named with spaces around', ' staging , audit ,prod'],
    ['a wildcard', '*'],
    ['a wildcard with spaces in a list', 'staging, * '],
  ])('lets another namespace read when the annotation is %s', (_, annotation) => {
    expect(refused(annotation)).toBeUndefined();
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['only commas', ' , ,'],
    ['naming others', 'staging,prod'],
    ['naming a longer name', 'audits'],
    ['naming a shorter name', 'aud'],
    ['naming it in another case', 'Audit'],
    ['a pattern', 'aud*'],
  ])('refuses another namespace when the annotation is %s, naming the annotation', (_, annotation) => {
    expect(refused(annotation)).toBe(
      'namespace team does not allow audit to read its backups (an admin can annotate namespace team with safehold.io/restore-to: "audit")',
    );
  });

  it('refuses when the owner namespace has no annotations at all', () => {
    expect(readRefusal('team', 'audit', undefined)).toContain('safehold.io/restore-to');
  });
});
