import { describe, expect, it } from 'vitest';
import { applyRetention, describeRules, type RetentionRules, type Timestamped } from './retention.ts';

const M = 60_000;
const H = 3_600_000;
const D = 86_400_000;
const at = (iso: string): Timestamped => ({ id: iso, time: new Date(iso) });
const history = (...isos: string[]): Timestamped[] => isos.map(at);

/** Kept ids, newest first, each with its reasons. */
function kept(backups: readonly Timestamped[], rules: RetentionRules, zone = 'UTC'): Record<string, string[]> {
  const verdicts = applyRetention(backups, rules, zone).filter((v) => v.keep);
  return Object.fromEntries(verdicts.map((v) => [v.backup.id, v.reasons]));
}

describe('applyRetention: one rule at a time', () => {
  // Given oldest first on purpose: the function sorts.
  const hours = history(
    '2026-06-10T09:10:00Z',
    '2026-06-10T10:05:00Z',
    '2026-06-10T10:40:00Z',
    '2026-06-10T11:10:00Z',
    '2026-06-10T11:50:00Z',
    '2026-06-10T12:01:00Z',
  );
  const days = history(
    '2026-03-20T08:00:00Z',
    '2026-03-27T08:00:00Z',
    '2026-03-28T08:00:00Z',
    '2026-03-28T20:00:00Z',
    '2026-03-29T01:00:00Z',
    '2026-03-29T23:00:00Z',
  );
  const months = history(
    '2025-11-30T12:00:00Z',
    '2025-12-31T12:00:00Z',
    '2026-01-15T12:00:00Z',
    '2026-02-01T12:00:00Z',
    '2026-02-27T12:00:00Z',
    '2026-03-02T12:00:00Z',
  );

  it.each([
    {
      name: 'last keeps the n newest, whatever their buckets',
      backups: hours,
      rules: { last: 3 },
      expected: {
        '2026-06-10T12:01:00Z': ['last'],
        '2026-06-10T11:50:00Z': ['last'],
        '2026-06-10T11:10:00Z': ['last'],
      },
    },
    {
      name: 'hourly keeps the newest of each of the n most recent hours',
      backups: hours,
      rules: { hourly: 3 },
      expected: {
        '2026-06-10T12:01:00Z': ['hourly 2026-06-10 12h'],
        '2026-06-10T11:50:00Z': ['hourly 2026-06-10 11h'],
        '2026-06-10T10:40:00Z': ['hourly 2026-06-10 10h'],
      },
    },
    {
      name: 'daily counts days that have backups, not calendar days',
      backups: days,
      rules: { daily: 3 },
      expected: {
        '2026-03-29T23:00:00Z': ['daily 2026-03-29'],
        '2026-03-28T20:00:00Z': ['daily 2026-03-28'],
        '2026-03-27T08:00:00Z': ['daily 2026-03-27'],
      },
    },
    {
      name: 'weekly buckets by ISO week, Monday to Sunday',
      backups: days,
      rules: { weekly: 2 },
      expected: { '2026-03-29T23:00:00Z': ['weekly 2026-W13'], '2026-03-20T08:00:00Z': ['weekly 2026-W12'] },
    },
    {
      name: 'monthly keeps the newest of each of the n most recent months',
      backups: months,
      rules: { monthly: 3 },
      expected: {
        '2026-03-02T12:00:00Z': ['monthly 2026-03'],
        '2026-02-27T12:00:00Z': ['monthly 2026-02'],
        '2026-01-15T12:00:00Z': ['monthly 2026-01'],
      },
    },
    {
      name: 'yearly keeps the newest of each of the n most recent years',
      backups: months,
      rules: { yearly: 1 },
      expected: { '2026-03-02T12:00:00Z': ['yearly 2026'] },
    },
    {
      name: 'a rule with counts to spare keeps the newest of every bucket',
      backups: hours,
      rules: { hourly: 10 },
      expected: {
        '2026-06-10T12:01:00Z': ['hourly 2026-06-10 12h'],
        '2026-06-10T11:50:00Z': ['hourly 2026-06-10 11h'],
        '2026-06-10T10:40:00Z': ['hourly 2026-06-10 10h'],
        '2026-06-10T09:10:00Z': ['hourly 2026-06-10 09h'],
      },
    },
    {
      name: 'the oldest shares its bucket with a kept backup: kept too, with count left',
      backups: history('2026-06-10T10:05:00Z', '2026-06-10T10:40:00Z', '2026-06-10T11:10:00Z'),
      rules: { hourly: 5 },
      expected: {
        '2026-06-10T11:10:00Z': ['hourly 2026-06-10 11h'],
        '2026-06-10T10:40:00Z': ['hourly 2026-06-10 10h'],
        '2026-06-10T10:05:00Z': ['oldest hourly 2026-06-10 10h'],
      },
    },
    {
      name: '-1 is unlimited: every bucket, and so the oldest too',
      backups: history('2026-03-27T08:00:00Z', '2026-03-27T20:00:00Z', '2026-03-28T08:00:00Z'),
      rules: { daily: -1 },
      expected: {
        '2026-03-28T08:00:00Z': ['daily 2026-03-28'],
        '2026-03-27T20:00:00Z': ['daily 2026-03-27'],
        '2026-03-27T08:00:00Z': ['oldest daily 2026-03-27'],
      },
    },
    {
      name: 'rules add up, and a backup lists every rule that kept it',
      backups: days,
      rules: { last: 2, daily: 2, weekly: 2 },
      expected: {
        '2026-03-29T23:00:00Z': ['last', 'daily 2026-03-29', 'weekly 2026-W13'],
        '2026-03-29T01:00:00Z': ['last'],
        '2026-03-28T20:00:00Z': ['daily 2026-03-28'],
        '2026-03-20T08:00:00Z': ['weekly 2026-W12'],
      },
    },
  ])('$name', ({ backups, rules, expected }) => {
    expect(kept(backups, rules)).toEqual(expected);
  });

  it('returns every backup once, newest first, equal times ordered by id', () => {
    const same = new Date('2026-06-10T12:00:00Z');
    const backups = [
      { id: 'b', time: same },
      { id: 'old', time: new Date('2026-06-01T00:00:00Z') },
      { id: 'a', time: same },
    ];
    const verdicts = applyRetention(backups, { last: 1 }, 'UTC');
    expect(verdicts.map((v) => [v.backup.id, v.keep])).toEqual([
      ['a', true],
      ['b', false],
      ['old', false],
    ]);
    expect(verdicts[0]?.backup).toBe(backups[2]);
  });
});

describe('applyRetention: buckets on the wall clock of the time zone', () => {
  const everyBucket = { hourly: 1, daily: 1, weekly: 1, monthly: 1, yearly: 1 };

  it.each([
    ['UTC', ['hourly 2026-12-31 23h', 'daily 2026-12-31', 'weekly 2026-W53', 'monthly 2026-12', 'yearly 2026']],
    [
      'Europe/Zurich',
      ['hourly 2027-01-01 00h', 'daily 2027-01-01', 'weekly 2026-W53', 'monthly 2027-01', 'yearly 2027'],
    ],
    [
      'America/New_York',
      ['hourly 2026-12-31 18h', 'daily 2026-12-31', 'weekly 2026-W53', 'monthly 2026-12', 'yearly 2026'],
    ],
    [
      'Asia/Kolkata',
      ['hourly 2027-01-01 05h', 'daily 2027-01-01', 'weekly 2026-W53', 'monthly 2027-01', 'yearly 2027'],
    ],
  ])('2026-12-31T23:30Z in %s', (zone, reasons) => {
    expect(kept([at('2026-12-31T23:30:00Z')], everyBucket, zone)).toEqual({ '2026-12-31T23:30:00Z': reasons });
  });

  // Two backups an hour apart either side of local midnight, and one two days earlier.
  it.each([
    { zone: 'Europe/Zurich', early: '2026-06-10T21:30:00Z', late: '2026-06-10T22:30:00Z', splits: true },
    { zone: 'UTC', early: '2026-06-10T21:30:00Z', late: '2026-06-10T22:30:00Z', splits: false },
    { zone: 'America/New_York', early: '2026-06-11T03:30:00Z', late: '2026-06-11T04:30:00Z', splits: true },
    { zone: 'UTC', early: '2026-06-11T03:30:00Z', late: '2026-06-11T04:30:00Z', splits: false },
    { zone: 'Asia/Kolkata', early: '2026-06-10T18:15:00Z', late: '2026-06-10T18:45:00Z', splits: true },
    { zone: 'Europe/Zurich', early: '2026-06-10T18:15:00Z', late: '2026-06-10T18:45:00Z', splits: false },
    { zone: 'UTC', early: '2026-06-10T23:30:00Z', late: '2026-06-11T00:30:00Z', splits: true },
    { zone: 'Asia/Kolkata', early: '2026-06-10T23:30:00Z', late: '2026-06-11T00:30:00Z', splits: false },
  ])('daily 2 in $zone: $early and $late on different days: $splits', ({ zone, early, late, splits }) => {
    const older = '2026-06-08T12:00:00Z';
    const ids = Object.keys(kept(history(older, early, late), { daily: 2 }, zone));
    expect(ids).toEqual(splits ? [late, early] : [late, older]);
  });

  it.each([
    ['2026-03-29T12:00:00Z', 'UTC', '2026-W13'],
    ['2026-03-30T12:00:00Z', 'UTC', '2026-W14'],
    ['2026-12-31T12:00:00Z', 'UTC', '2026-W53'],
    ['2027-01-01T12:00:00Z', 'UTC', '2026-W53'],
    ['2027-01-03T12:00:00Z', 'UTC', '2026-W53'],
    ['2027-01-04T12:00:00Z', 'UTC', '2027-W01'],
    ['2028-01-01T12:00:00Z', 'UTC', '2027-W52'],
    ['2024-12-30T12:00:00Z', 'UTC', '2025-W01'],
    ['2021-01-03T12:00:00Z', 'UTC', '2020-W53'],
    ['2020-12-31T12:00:00Z', 'UTC', '2020-W53'],
    ['2027-01-03T23:30:00Z', 'UTC', '2026-W53'],
    ['2027-01-03T23:30:00Z', 'Europe/Zurich', '2027-W01'],
    ['2027-01-04T03:00:00Z', 'America/New_York', '2026-W53'],
  ])('%s in %s is in ISO week %s', (iso, zone, week) => {
    expect(kept([at(iso)], { weekly: 1 }, zone)).toEqual({ [iso]: [`weekly ${week}`] });
  });

  it('weekly buckets cross the new year: 2026-12-28 and 2027-01-02 are one week', () => {
    const backups = history('2026-12-27T12:00:00Z', '2026-12-28T12:00:00Z', '2027-01-02T12:00:00Z');
    expect(kept(backups, { weekly: 2 })).toEqual({
      '2027-01-02T12:00:00Z': ['weekly 2026-W53'],
      '2026-12-27T12:00:00Z': ['weekly 2026-W52'],
    });
  });
});

describe('applyRetention: daylight saving time', () => {
  it.each([
    {
      name: 'Zurich springs forward: there is no 02h',
      zone: 'Europe/Zurich',
      backups: history('2026-03-28T23:30:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z', '2026-03-29T01:45:00Z'),
      rules: { hourly: 3 },
      expected: {
        '2026-03-29T01:45:00Z': ['hourly 2026-03-29 03h'],
        '2026-03-29T00:30:00Z': ['hourly 2026-03-29 01h'],
        '2026-03-28T23:30:00Z': ['hourly 2026-03-29 00h'],
      },
    },
    {
      name: 'Zurich falls back: both 02:15s are one hourly bucket',
      zone: 'Europe/Zurich',
      backups: history('2026-10-24T23:30:00Z', '2026-10-25T00:15:00Z', '2026-10-25T01:15:00Z', '2026-10-25T01:45:00Z'),
      rules: { hourly: 2 },
      expected: {
        '2026-10-25T01:45:00Z': ['hourly 2026-10-25 02h'],
        '2026-10-24T23:30:00Z': ['hourly 2026-10-25 01h'],
      },
    },
    {
      name: 'New York falls back: 01:30 EDT and 01:30 EST are one hourly bucket',
      zone: 'America/New_York',
      backups: history('2026-11-01T04:30:00Z', '2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z', '2026-11-01T07:30:00Z'),
      rules: { hourly: 3 },
      expected: {
        '2026-11-01T07:30:00Z': ['hourly 2026-11-01 02h'],
        '2026-11-01T06:30:00Z': ['hourly 2026-11-01 01h'],
        '2026-11-01T04:30:00Z': ['hourly 2026-11-01 00h'],
      },
    },
    {
      name: 'New York springs forward: 01:59 EST and 03:00 EDT are a minute and two hours apart',
      zone: 'America/New_York',
      backups: history('2026-03-07T12:00:00Z', '2026-03-08T06:59:00Z', '2026-03-08T07:00:00Z'),
      rules: { hourly: 2, daily: 2 },
      expected: {
        '2026-03-08T07:00:00Z': ['hourly 2026-03-08 03h', 'daily 2026-03-08'],
        '2026-03-08T06:59:00Z': ['hourly 2026-03-08 01h'],
        '2026-03-07T12:00:00Z': ['daily 2026-03-07'],
      },
    },
    {
      name: 'the 23-hour day in Zurich is one daily bucket, from 00:00 CET to 23:59 CEST',
      zone: 'Europe/Zurich',
      backups: history('2026-03-28T22:59:00Z', '2026-03-28T23:00:00Z', '2026-03-29T21:59:00Z', '2026-03-29T22:00:00Z'),
      rules: { daily: 3 },
      expected: {
        '2026-03-29T22:00:00Z': ['daily 2026-03-30'],
        '2026-03-29T21:59:00Z': ['daily 2026-03-29'],
        '2026-03-28T22:59:00Z': ['daily 2026-03-28'],
      },
    },
    {
      name: 'Chatham falls back from 03:45 to 02:45: 03h comes round again and is still one bucket',
      zone: 'Pacific/Chatham',
      backups: history(
        '2025-04-05T12:00:00Z',
        '2025-04-05T13:30:00Z',
        '2025-04-05T13:50:00Z',
        '2025-04-05T14:05:00Z',
        '2025-04-05T14:20:00Z',
      ),
      rules: { hourly: 3 },
      expected: {
        '2025-04-05T14:20:00Z': ['hourly 2025-04-06 03h'],
        '2025-04-05T14:05:00Z': ['hourly 2025-04-06 02h'],
        '2025-04-05T12:00:00Z': ['hourly 2025-04-06 01h'],
      },
    },
  ])('$name', ({ zone, backups, rules, expected }) => {
    expect(kept(backups, rules, zone)).toEqual(expected);
  });
});

describe('applyRetention: within', () => {
  const backups = history(
    '2026-05-01T00:00:00Z',
    '2026-06-08T00:00:00Z',
    '2026-06-08T00:00:00.001Z',
    '2026-06-09T00:00:00Z',
    '2026-06-10T00:00:00Z',
  );

  it('keeps what was taken less than the span before the newest backup, not before now', () => {
    expect(kept(backups, { within: 2 * D })).toEqual({
      '2026-06-10T00:00:00Z': ['within 2d'],
      '2026-06-09T00:00:00Z': ['within 2d'],
      '2026-06-08T00:00:00.001Z': ['within 2d'],
    });
  });

  it('keeps the newest of each bucket inside the span, and the oldest if it is inside', () => {
    const twice = history(
      '2026-06-07T06:00:00Z',
      '2026-06-07T18:00:00Z',
      '2026-06-08T06:00:00Z',
      '2026-06-08T18:00:00Z',
      '2026-06-09T06:00:00Z',
      '2026-06-09T18:00:00Z',
    );
    expect(kept(twice, { withinDaily: 36 * H })).toEqual({
      '2026-06-09T18:00:00Z': ['daily within 1d12h 2026-06-09'],
      '2026-06-08T18:00:00Z': ['daily within 1d12h 2026-06-08'],
    });
    expect(Object.keys(kept(twice, { withinDaily: 4 * D }))).toEqual([
      '2026-06-09T18:00:00Z',
      '2026-06-08T18:00:00Z',
      '2026-06-07T18:00:00Z',
      '2026-06-07T06:00:00Z',
    ]);
    expect(kept(twice, { withinMonthly: 4 * D, withinYearly: 1 * H })).toEqual({
      '2026-06-09T18:00:00Z': ['monthly within 4d 2026-06', 'yearly within 1h 2026'],
      '2026-06-07T06:00:00Z': ['oldest monthly within 4d 2026-06'],
    });
  });
});

describe('applyRetention: what is always kept', () => {
  const backups = history('2026-06-01T00:00:00Z', '2026-06-05T00:00:00Z', '2026-06-10T00:00:00Z');

  it.each([{}, { daily: 0 }, { last: 0, within: 0 }])('keeps everything with no rules: %j', (rules) => {
    expect(kept(backups, rules)).toEqual({
      '2026-06-10T00:00:00Z': ['no rules'],
      '2026-06-05T00:00:00Z': ['no rules'],
      '2026-06-01T00:00:00Z': ['no rules'],
    });
  });

  it.each([{ daily: -2 }, { within: -H }, { last: Number.NaN }])(
    'keeps the newest backup when the rules keep nothing: %j',
    (rules) => {
      expect(kept(backups, rules)).toEqual({ '2026-06-10T00:00:00Z': ['newest'] });
    },
  );

  it('says "newest" only when no rule kept it', () => {
    expect(kept(backups, { last: 1 })).toEqual({ '2026-06-10T00:00:00Z': ['last'] });
  });

  it('has nothing to say about no backups', () => {
    expect(applyRetention([], { daily: 7 }, 'UTC')).toEqual([]);
    expect(applyRetention([], {}, 'UTC')).toEqual([]);
  });
});

describe('describeRules', () => {
  it.each([
    [{ last: 3, daily: 7, weekly: 4, monthly: 3, within: 30 * D }, 'last 3, daily 7, weekly 4, monthly 3, within 30d'],
    [{ hourly: 24, yearly: -1 }, 'hourly 24, yearly unlimited'],
    [{ withinHourly: 90 * M, withinWeekly: 14 * D, daily: 0 }, 'hourly within 1h30m, weekly within 14d'],
    [{ within: 36 * H + 1500 }, 'within 1d12h1s500ms'],
    [{}, 'no rules: keep everything'],
    [{ last: 0 }, 'no rules: keep everything'],
  ])('%j reads "%s"', (rules, text) => {
    expect(describeRules(rules)).toBe(text);
  });
});
