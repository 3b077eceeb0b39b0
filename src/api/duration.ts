// Durations as users write them in specs: "90s", "30m", "4h", "1h30m", "7d", "2w".
import { z } from 'zod';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
export const durationPattern = '^([0-9]+(ms|s|m|h|d|w))+$';

export const duration = z.string().regex(new RegExp(durationPattern), 'a duration such as 30m, 4h, 1h30m, 7d');

/** Milliseconds of a duration string that matched durationPattern. */
export function durationMs(text: string): number {
  let total = 0;
  for (const match of text.matchAll(/([0-9]+)(ms|s|m|h|d|w)/g))
    total += Number(match[1]) * (unitMs[match[2] as string] ?? 0);
  return total;
}
