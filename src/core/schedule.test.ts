import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSchedule, nextRun, spreadOffsetMs } from './schedule.ts';

const daily = { cron: '0 2 * * *', timeZone: 'Europe/Zurich', spreadWindow: '1h' };

describe('schedule', () => {
  it('runs daily at 02:00 Zurich time plus a stable offset under one hour', () => {
    const run = nextRun(daily, 'team/data', new Date('2026-06-10T12:00:00Z'));
    const offset = spreadOffsetMs('team/data', 3_600_000);
    expect(run?.getTime()).toBe(new Date('2026-06-11T00:00:00Z').getTime() + offset);
    expect(offset).toBeLessThan(3_600_000);
  });

  it('spreads many volumes across the window', () => {
    const slots = new Set(
      Array.from({ length: 1000 }, (_, i) => Math.floor(spreadOffsetMs(`ns-${i % 50}/pvc-${i}`, 3_600_000) / 60_000)),
    );
    expect(slots.size).toBeGreaterThan(50);
  });

  it('never returns a run at or before the given instant, and returns the earliest one', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }),
        fc.string({ maxLength: 20 }),
        (after, key) => {
          const run = nextRun(daily, key, after);
          expect(run).toBeDefined();
          const t = (run as Date).getTime();
          expect(t).toBeGreaterThan(after.getTime());
          // No earlier run exists after `after`: the run before this one is at or before `after`.
          expect(t - after.getTime()).toBeLessThanOrEqual(25 * 3_600_000 + 3_600_000);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('checks what the API server pattern cannot', () => {
    expect(checkSchedule(daily)).toEqual({ ok: true });
    expect(checkSchedule({ ...daily, timeZone: 'Mars/Olympus_Mons' })).toMatchObject({
      ok: false,
      field: 'spec.schedule.timeZone',
    });
    expect(checkSchedule({ ...daily, cron: '0 0 31 2 *' })).toMatchObject({ ok: true });
  });
});
