// A client-side token bucket, as kubectl and client-go keep one: up to `burst`
// requests at once, then `qps` a second, so a busy operator cannot flood the
// API server whatever its controllers ask for.

export interface RateLimit {
  qps: number;
  burst: number;
}

export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  #tokens: number;
  #updated: number;
  /** Takers wait in order: one that asked first is served first. */
  #tail: Promise<void> = Promise.resolve();

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    if (!(limit.qps > 0) || !(limit.burst >= 1))
      throw new Error(`rate limit needs qps > 0 and burst >= 1 (got qps ${limit.qps}, burst ${limit.burst})`);
    this.#limit = limit;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#updated = now();
  }

  /** Resolves when a request may be sent. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#tail.then(() => this.#wait(signal));
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  /** How long the next taker would wait, in ms (0 when a token is free). */
  waitMs(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#limit.qps) * 1000);
  }

  async #wait(signal?: AbortSignal): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await pause(wait, signal);
    this.#tokens -= 1;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + ((now - this.#updated) / 1000) * this.#limit.qps);
    this.#updated = now;
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    const aborted = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
