// When a request to the API server is worth sending again, and after how long.
// 429 (the server sheds load) is retried for every verb: the server did not
// act on it. A 5xx is retried for verbs that are safe to repeat; a create only
// when the server names a Retry-After, which it sends when it refused the
// request before acting on it. A refused connection never reached the server.

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server's Retry-After is honoured up to this. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};

/** One attempt, sent once and not retried. */
export const noRetry: RetryPolicy = { ...defaultRetryPolicy, maxAttempts: 1 };

export type Outcome =
  { kind: 'answer'; status: number; retryAfter?: string | undefined } | { kind: 'refused' } | { kind: 'broken' };

const repeatable = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH']);

/**
 * How long to wait before attempt `attempt + 1`, or undefined when the outcome
 * of attempt `attempt` stands. `random` is in [0, 1): the jitter that keeps
 * many clients from retrying in step.
 */
export function retryDelay(
  method: string,
  outcome: Outcome,
  attempt: number,
  policy: RetryPolicy,
  now: Date,
  random: () => number,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const backoff = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  const jittered = Math.round(backoff * (0.5 + random() / 2));
  switch (outcome.kind) {
    case 'refused':
      return jittered;
    case 'broken':
      return repeatable.has(method) && method !== 'PATCH' ? jittered : undefined;
    case 'answer': {
      const after = retryAfterMs(outcome.retryAfter, now);
      const retryable =
        outcome.status === 429 ||
        (outcome.status >= 500 && outcome.status !== 501 && (repeatable.has(method) || after !== undefined));
      if (!retryable) return undefined;
      if (after === undefined) return jittered;
      return Math.min(after, policy.maxRetryAfterMs) + Math.round(random() * policy.baseDelayMs);
    }
  }
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: Date): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
