// The loop of a scheduler: one pass at a time over what it schedules, again
// at once when something changed during a pass, and otherwise at the time the
// pass says the next slot comes (at most a minute on). The dump and drill
// schedulers share it. A pass that throws is reported and tried again within
// a minute: the loop never stops on an error.
export class SchedulerPass {
  readonly #pass: () => Promise<number>;
  readonly #nowMs: () => number;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;
  #stopped = false;

  /** `pass` returns when it wants to run next (Unix ms); it runs at least once a minute. */
  constructor(pass: () => Promise<number>, nowMs: () => number, onError: (error: unknown) => void) {
    this.#pass = pass;
    this.#nowMs = nowMs;
    this.#onError = onError;
  }

  /** A pass soon: now, or right after the one running. */
  soon(): void {
    setImmediate(() => void this.#tick());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Read through a call: stop() may come while a pass awaits. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  async #tick(): Promise<void> {
    if (this.#isStopped()) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    let wakeAt = this.#nowMs() + maxSleepMs;
    try {
      wakeAt = Math.min(wakeAt, await this.#pass());
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#running = false;
      if (!this.#isStopped()) {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => void this.#tick(), Math.max(1000, wakeAt - this.#nowMs()));
        this.#timer.unref();
        if (this.#again) {
          this.#again = false;
          this.soon();
        }
      }
    }
  }
}

const maxSleepMs = 60_000;
