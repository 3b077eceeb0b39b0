import { describe, expect, it } from 'vitest';
import { defaultRetryPolicy, retryAfterMs, retryDelay, type Outcome } from './request-retry.ts';

const now = new Date('2026-12-03T12:00:00Z');
const middle = () => 0.5;
const delay = (method: string, outcome: Outcome, attempt = 1) =>
  retryDelay(method, outcome, attempt, defaultRetryPolicy, now, middle);

describe('retryDelay', () => {
  it.each([
    ['GET', 429, undefined, true],
    ['POST', 429, undefined, true],
    ['PATCH', 429, undefined, true],
    ['GET', 500, undefined, true],
    ['GET', 503, undefined, true],
    ['PUT', 504, undefined, true],
    ['DELETE', 502, undefined, true],
    ['POST', 500, undefined, false],
    ['POST', 503, '1', true],
    ['GET', 501, undefined, false],
    ['GET', 404, undefined, false],
    ['PUT', 409, undefined, false],
    ['POST', 422, undefined, false],
    ['GET', 401, undefined, false],
  ])('%s answered %i (Retry-After %s): retried %s', (method, status, retryAfter, retried) => {
    expect(delay(method, { kind: 'answer', status, retryAfter }) !== undefined).toBe(retried);
  });

  it('retries a refused connection for every verb, a broken one only where repeating is safe', () => {
    expect(delay('POST', { kind: 'refused' })).toBeDefined();
    expect(delay('GET', { kind: 'broken' })).toBeDefined();
    expect(delay('PUT', { kind: 'broken' })).toBeDefined();
    expect(delay('POST', { kind: 'broken' })).toBeUndefined();
    expect(delay('PATCH', { kind: 'broken' })).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped, and stops after the last attempt', () => {
    const at = (attempt: number, random: number) =>
      retryDelay('GET', { kind: 'answer', status: 503 }, attempt, defaultRetryPolicy, now, () => random);
    // At the top of the jitter range the delay is the whole backoff; at the bottom, half of it.
    expect([1, 2, 3, 4].map((a) => at(a, 1))).toEqual([250, 500, 1000, 2000]);
    expect(at(1, 0)).toBe(125);
    const capped = retryDelay(
      'GET',
      { kind: 'answer', status: 503 },
      9,
      { ...defaultRetryPolicy, maxAttempts: 20 },
      now,
      () => 1,
    );
    expect(capped).toBe(defaultRetryPolicy.maxDelayMs);
    expect(at(defaultRetryPolicy.maxAttempts, 0.5)).toBeUndefined();
  });

  it('honours Retry-After, up to its cap', () => {
    const answer = (retryAfter: string): Outcome => ({ kind: 'answer', status: 429, retryAfter });
    const zero = () => 0;
    expect(retryDelay('GET', answer('3'), 1, defaultRetryPolicy, now, zero)).toBe(3000);
    expect(retryDelay('GET', answer('3600'), 1, defaultRetryPolicy, now, zero)).toBe(30_000);
    expect(retryDelay('GET', answer('Thu, 03 Dec 2026 12:00:05 GMT'), 1, defaultRetryPolicy, now, zero)).toBe(5000);
  });
});

describe('retryAfterMs', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['7', 7000],
    ['soon', undefined],
    ['Thu, 03 Dec 2026 11:59:00 GMT', 0],
  ])('%s -> %s', (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });
});
