// A cron expression's shape, checkable by the API server before Safehold ever
// sees it: five fields (minute hour day-of-month month day-of-week) of
// numbers, ranges, steps and lists within each field's bounds, names for
// months and weekdays, or one of the @-macros. The operator parses it fully.
import { z } from 'zod';

const num = (pattern: string) => `(?:${pattern})`;
const field = (value: string) => {
  const range = `(?:${value}(?:-${value})?|\\*)`;
  const stepped = `${range}(?:/[0-9]{1,2})?`;
  return `${stepped}(?:,${stepped})*`;
};
const minute = num('[0-5]?[0-9]');
const hour = num('[01]?[0-9]|2[0-3]');
const dayOfMonth = num('0?[1-9]|[12][0-9]|3[01]');
const month = num(
  '0?[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec',
);
const dayOfWeek = num('[0-7]|SUN|MON|TUE|WED|THU|FRI|SAT|sun|mon|tue|wed|thu|fri|sat');
const macros = '@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)';

export const cronPattern = `^(?:${macros}|${[minute, hour, dayOfMonth, month, dayOfWeek].map(field).join(' +')})$`;
export const cronMessage =
  'a cron expression of five fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *", or @daily, @weekly, @monthly, @hourly, @yearly';

/** IANA zone names ("Europe/Zurich", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+3"). */
export const timeZonePattern = '^(?:UTC|[A-Za-z]+(?:/[A-Za-z0-9_+-]+)+|[A-Z]{3,5})$';

// A pattern as a CEL rule rather than an OpenAPI `pattern`, so the API
// server's message says what a good value looks like instead of quoting the
// regular expression.
export const matching = (pattern: string, message: string, maxLength: number) =>
  z
    .string()
    .max(maxLength)
    .refine((value) => new RegExp(pattern).test(value), message)
    .meta({
      'x-kubernetes-validations': [{ rule: `self.matches(${JSON.stringify(pattern)})`, message: `must be ${message}` }],
    });

export const cronField = () => matching(cronPattern, cronMessage, 128);
export const timeZoneField = () => matching(timeZonePattern, 'an IANA time zone such as UTC or Europe/Zurich', 64);
