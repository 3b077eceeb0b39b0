import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StartGate } from './start-gate.ts';

describe('StartGate', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('decides one start at a time, in order', async () => {
    const gate = new StartGate(1_000);
    const order: string[] = [];
    const slow = gate.serialize(async () => {
      order.push('a starts');
      await new Promise((resolve) => setTimeout(resolve, 100));
      order.push('a ends');
    });
    const next = gate.serialize(() => {
      order.push('b');
      return Promise.resolve();
    });
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all([slow, next]);
    expect(order).toEqual(['a starts', 'a ends', 'b']);
  });

  it('a decision that fails passes the gate on', async () => {
    const gate = new StartGate(1_000);
    const failed = gate.serialize(() => Promise.reject(new Error('conflict')));
    await expect(failed).rejects.toThrow('conflict');
    await expect(gate.serialize(() => Promise.resolve('next'))).resolves.toBe('next');
  });

  it('one hung decision never stalls every start: past its bound it is counted and the next goes ahead', async () => {
    const gate = new StartGate(1_000);
    const overruns: string[] = [];
    void gate.serialize(
      () => new Promise<never>(() => undefined),
      () => overruns.push('hung'),
    );
    let decided = false;
    const next = gate.serialize(() => {
      decided = true;
      return Promise.resolve();
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(decided).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await next;
    expect(decided).toBe(true);
    expect(overruns).toEqual(['hung']);
  });
});
