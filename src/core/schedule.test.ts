import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cron } from 'croner';
import { checkSchedule, nextRun, spreadOffsetMs } from './schedule.ts';
import { durationMs } from '../api/index.ts';

const daily = { cron: '0 2 * * *', timeZone: 'Europe/Zurich', spreadWindow: '1h' };

/** The first run strictly after `at`, asked of croner afresh each time: what nextRun must answer. */
function askCroner(schedule: typeof daily, key: string, at: number): number | undefined {
  const offset = spreadOffsetMs(key, durationMs(schedule.spreadWindow));
  const cron = new Cron(schedule.cron, { timezone: schedule.timeZone, paused: true, legacyMode: true });
  let base = cron.nextRun(new Date(at - offset));
  while (base !== null && base.getTime() + offset <= at) base = cron.nextRun(base);
  return base === null ? undefined : base.getTime() + offset;
}

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

  it('answers from what it remembers exactly as croner answers, whatever order it is asked in', () => {
    const schedules = [
      daily,
      { cron: '*/15 * * * *', timeZone: 'UTC', spreadWindow: '10m' },
      { cron: '30 1 * * 0', timeZone: 'America/New_York', spreadWindow: '0s' },
      { cron: '0 0 29 2 *', timeZone: 'UTC', spreadWindow: '0s' },
    ];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            schedule: fc.constantFrom(...schedules),
            key: fc.constantFrom('team/a', 'team/b', 'other/c'),
            // Instants clustered within days, so many fall between a remembered question and its answer.
            at: fc.integer({ min: 0, max: 10 * 86_400_000 }).map((ms) => Date.parse('2026-03-25T00:00:00Z') + ms),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (questions) => {
          for (const { schedule, key, at } of questions) {
            // Each answer asked again, as the scheduler walks from one slot to the next.
            let from: number | undefined = at;
            for (let step = 0; step < 3 && from !== undefined; step++) {
              const answer: number | undefined = nextRun(schedule, key, new Date(from))?.getTime();
              expect(answer).toBe(askCroner(schedule, key, from));
              from = answer;
            }
          }
        },
      ),
      { numRuns: 300 },
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
