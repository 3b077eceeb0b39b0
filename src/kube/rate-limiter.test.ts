import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from './rate-limiter.ts';

describe('RateLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a burst through at once, then qps a second, in order', async () => {
    const limiter = new RateLimiter({ qps: 10, burst: 3 }, () => performance.now());
    const start = performance.now();
    const served: { i: number; at: number }[] = [];
    const takes = Array.from({ length: 8 }, (_, i) =>
      limiter.take().then(() => served.push({ i, at: performance.now() - start })),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(served.map((s) => s.i)).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(takes);
    expect(served.map((s) => s.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Five more after the burst, one each 100 ms.
    expect(served.slice(3).map((s) => Math.round(s.at / 100))).toEqual([1, 2, 3, 4, 5]);
  });

  it('refills up to the burst while idle', async () => {
    const limiter = new RateLimiter({ qps: 2, burst: 2 }, () => performance.now());
    await limiter.take();
    await limiter.take();
    expect(limiter.waitMs()).toBe(500);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(limiter.waitMs()).toBe(0);
    await limiter.take();
    await limiter.take();
    expect(limiter.waitMs()).toBeGreaterThan(0);
  });

  it('refuses a limit that could never send', () => {
    expect(() => new RateLimiter({ qps: 0, burst: 1 })).toThrow(/qps > 0/);
    expect(() => new RateLimiter({ qps: 1, burst: 0 })).toThrow(/burst >= 1/);
  });
});
