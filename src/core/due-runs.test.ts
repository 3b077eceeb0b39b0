import { describe, expect, it } from 'vitest';
import type { CoverageRow } from './coverage.ts';
import { dueRuns, lastScheduledSlots, memberSlot, scheduledBackupName } from './due-runs.ts';
import { nextRun } from './schedule.ts';

const schedule = { cron: '0 2 * * *', timeZone: 'UTC', spreadWindow: '1h' };
const policies = new Map([['nightly', { schedule }]]);
const row = (name: string, state: 'protected' | 'excluded' = 'protected'): CoverageRow => ({
  namespace: 'team',
  name,
  size: '1Gi',
  storageClass: 'fast',
  volumeMode: 'Filesystem',
  phase: 'Bound',
  decision:
    state === 'protected'
      ? { state, policy: 'nightly', rule: 'default-policy', reason: '' }
      : { state, by: 'Namespace', rule: 'namespace-annotation', reason: '' },
  lastBackup: undefined,
  nextRun: undefined,
  problems: [],
});

describe('dueRuns', () => {
  const slotAfter = (at: string) => nextRun(schedule, 'team/data', new Date(at)) as Date;

  it('owes a new volume nothing until its first slot', () => {
    const { due, wakeAt } = dueRuns([row('data')], new Map(), policies, new Date('2026-11-22T12:00:00Z'));
    expect(due).toEqual([]);
    expect(wakeAt.getTime()).toBeLessThanOrEqual(new Date('2026-11-22T12:01:00Z').getTime());
  });

  it('runs the next slot on time as a scheduled run', () => {
    const last = slotAfter('2026-11-20T00:00:00Z');
    const slot = slotAfter(last.toISOString());
    const { due } = dueRuns([row('data')], new Map([['team/data', last]]), policies, new Date(slot.getTime() + 1000));
    expect(due).toEqual([{ namespace: 'team', pvc: 'data', policy: 'nightly', slot, trigger: 'schedule' }]);
  });

  it('catches up once for many missed slots, at the latest one', () => {
    const last = slotAfter('2026-11-10T00:00:00Z');
    const now = new Date('2026-11-22T12:00:00Z');
    const { due } = dueRuns([row('data')], new Map([['team/data', last]]), policies, now);
    expect(due).toHaveLength(1);
    expect(due[0]?.trigger).toBe('catch-up');
    expect(due[0]?.slot.getTime()).toBe(slotAfter('2026-11-22T00:00:00Z').getTime());
  });

  it('ignores volumes that are not protected', () => {
    const last = slotAfter('2026-11-10T00:00:00Z');
    expect(
      dueRuns([row('data', 'excluded')], new Map([['team/data', last]]), policies, new Date('2026-11-22T12:00:00Z'))
        .due,
    ).toEqual([]);
  });

  it('names a run after its volume and slot, the same every time', () => {
    const slot = new Date('2026-11-22T02:17:00Z');
    expect(scheduledBackupName('data', slot)).toBe(scheduledBackupName('data', slot));
    expect(scheduledBackupName('data', slot)).toMatch(/^data-[0-9a-f]{6}-20261122t0217$/);
    expect(scheduledBackupName('data', slot)).not.toBe(scheduledBackupName('data', new Date('2026-11-23T02:17:00Z')));
  });
});

describe('memberSlot', () => {
  const slotAfter = (at: string | Date) => nextRun(schedule, 'team/wal', new Date(at)) as Date;

  it("stands for the volume's next slot, which then does not run: one backup per slot, whichever volume leads", () => {
    const last = slotAfter('2026-11-20T00:00:00Z');
    const next = slotAfter(last);
    const now = new Date(next.getTime() - 30 * 60_000);
    const slot = memberSlot(schedule, 'team/wal', last, now);
    expect(slot).toEqual(next);
    // With the member's run recording that slot, the scheduler owes the volume nothing at it.
    const after = new Date(next.getTime() + 1000);
    expect(dueRuns([row('wal')], new Map([['team/wal', slot as Date]]), policies, after).due).toEqual([]);
    // And the slot after it runs as usual.
    const following = slotAfter(next);
    expect(dueRuns([row('wal')], new Map([['team/wal', slot as Date]]), policies, following).due).toHaveLength(1);
  });

  it('makes up for a slot already due, the latest one, as a catch-up would', () => {
    const last = slotAfter('2026-11-10T00:00:00Z');
    const now = new Date('2026-11-22T12:00:00Z');
    expect(memberSlot(schedule, 'team/wal', last, now)).toEqual(slotAfter('2026-11-22T00:00:00Z'));
  });

  it('takes the next slot for a volume never scheduled', () => {
    const now = new Date('2026-11-22T12:00:00Z');
    expect(memberSlot(schedule, 'team/wal', undefined, now)).toEqual(slotAfter(now));
  });
});

describe('lastScheduledSlots', () => {
  const backup = (pvc: string, scheduledFor?: string) => ({
    metadata: { namespace: 'team' },
    spec: { pvc, ...(scheduledFor === undefined ? {} : { scheduledFor }) },
  });
  const claim = (name: string, slot?: string) => ({
    metadata: {
      namespace: 'team',
      name,
      ...(slot === undefined ? {} : { annotations: { 'safehold.io/last-scheduled': slot } }),
    },
  });

  it('is the latest slot of the runs and of the PVC', () => {
    const slots = lastScheduledSlots(
      [backup('a', '2026-11-01T02:00:00Z'), backup('a', '2026-11-02T02:00:00Z'), backup('b'), backup('c', 'soon')],
      [claim('a', '2026-11-01T02:00:00Z'), claim('b', '2026-11-03T02:00:00Z'), claim('d')],
    );
    expect(Object.fromEntries([...slots].map(([k, v]) => [k, v.toISOString()]))).toEqual({
      'team/a': '2026-11-02T02:00:00.000Z',
      'team/b': '2026-11-03T02:00:00.000Z',
    });
  });

  it('keeps the slot of a run that retention or maintenance deleted, from the PVC', () => {
    const slots = lastScheduledSlots([backup('a', '2026-11-01T02:00:00Z')], [claim('a', '2026-11-05T02:00:00Z')]);
    expect(slots.get('team/a')?.toISOString()).toBe('2026-11-05T02:00:00.000Z');
  });
});
