import { describe, expect, it } from 'vitest';
import { planForget } from './forget-plan.ts';

const a = 'e7b0031c13fe81d77cf2d43e1444d071771c665744ced9c1faf071a16a27a6ef';
const b = 'f7d250a99a42d19c70fdd9ab87ea47019a094469090229c537e065998d662972';
const c = 'f7d250a9ffffffffffffffffffffffffffffffffffffffffffffffffffffffff';

describe('planForget', () => {
  it('matches prefixes and full ids, and counts what is gone', () => {
    expect(planForget(['e7b0031c', b, '0123abcd'], [a, b])).toEqual({ ok: true, present: [a, b], gone: ['0123abcd'] });
  });

  it('names each snapshot once however often the task names it', () => {
    expect(planForget(['e7b0031c', a, a, 'e7b0031c13fe'], [a, b])).toEqual({ ok: true, present: [a], gone: [] });
  });

  it('forgets nothing when a prefix fits two snapshots', () => {
    expect(planForget(['e7b0031c', 'f7d250a9'], [a, b, c])).toEqual({
      ok: false,
      ambiguous: [{ name: 'f7d250a9', matches: 2 }],
    });
  });
});
