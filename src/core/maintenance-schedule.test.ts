import { describe, expect, it } from 'vitest';
import { backupRepositorySpec } from '../api/index.ts';
import { dueMaintenance, maintenanceName, nextRollingSlice, type MaintenanceTarget } from './maintenance-schedule.ts';

const spec = backupRepositorySpec.parse({
  s3: {
    endpoint: 'http://s3:7480',
    bucket: 'backups',
    accessKeyId: { namespace: 's', name: 'k' },
    secretAccessKey: { namespace: 's', name: 'k' },
  },
});
const target = (since: string, last: MaintenanceTarget['last'] = {}): MaintenanceTarget => ({
  repository: 'main',
  tenant: 'team',
  spec,
  since: new Date(since),
  last,
});

describe('dueMaintenance', () => {
  it('defaults to a weekly prune (Sunday 03:00 UTC) and a weekly check (Sunday 05:00 UTC)', () => {
    const { due } = dueMaintenance([target('2026-11-20T00:00:00Z')], new Date('2026-11-22T06:00:00Z'));
    expect(due).toEqual([
      { repository: 'main', tenant: 'team', operation: 'prune', slot: new Date('2026-11-22T03:00:00Z') },
      { repository: 'main', tenant: 'team', operation: 'check', slot: new Date('2026-11-22T05:00:00Z') },
    ]);
  });

  it('owes nothing before the first slot after the tenant began, nor twice for a slot', () => {
    expect(dueMaintenance([target('2026-11-22T04:00:00Z')], new Date('2026-11-22T04:30:00Z')).due).toEqual([]);
    const done = target('2026-11-01T00:00:00Z', {
      prune: new Date('2026-11-22T03:00:00Z'),
      check: new Date('2026-11-22T05:00:00Z'),
    });
    const { due, wakeAt } = dueMaintenance([done], new Date('2026-11-22T06:00:00Z'));
    expect(due).toEqual([]);
    expect(wakeAt.getTime()).toBeLessThanOrEqual(Date.parse('2026-11-22T06:01:00Z'));
  });

  it('makes up many missed weeks with one run, for the latest slot', () => {
    const { due } = dueMaintenance(
      [target('2026-01-01T00:00:00Z', { prune: new Date('2026-01-04T03:00:00Z') })],
      new Date('2026-11-22T04:00:00Z'),
    );
    expect(due.filter((d) => d.operation === 'prune')).toEqual([
      { repository: 'main', tenant: 'team', operation: 'prune', slot: new Date('2026-11-22T03:00:00Z') },
    ]);
  });

  it('names runs after their slot, within object name limits', () => {
    const name = maintenanceName('a'.repeat(80), 'tenant', 'prune', new Date('2026-11-22T03:00:00Z'));
    expect(name).toBe(`${'a'.repeat(30)}-prune-20261122t0300`);
    expect(name.length).toBeLessThanOrEqual(63);
  });
});

describe('nextRollingSlice', () => {
  it.each([
    { last: undefined, slices: 4, next: '1/4' },
    { last: '1/4', slices: 4, next: '2/4' },
    { last: '3/4', slices: 4, next: '4/4' },
    // After the last slice, the first again: every pack was read.
    { last: '4/4', slices: 4, next: '1/4' },
    // The number of slices changed, or the last check read a percentage: start over.
    { last: '2/4', slices: 12, next: '1/12' },
    { last: '5%', slices: 4, next: '1/4' },
    { last: '0/4', slices: 4, next: '1/4' },
  ])('after $last of $slices slices: $next', ({ last, slices, next }) => {
    expect(nextRollingSlice(last, slices)).toBe(next);
  });

  it('reads every slice once in N checks', () => {
    const read: string[] = [];
    let last: string | undefined;
    for (let i = 0; i < 12; i++) read.push((last = nextRollingSlice(last, 12)));
    expect(new Set(read).size).toBe(12);
  });
});
