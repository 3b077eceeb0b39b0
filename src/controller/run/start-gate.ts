// Starts of runs are decided one at a time, against the caches plus the runs
// this operator has started but the caches do not show yet. So a backup, a
// restore or a download never starts beside a prune of its repository, and
// two backups never both take the last mover slot. One decision holds the
// gate for a bounded time: if it overruns (a request that hangs), the run is
// counted as starting, which is the safe side for every limit, and the next
// decision goes ahead.
import type { StartSet } from './run-kind.ts';

/** Longer than one API request may take (30 s by default), so only a hung decision overruns. */
export const defaultGateHoldMs = 45_000;

export class StartGate {
  /** UIDs of runs whose start was written but whose new phase the cache has not shown yet, by what they do. */
  readonly #starting: Record<StartSet, Set<string>> = {
    writes: new Set(),
    reads: new Set(),
    maintenance: new Set(),
  };
  /** What a starting run was admitted with (its repository, its node) until the caches show its status. */
  readonly #admissions = new Map<string, { repository?: string | undefined; node?: string | undefined }>();
  #lock: Promise<unknown> = Promise.resolve();
  readonly #holdMs: number;

  constructor(holdMs = defaultGateHoldMs) {
    this.#holdMs = holdMs;
  }

  starting(set: StartSet): ReadonlySet<string> {
    return this.#starting[set];
  }

  started(set: StartSet, uid: string): void {
    this.#starting[set].add(uid);
  }

  settled(set: StartSet, uid: string): void {
    this.#starting[set].delete(uid);
    this.#admissions.delete(uid);
  }

  /** Records where a starting run will write and run: limits count it from this moment. */
  admit(uid: string, admission: { repository?: string | undefined; node?: string | undefined }): void {
    this.#admissions.set(uid, admission);
  }

  admission(uid: string): { repository?: string | undefined; node?: string | undefined } | undefined {
    return this.#admissions.get(uid);
  }

  /**
   * Runs `decide` once every earlier decision has finished or overrun. When this one holds the gate
   * longer than its bound, `overrun` is called and the gate passes on; `decide` carries on alone.
   */
  serialize<T>(decide: () => Promise<T>, overrun: () => void = () => undefined): Promise<T> {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#lock;
    this.#lock = released;
    return previous.then(async () => {
      const timer = setTimeout(() => {
        overrun();
        release();
      }, this.#holdMs);
      try {
        return await decide();
      } finally {
        clearTimeout(timer);
        release();
      }
    });
  }
}
