import { describe, expect, it } from 'vitest';
import { parseRbdDiff } from './rbd-diff.ts';

describe('parseRbdDiff', () => {
  it('reads the extents of rbd diff --format json, exists as a string', () => {
    const text = '[{"offset":0,"length":4194304,"exists":"true"},{"offset":8388608,"length":65536,"exists":"false"}]\n';
    expect(parseRbdDiff(text)).toEqual({
      ok: true,
      extents: [
        { offset: 0, length: 4194304, kind: 'data' },
        { offset: 8388608, length: 65536, kind: 'zero' },
      ],
    });
    expect(parseRbdDiff('[]')).toEqual({ ok: true, extents: [] });
  });

  it.each([
    ['not json', /not JSON/],
    ['{"offset":0}', /the output: .*array/i],
    ['[{"offset":0,"length":1,"exists":true}]', /extent 0, exists: /],
    ['[{"offset":0,"length":1,"exists":"true"},{"offset":-1,"length":1,"exists":"true"}]', /extent 1, offset: /],
    ['[{"offset":0,"exists":"false"}]', /extent 0, length: /],
    ['[{"offset":1.5,"length":1,"exists":"false"}]', /extent 0, offset: /],
    ['[{"offset":9007199254740990,"length":9,"exists":"true"}]', /extent 0 ends past 2\^53/],
  ])('says what is wrong with %s', (text, message) => {
    const result = parseRbdDiff(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});
