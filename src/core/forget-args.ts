// A policy's retention as RetentionRules: from the keep* fields, or from raw
// restic forget arguments (seed 000's forgetArgs), which replace them. Safehold
// applies the rules itself, so only the flags that say what to keep are taken;
// anything else is refused with the field and argument named, never ignored in
// silence, except flags that change nothing here.
import { durationMs, durationPattern } from '../api/index.ts';
import type { RetentionRules } from './retention.ts';

export interface RetentionSpec {
  keepLast?: number | undefined;
  keepHourly?: number | undefined;
  keepDaily?: number | undefined;
  keepWeekly?: number | undefined;
  keepMonthly?: number | undefined;
  keepYearly?: number | undefined;
  /** Safehold's duration format: 30d, 1h30m, 2w (m is minutes). */
  keepWithin?: string | undefined;
  /** restic forget arguments, used instead of the keep* fields when present. */
  forgetArgs?: readonly string[] | undefined;
}

export type RulesResult = { rules: RetentionRules } | { error: string };

type CountRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
type SpanRule = 'within' | 'withinHourly' | 'withinDaily' | 'withinWeekly' | 'withinMonthly' | 'withinYearly';

type CountField = 'keepLast' | 'keepHourly' | 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'keepYearly';

const fields: readonly [CountField, CountRule][] = [
  ['keepLast', 'last'],
  ['keepHourly', 'hourly'],
  ['keepDaily', 'daily'],
  ['keepWeekly', 'weekly'],
  ['keepMonthly', 'monthly'],
  ['keepYearly', 'yearly'],
];

export function rulesFromPolicy(retention: RetentionSpec): RulesResult {
  if (retention.forgetArgs !== undefined) return rulesFromForgetArgs(retention.forgetArgs);
  const rules: RetentionRules = {};
  for (const [field, rule] of fields) {
    const value = retention[field];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < -1)
      return { error: `spec.retention.${field}: needs a whole number (or -1 for unlimited), got ${value}` };
    rules[rule] = value;
  }
  if (retention.keepWithin !== undefined) {
    if (!new RegExp(durationPattern).test(retention.keepWithin))
      return { error: `spec.retention.keepWithin: "${retention.keepWithin}" is not a duration such as 30d, 1h30m, 2w` };
    rules.within = durationMs(retention.keepWithin);
  }
  return { rules };
}

type Flag =
  | { kind: 'count'; rule: CountRule }
  | { kind: 'span'; rule: SpanRule }
  | { kind: 'ignored'; takesValue: boolean }
  | { kind: 'refused'; why: string };

const count = (rule: CountRule): Flag => ({ kind: 'count', rule });
const span = (rule: SpanRule): Flag => ({ kind: 'span', rule });
const dryRun: Flag = { kind: 'refused', why: 'it would make forget change nothing, so no backup would ever expire' };
const flags: Record<string, Flag> = {
  '--keep-last': count('last'),
  '-l': count('last'),
  '--keep-hourly': count('hourly'),
  '-H': count('hourly'),
  '--keep-daily': count('daily'),
  '-d': count('daily'),
  '--keep-weekly': count('weekly'),
  '-w': count('weekly'),
  '--keep-monthly': count('monthly'),
  '-m': count('monthly'),
  '--keep-yearly': count('yearly'),
  '-y': count('yearly'),
  '--keep-within': span('within'),
  '--keep-within-hourly': span('withinHourly'),
  '--keep-within-daily': span('withinDaily'),
  '--keep-within-weekly': span('withinWeekly'),
  '--keep-within-monthly': span('withinMonthly'),
  '--keep-within-yearly': span('withinYearly'),
  // Pruning runs on its own schedule, and Safehold always groups by volume.
  '--prune': { kind: 'ignored', takesValue: false },
  '--group-by': { kind: 'ignored', takesValue: true },
  '-g': { kind: 'ignored', takesValue: true },
  '--dry-run': dryRun,
  '-n': dryRun,
};
const quiet = /^(-q|--quiet|-v+|--verbose|--verbose=\d+)$/;
const supported =
  'use --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly (or -l, -H, -d, -w, -m, -y), --keep-within or --keep-within-hourly/-daily/-weekly/-monthly/-yearly';

/** restic's flags, as its flag parser reads them: "--flag value", "--flag=value", "-d 7", "-d7", "-d=7". */
function rulesFromForgetArgs(args: readonly string[]): RulesResult {
  const rules: RetentionRules = {};
  const givenAt = new Map<string, number>();
  for (let i = 0; i < args.length; i++) {
    const index = i;
    const arg = args[index] as string;
    const at = `spec.retention.forgetArgs[${index}]`;
    if (quiet.test(arg)) continue;
    const split = splitFlag(arg);
    if (split === undefined)
      return { error: `${at}: "${arg}" is not a flag (Safehold picks the snapshots to forget); ${supported}` };
    const { name, inline } = split;
    const flag = flags[name];
    if (flag === undefined)
      return { error: `${at}: "${arg.startsWith('--') ? name : arg}" is not supported; ${supported}` };
    if (flag.kind === 'refused') return { error: `${at}: "${name}" is not supported: ${flag.why}` };
    if (flag.kind === 'ignored' && !flag.takesValue) {
      if (inline !== undefined) return { error: `${at}: "${name}" takes no value, got "${inline}"` };
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = args[i + 1];
      if (value === undefined) return { error: `${at}: "${name}" needs a value` };
      i++;
    }
    if (flag.kind === 'ignored') continue;
    const earlier = givenAt.get(flag.rule);
    if (earlier !== undefined)
      return { error: `${at}: "${name}" repeats a rule already given by forgetArgs[${earlier}]` };
    givenAt.set(flag.rule, index);
    if (flag.kind === 'count') {
      if (!/^(\d+|-1)$/.test(value) || !Number.isSafeInteger(Number(value)))
        return { error: `${at}: "${name}" needs a whole number (or -1 for unlimited), got "${value}"` };
      rules[flag.rule] = Number(value);
    } else {
      const ms = resticDurationMs(value);
      if (ms === undefined)
        return {
          error: `${at}: "${name}" needs a restic duration such as 1y5m7d2h (y years, m months, d days, h hours), got "${value}"`,
        };
      rules[flag.rule] = ms;
    }
  }
  return { rules };
}

function splitFlag(arg: string): { name: string; inline: string | undefined } | undefined {
  if (arg.startsWith('--') && arg.length > 2) {
    const equals = arg.indexOf('=');
    return equals === -1
      ? { name: arg, inline: undefined }
      : { name: arg.slice(0, equals), inline: arg.slice(equals + 1) };
  }
  if (!/^-[A-Za-z]/.test(arg)) return undefined;
  const rest = arg.slice(2);
  return { name: arg.slice(0, 2), inline: rest === '' ? undefined : rest.replace(/^=/, '') };
}

const dayMs = 86_400_000;
// restic counts years and months on the calendar back from the newest backup;
// Safehold's rules are plain milliseconds, so a year is 365 days and a month 30.
const resticUnits: Record<string, number> = { y: 365 * dayMs, m: 30 * dayMs, d: dayMs, h: 3_600_000 };

/** restic's duration ("1y5m7d2h", each unit at most once, any order), or undefined. */
function resticDurationMs(text: string): number | undefined {
  if (!/^(\d+[ymdh])+$/.test(text)) return undefined;
  const seen = new Set<string>();
  let total = 0;
  for (const [, digits, unit] of text.matchAll(/(\d+)([ymdh])/g)) {
    if (unit === undefined || seen.has(unit)) return undefined;
    seen.add(unit);
    total += Number(digits) * (resticUnits[unit] ?? 0);
  }
  return Number.isSafeInteger(total) ? total : undefined;
}
