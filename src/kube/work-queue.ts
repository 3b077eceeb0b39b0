// A keyed, coalescing work queue: one entry per key however many times it is
// added; a key is never processed twice at once (an add while it runs marks it
// to run again after); failures retry with capped exponential backoff.
export interface WorkQueueOptions {
  concurrency?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, error: unknown) => void;
}

/** What a handler may ask for besides success: run this key again later. */
export type WorkHandler = (key: string) => Promise<Requeue | undefined> | Promise<void>;

export interface Requeue {
  requeueAfterMs: number;
}

/** The longest a queue takes keys before it lets the event loop run. */
const sliceMs = 20;

export class WorkQueue {
  readonly #handler: WorkHandler;
  readonly #options: Required<Omit<WorkQueueOptions, 'onError'>> & Pick<WorkQueueOptions, 'onError'>;
  /** FIFO of queued keys from #head on: taking one is O(1), as it must be with 140,000 runs queued at start. */
  #queue: string[] = [];
  #head = 0;
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  #stopped = false;
  #idleWaiters: (() => void)[] = [];
  /** When this turn of the event loop began taking keys (undefined: not yet); past sliceMs the queue yields. */
  #sliceStart: number | undefined;
  #yielding = false;

  constructor(handler: WorkHandler, options: WorkQueueOptions = {}) {
    this.#handler = handler;
    this.#options = { concurrency: 4, baseBackoffMs: 200, maxBackoffMs: 60_000, ...options };
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#pump();
  }

  /** Adds the key after a delay; of several delayed adds of one key, the earliest stands. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    const due = performance.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending !== undefined) {
      if (pending.due <= due) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, { timer, due });
  }

  get length(): number {
    return this.#queue.length - this.#head + this.#active.size;
  }

  /** Resolves when nothing is queued or running (scheduled retries aside). */
  idle(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#queue = [];
    this.#head = 0;
    this.#queued.clear();
  }

  #pump(): void {
    if (this.#yielding) return;
    // Handlers that finish without I/O chain in microtasks, which never let timers or sockets run:
    // without a break, 140,000 queued keys would hold the event loop (and the Lease renewal) for seconds.
    const now = performance.now();
    if (this.#sliceStart === undefined) {
      this.#sliceStart = now;
      setImmediate(() => (this.#sliceStart = undefined));
    } else if (now - this.#sliceStart > sliceMs && this.#head < this.#queue.length) {
      this.#yielding = true;
      setImmediate(() => {
        this.#yielding = false;
        this.#pump();
      });
      return;
    }
    while (!this.#stopped && this.#active.size < this.#options.concurrency && this.#head < this.#queue.length) {
      const key = this.#queue[this.#head++] as string;
      // Taken keys are dropped now and then, not at every take (Array.shift moves them all).
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#queued.delete(key);
      this.#active.add(key);
      void this.#process(key);
    }
    if (this.length === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async #process(key: string): Promise<void> {
    try {
      const result = await this.#handler(key);
      this.#failures.delete(key);
      if (result !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      this.#options.onError?.(key, error);
      const delay = Math.min(this.#options.baseBackoffMs * 2 ** (failures - 1), this.#options.maxBackoffMs);
      this.addAfter(key, delay);
    } finally {
      this.#active.delete(key);
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
    }
  }
}
