import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, parseQuantity } from './quantity.ts';

describe('parseQuantity', () => {
  it.each([
    ['1Gi', 2 ** 30],
    ['10Mi', 10 * 2 ** 20],
    ['500M', 500e6],
    ['1.5G', 1.5e9],
    ['2e3', 2000],
    ['1024', 1024],
    ['1k', 1000],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseQuantity(text)).toEqual({ ok: true, bytes });
  });

  it.each(['', 'Gi', '1 Gi', '1GB', 'ten', '1Gi2'])('rejects %j with a message naming the value', (text) => {
    const result = parseQuantity(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(`"${text}"`);
  });

  it('reads back every binary size it formats to within rounding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (bytes) => {
        const [number, unit] = formatBytes(bytes).split(' ');
        const suffix = unit === 'B' ? '' : (unit as string).replace('B', '');
        const back = parseQuantity(`${number as string}${suffix}`);
        expect(back.ok).toBe(true);
        if (back.ok) expect(Math.abs(back.bytes - bytes)).toBeLessThanOrEqual(Math.max(1, bytes * 0.05));
      }),
    );
  });
});
