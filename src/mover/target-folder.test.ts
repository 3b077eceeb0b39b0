import { describe, expect, it } from 'vitest';
import { epochSeconds } from './target-folder.ts';

describe('epochSeconds', () => {
  it('keeps the fraction restic prints, beyond milliseconds', () => {
    // A double holds seconds to about a quarter of a microsecond.
    expect(epochSeconds('2024-01-02T03:04:05.123456789Z')).toBeCloseTo(1704164645.123457, 6);
    expect(epochSeconds('2024-01-02T03:04:05Z')).toBe(1704164645);
    expect(epochSeconds('2024-01-02T04:04:05.5+01:00')).toBe(1704164645.5);
    expect(epochSeconds('yesterday')).toBeUndefined();
  });
});
