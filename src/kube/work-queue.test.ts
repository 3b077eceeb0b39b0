import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from './work-queue.ts';

describe('WorkQueue delayed adds', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const recording = () => {
    const seen: { key: string; at: number }[] = [];
    const queue = new WorkQueue((key) => {
      seen.push({ key, at: performance.now() });
      return Promise.resolve();
    });
    return { seen, queue };
  };

  it('keeps the earliest of several delayed adds, whichever came first', async () => {
    const { seen, queue } = recording();
    const start = performance.now();
    queue.addAfter('a', 60_000);
    queue.addAfter('a', 1_000);
    queue.addAfter('a', 30_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen.map((s) => [s.key, s.at - start])).toEqual([['a', 1_000]]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(seen).toHaveLength(1);
  });

  it('a later add with a later time does not postpone an earlier one', async () => {
    const { seen, queue } = recording();
    queue.addAfter('b', 500);
    queue.addAfter('b', 5_000);
    await vi.advanceTimersByTimeAsync(500);
    expect(seen.map((s) => s.key)).toEqual(['b']);
  });

  it('stop cancels every delayed add', async () => {
    const { seen, queue } = recording();
    queue.addAfter('c', 100);
    queue.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toEqual([]);
  });
});
