// Property tests of retention against an independent model over random
// histories, time zones and daylight-saving changes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRetention, type RetentionRules, type Timestamped } from './retention.ts';

const M = 60_000;
const H = 3_600_000;
const D = 86_400_000;

// An independent model: group by a bucket key computed another way, keep the
// newest of the n newest groups (and, as restic, the oldest backup while a
// rule has count left), union over the rules, plus the newest backup.
const zones = [
  'UTC',
  'Europe/Zurich',
  'America/New_York',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'America/Santiago',
];
const bucketNames = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
type BucketName = (typeof bucketNames)[number];
const withinOf = {
  hourly: 'withinHourly',
  daily: 'withinDaily',
  weekly: 'withinWeekly',
  monthly: 'withinMonthly',
  yearly: 'withinYearly',
} as const;

const wallClocks = new Map<string, number[]>();
function modelKey(bucket: BucketName, time: Date, zone: string): string {
  const memo = `${zone} ${time.getTime()}`;
  let parts = wallClocks.get(memo);
  if (parts === undefined) {
    const text = time.toLocaleString('sv-SE', { timeZone: zone, hourCycle: 'h23' });
    parts = (/^(\d{4})-(\d\d)-(\d\d) (\d\d):/.exec(text) ?? []).slice(1).map(Number);
    wallClocks.set(memo, parts);
  }
  const [y = 0, mo = 0, d = 0, h = 0] = parts;
  const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  switch (bucket) {
    case 'hourly':
      return `${y}-${two(mo)}-${two(d)} ${two(h)}h`;
    case 'daily':
      return `${y}-${two(mo)}-${two(d)}`;
    case 'weekly':
      return modelIsoWeek(y, mo, d);
    case 'monthly':
      return `${y}-${two(mo)}`;
    case 'yearly':
      return `${y}`;
  }
}

/** Counts days since 1970-01-01 (a Thursday); week 1 starts on the Monday on or before 4 January. */
function modelIsoWeek(y: number, mo: number, d: number): string {
  const day = Date.UTC(y, mo - 1, d) / D;
  const week1 = (year: number) => {
    const jan4 = Date.UTC(year, 0, 4) / D;
    return jan4 - ((jan4 + 3) % 7);
  };
  let weekYear = y + 1;
  while (day < week1(weekYear)) weekYear--;
  const week = Math.floor((day - week1(weekYear)) / 7) + 1;
  return `${weekYear}-W${week < 10 ? `0${week}` : week}`;
}

function model(backups: readonly Timestamped[], rules: RetentionRules, zone: string): Set<string> {
  const given = (n: number | undefined) => n !== undefined && n !== 0;
  const all = [rules.last, rules.within, ...bucketNames.flatMap((b) => [rules[b], rules[withinOf[b]]])];
  if (!all.some(given)) return new Set(backups.map((b) => b.id));
  const isNewer = (a: Timestamped, b: Timestamped) =>
    a.time.getTime() > b.time.getTime() || (a.time.getTime() === b.time.getTime() && a.id < b.id);
  const byNewest = (a: Timestamped, b: Timestamped) => (isNewer(a, b) ? -1 : isNewer(b, a) ? 1 : 0);
  const ordered = [...backups].sort(byNewest);
  const newest = ordered[0];
  const oldest = ordered.at(-1);
  if (newest === undefined || oldest === undefined) return new Set();
  const keep = new Set([newest.id]);
  const add = (b: Timestamped) => keep.add(b.id);
  const age = (b: Timestamped) => newest.time.getTime() - b.time.getTime();
  const maxima = (list: readonly Timestamped[], bucket: BucketName) => {
    const best = new Map<string, Timestamped>();
    for (const b of list) {
      const key = modelKey(bucket, b.time, zone);
      const current = best.get(key);
      if (current === undefined || isNewer(b, current)) best.set(key, b);
    }
    return [...best.values()].sort(byNewest);
  };
  const counted = (n: number | undefined): n is number => n !== undefined && (n > 0 || n === -1);
  if (counted(rules.last)) ordered.slice(0, rules.last === -1 ? undefined : rules.last).forEach(add);
  for (const bucket of bucketNames) {
    const n = rules[bucket];
    if (counted(n)) {
      const tops = maxima(backups, bucket);
      (n === -1 ? tops : tops.slice(0, n)).forEach(add);
      if (n === -1 || tops.length < n) add(oldest);
    }
    const span = rules[withinOf[bucket]];
    if (given(span)) {
      const inside = backups.filter((b) => age(b) < (span ?? 0));
      maxima(inside, bucket).forEach(add);
      if (inside.includes(oldest)) add(oldest);
    }
  }
  if (given(rules.within)) backups.filter((b) => age(b) < (rules.within ?? 0)).forEach(add);
  return keep;
}

const count = fc.option(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 12 })), { nil: undefined });
const span = fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 * D })), { nil: undefined });
const rulesArb: fc.Arbitrary<RetentionRules> = fc.record(
  {
    last: count,
    hourly: count,
    daily: count,
    weekly: count,
    monthly: count,
    yearly: count,
    within: span,
    withinHourly: span,
    withinDaily: span,
    withinWeekly: span,
    withinMonthly: span,
    withinYearly: span,
  },
  { requiredKeys: [] },
);

/** Backups from gaps of minutes to a month, given in a shuffled order; some share a time. */
const backupsFrom = (start: number, steps: readonly (readonly [number, number])[]): Timestamped[] => {
  let t = start;
  const made = steps.map(([gap, order], i) => {
    t += gap;
    return { id: `b${String(i).padStart(3, '0')}`, time: new Date(t), order };
  });
  return made.sort((a, b) => a.order - b.order).map(({ id, time }) => ({ id, time }));
};
const wideGap = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 90 * M }),
  fc.integer({ min: 0, max: 2 * D }),
  fc.integer({ min: 0, max: 30 * D }),
);
const spread = fc
  .tuple(
    fc.constantFrom(...zones),
    fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2025, 0, 1) }),
    fc.array(fc.tuple(wideGap, fc.nat()), { maxLength: 200, size: 'max' }),
  )
  .map(([zone, start, steps]) => ({ zone, backups: backupsFrom(start, steps) }));
// Dense histories over a DST change of their own zone.
const transitions: [string, string][] = [
  ['Europe/Zurich', '2025-03-30T01:00:00Z'],
  ['Europe/Zurich', '2025-10-26T01:00:00Z'],
  ['America/New_York', '2025-03-09T07:00:00Z'],
  ['America/New_York', '2025-11-02T06:00:00Z'],
  ['Australia/Lord_Howe', '2025-04-05T15:00:00Z'],
  ['America/Santiago', '2025-04-06T03:00:00Z'],
  ['America/Santiago', '2025-09-07T04:00:00Z'],
  ['Pacific/Chatham', '2025-04-05T14:00:00Z'],
  ['America/St_Johns', '2025-11-02T04:30:00Z'],
];
const aroundDst = fc
  .tuple(
    fc.constantFrom(...transitions),
    fc.integer({ min: 0, max: 3 * H }),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 20 * M }), fc.nat()), { maxLength: 60, size: 'max' }),
  )
  .map(([[zone, change], before, steps]) => ({ zone, backups: backupsFrom(Date.parse(change) - before, steps) }));
const scenario = fc.oneof(spread, aroundDst);
const keptIds = (backups: readonly Timestamped[], rules: RetentionRules, zone: string) =>
  new Set(
    applyRetention(backups, rules, zone)
      .filter((v) => v.keep)
      .map((v) => v.backup.id),
  );

// Shrinking a 200-backup history can take minutes; past this budget fast-check
// reports the smallest failure found so far.
const shrinkBudget = { interruptAfterTimeLimit: 10_000 };

describe('applyRetention: properties', { timeout: 30_000 }, () => {
  it('keeps exactly what the independent model keeps, with the model bucket keys', () => {
    fc.assert(
      fc.property(scenario, rulesArb, ({ zone, backups }, rules) => {
        // Small failure reports: a diff of 200 backups would make shrinking crawl.
        const verdicts = applyRetention(backups, rules, zone);
        const ids = verdicts.filter((v) => v.keep).map((v) => v.backup.id);
        const expected = model(backups, rules, zone);
        expect({
          extra: ids.filter((id) => !expected.has(id)),
          missing: [...expected].filter((id) => !ids.includes(id)),
        }).toEqual({ extra: [], missing: [] });
        expect(new Set(verdicts.map((v) => v.backup)).size).toBe(backups.length);
        expect(verdicts.length).toBe(backups.length);
        const times = verdicts.map((v) => v.backup.time.getTime());
        expect(times.findIndex((t, i) => i > 0 && t > (times[i - 1] ?? t))).toBe(-1);
        const wrongKeys = verdicts.flatMap(({ backup, reasons }) =>
          reasons.flatMap((reason) => {
            const match = /^(?:oldest )?(hourly|daily|weekly|monthly|yearly) (?:within \S+ )?(.+)$/.exec(reason);
            const key = match === null ? undefined : modelKey(match[1] as BucketName, backup.time, zone);
            return key === undefined || key === match?.[2] ? [] : [`${backup.id}: ${reason}, model ${key}`];
          }),
        );
        expect(wrongKeys).toEqual([]);
      }),
      { numRuns: 300, ...shrinkBudget },
    );
  });

  it('always keeps the newest backup, whatever the rules', () => {
    const anyCount = fc.option(fc.integer({ min: -5, max: 12 }), { nil: undefined });
    const anySpan = fc.option(fc.integer({ min: -D, max: 400 * D }), { nil: undefined });
    const anyRules = fc.record(
      { last: anyCount, daily: anyCount, weekly: anyCount, within: anySpan, withinDaily: anySpan },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(scenario, anyRules, ({ zone, backups }, rules) => {
        const verdicts = applyRetention(backups, rules, zone);
        if (backups.length > 0) expect(verdicts[0]?.keep).toBe(true);
        const newest = Math.max(...backups.map((b) => b.time.getTime()));
        expect(verdicts.filter((v) => v.backup.time.getTime() === newest).some((v) => v.keep)).toBe(backups.length > 0);
      }),
      { numRuns: 200, ...shrinkBudget },
    );
  });

  it('keeps all of a kept set when applied to it again', () => {
    fc.assert(
      fc.property(scenario, rulesArb, ({ zone, backups }, rules) => {
        const once = applyRetention(backups, rules, zone)
          .filter((v) => v.keep)
          .map((v) => v.backup);
        const twice = applyRetention(once, rules, zone);
        expect(twice.filter((v) => !v.keep).map((v) => v.backup.id)).toEqual([]);
      }),
      { numRuns: 200, ...shrinkBudget },
    );
  });

  it('never drops a kept backup when a count or span grows (given some rule)', () => {
    const field = fc.constantFrom<keyof RetentionRules>(
      'last',
      'hourly',
      'daily',
      'weekly',
      'monthly',
      'yearly',
      'within',
      'withinHourly',
      'withinDaily',
      'withinWeekly',
      'withinMonthly',
      'withinYearly',
    );
    const growth = fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constant('unlimited' as const));
    fc.assert(
      fc.property(scenario, rulesArb, field, growth, ({ zone, backups }, rules, name, by) => {
        fc.pre(Object.values(rules).some((v) => v !== undefined && v !== 0));
        const before = rules[name] ?? 0;
        const isSpan = name.startsWith('within');
        const after = isSpan
          ? before + (by === 'unlimited' ? 1000 * D : by * H)
          : before === -1 || by === 'unlimited'
            ? -1
            : before + by;
        const wider = keptIds(backups, { ...rules, [name]: after }, zone);
        for (const id of keptIds(backups, rules, zone)) expect(wider).toContain(id);
      }),
      { numRuns: 200, ...shrinkBudget },
    );
  });

  it('gives every kept backup a reason and every dropped one none', () => {
    fc.assert(
      fc.property(scenario, rulesArb, ({ zone, backups }, rules) => {
        for (const v of applyRetention(backups, rules, zone)) expect(v.reasons.length > 0).toBe(v.keep);
      }),
      { numRuns: 200, ...shrinkBudget },
    );
  });
});
