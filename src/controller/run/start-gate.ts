// Starts of runs are decided one at a time, against the caches plus the runs
// this operator has started but the caches do not show yet. So a backup, a
// restore or a download never starts beside a prune of its repository, and
// two backups never both take the last mover slot.
import type { StartSet } from './run-kind.ts';

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

  serialize<T>(decide: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(decide);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}
