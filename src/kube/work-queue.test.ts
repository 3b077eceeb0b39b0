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

describe('WorkQueue order', () => {
  it('takes many queued keys first in, first out, each once, also while keys are added as others run', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue(
      (key) => {
        seen.push(key);
        // A key that runs adds a later one, as a run's change wakes another: it goes to the back.
        if (key === 'k-1500') queue.add('late');
        return Promise.resolve();
      },
      { concurrency: 3 },
    );
    const keys = Array.from({ length: 5000 }, (_, i) => `k-${i}`);
    for (const key of keys) queue.add(key);
    for (const key of keys.slice(100, 200)) queue.add(key); // still queued: no second entry
    await queue.idle();
    expect(seen).toEqual([...keys, 'late']);
    expect(queue.length).toBe(0);
  });
});

describe('WorkQueue and the event loop', () => {
  it('lets timers run while it works through keys whose handlers never wait on I/O', async () => {
    let done = 0;
    const queue = new WorkQueue(
      () => {
        // Each key costs a millisecond of work and resolves at once: only microtasks, no I/O.
        const until = performance.now() + 1;
        while (performance.now() < until);
        done++;
        return Promise.resolve();
      },
      { concurrency: 4 },
    );
    const keys = 300;
    const timerSaw = new Promise<number>((resolve) => setTimeout(() => resolve(done), 0));
    for (let i = 0; i < keys; i++) queue.add(`k-${i}`);
    // A Lease renewal's timer, due at once, runs long before the 300 ms of work is through.
    expect(await timerSaw).toBeLessThan(keys / 2);
    await queue.idle();
    expect(done).toBe(keys);
  });
});
