// Grandfather-father-son retention: which of a volume's backups a policy keeps,
// and why. The rules and their walk are restic forget's (ApplyPolicy in
// restic's snapshot_policy.go), so a policy means here what it means to
// restic users; buckets are read off the wall clock of the policy's time zone.
// Safehold adds one rule restic lacks: a volume's newest backup is never dropped.

export interface RetentionRules {
  /** Counts, as restic's --keep-*: 0 or absent is not given, -1 unlimited; other negatives keep nothing (as restic). */
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /**
   * Milliseconds: keep every backup taken less than this long before the newest backup (--keep-within).
   * restic skips backups dated in the future when it picks the newest; this has no clock to do so.
   */
  within?: number;
  /** Milliseconds: the newest backup of each bucket less than this long before the newest backup. */
  withinHourly?: number;
  withinDaily?: number;
  withinWeekly?: number;
  withinMonthly?: number;
  withinYearly?: number;
}

export interface Timestamped {
  id: string;
  time: Date;
}

/** `reasons` name the rules that kept a backup, e.g. "daily 2026-03-29"; a dropped backup has none. */
export interface RetentionVerdict<T> {
  backup: T;
  keep: boolean;
  reasons: string[];
}

type Bucket = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
type CountRule = 'last' | Bucket;

const buckets: readonly Bucket[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
const countRules: readonly CountRule[] = ['last', ...buckets];
const withinRules = {
  hourly: 'withinHourly',
  daily: 'withinDaily',
  weekly: 'withinWeekly',
  monthly: 'withinMonthly',
  yearly: 'withinYearly',
} as const satisfies Record<Bucket, keyof RetentionRules>;

/**
 * Every backup with its verdict, newest first (equal times: lower id first).
 * As restic: walking newest to oldest, a count rule keeps the first backup of
 * each bucket while it has count left, and the oldest backup too if it still
 * has count left then. restic compares with the last bucket kept instead; the
 * two differ only where a wall clock goes back into an earlier hour (Chatham
 * falls back from 03:45 to 02:45), and Safehold keeps one backup per bucket.
 * `timeZone` must be a valid IANA zone (checkSchedule refuses others).
 */
export function applyRetention<T extends Timestamped>(
  backups: readonly T[],
  rules: RetentionRules,
  timeZone: string,
): RetentionVerdict<T>[] {
  const sorted = [...backups].sort(newestFirst);
  if (isEmpty(rules)) return sorted.map((backup) => ({ backup, keep: true, reasons: ['no rules'] }));
  const newest = sorted[0]?.time.getTime() ?? 0;
  const counters = countRules.map((rule) => ({ rule, left: rules[rule] ?? 0, seen: new Set<string>() }));
  const windows = buckets.map((bucket) => ({ bucket, span: rules[withinRules[bucket]] ?? 0, seen: new Set<string>() }));

  return sorted.map((backup, index) => {
    const oldest = index === sorted.length - 1;
    const keys = bucketKeys(backup.time, timeZone);
    const reasons: string[] = [];
    const within = rules.within ?? 0;
    if (backup.time.getTime() > newest - within) reasons.push(`within ${formatSpan(within)}`);
    for (const counter of counters) {
      if (!(counter.left > 0 || counter.left === -1)) continue;
      const key = counter.rule === 'last' ? String(index) : keys[counter.rule];
      if (counter.seen.has(key) && !oldest) continue;
      const label = counter.rule === 'last' ? 'last' : `${counter.rule} ${key}`;
      reasons.push(counter.seen.has(key) ? `oldest ${label}` : label);
      counter.seen.add(key);
      if (counter.left > 0) counter.left--;
    }
    for (const window of windows) {
      if (!(backup.time.getTime() > newest - window.span)) continue;
      const key = keys[window.bucket];
      if (window.seen.has(key) && !oldest) continue;
      const label = `${window.bucket} within ${formatSpan(window.span)} ${key}`;
      reasons.push(window.seen.has(key) ? `oldest ${label}` : label);
      window.seen.add(key);
    }
    if (index === 0 && reasons.length === 0) reasons.push('newest');
    return { backup, keep: reasons.length > 0, reasons };
  });
}

/** "last 3, daily 7, weekly 4, monthly 3, within 30d", for CLI output. */
export function describeRules(rules: RetentionRules): string {
  if (isEmpty(rules)) return 'no rules: keep everything';
  const parts: string[] = [];
  for (const rule of countRules) {
    const count = rules[rule] ?? 0;
    if (count !== 0) parts.push(`${rule} ${count === -1 ? 'unlimited' : count}`);
  }
  for (const bucket of buckets) {
    const span = rules[withinRules[bucket]] ?? 0;
    if (span !== 0) parts.push(`${bucket} within ${formatSpan(span)}`);
  }
  if ((rules.within ?? 0) !== 0) parts.push(`within ${formatSpan(rules.within ?? 0)}`);
  return parts.join(', ');
}

/** As restic's ExpirePolicy.Empty: nothing given (0 is "not given"), so nothing may be forgotten. */
function isEmpty(rules: RetentionRules): boolean {
  const given = [...countRules, ...Object.values(withinRules), 'within' as const].map((rule) => rules[rule] ?? 0);
  return given.every((value) => value === 0);
}

function newestFirst(a: Timestamped, b: Timestamped): number {
  return b.time.getTime() - a.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The bucket of each rule, from the wall clock in `timeZone`: a repeated fall-back hour is one bucket. */
function bucketKeys(time: Date, timeZone: string): Record<Bucket, string> {
  const { year, month, day, hour } = wallClock(time, timeZone);
  const iso = isoWeek(year, month, day);
  const yyyy = String(year).padStart(4, '0');
  const ymd = `${yyyy}-${pad(month)}-${pad(day)}`;
  return {
    hourly: `${ymd} ${pad(hour)}h`,
    daily: ymd,
    weekly: `${String(iso.year).padStart(4, '0')}-W${pad(iso.week)}`,
    monthly: `${yyyy}-${pad(month)}`,
    yearly: yyyy,
  };
}

// Formatters are costly to build and never change for a zone: a cache, not state.
const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(time: Date, timeZone: string): { year: number; month: number; day: number; hour: number } {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    const options: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric' };
    format = new Intl.DateTimeFormat('en-US', { ...options, timeZone, hourCycle: 'h23' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(time).map((part) => [part.type, Number(part.value)]));
  return { year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0, hour: parts.hour ?? 0 };
}

/** ISO 8601 week of a calendar date: the week (Monday to Sunday) belongs to the year of its Thursday. */
function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const mondayBased = (date.getUTCDay() + 6) % 7;
  const thursday = new Date(date.getTime() + (3 - mondayBased) * dayMs);
  const weekYear = thursday.getUTCFullYear();
  const january1 = new Date(0);
  january1.setUTCFullYear(weekYear, 0, 1);
  return { year: weekYear, week: Math.floor((thursday.getTime() - january1.getTime()) / dayMs / 7) + 1 };
}

const dayMs = 86_400_000;
const spanUnits: readonly [string, number][] = [
  ['d', dayMs],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** Exact, in the spec's duration format: 30d, 1d12h, 1h30m (durationMs reads it back). */
function formatSpan(ms: number): string {
  if (ms < 0) return `-${formatSpan(-ms)}`;
  let rest = ms;
  let text = '';
  for (const [unit, size] of spanUnits) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text === '' ? '0s' : text;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
