// The one loop every kind of run goes through. Per run: one keyed entry in a
// work queue, re-read from the cache when it is taken. A deleted run has its
// temporaries removed before its finalizer is let go; a pending run is
// observed and started under the start gate, one decision at a time; every
// other run is observed, asked for its next step, and that step is carried
// out. The finalizer is added when a run starts and let go once it has
// finished and cleaned up, so the finished history carries none.
import {
  ignoreNotFound,
  objectKey,
  WorkQueue,
  type KubeClient,
  type KubeObject,
  type Requeue,
} from '../../kube/index.ts';
import type { Log } from '../operator.ts';
import type { RunKind, RunObject } from './run-kind.ts';
import { isCleanedUp, PhaseMovedOn } from './run-status.ts';
import type { StartGate } from './start-gate.ts';

/** Held by a run while it may have temporaries: deleting the run then waits for their clean-up. */
export const cleanupFinalizer = 'safehold.io/cleanup';
/** The finalizer of earlier versions on BackupDownloads (their staging object); let go like ours. */
const formerFinalizers = ['safehold.io/staging-object'];

export interface RunEngineDeps {
  client: KubeClient;
  gate: StartGate;
  log: Log;
  /** Resolves when nothing may be decided before (the caches are full, coverage has had its first pass). */
  ready: Promise<unknown>;
}

export class RunEngine<R extends RunObject, Seen, Step extends { kind: string }> {
  readonly #kind: RunKind<R, Seen, Step>;
  readonly #deps: RunEngineDeps;
  readonly #queue: WorkQueue;
  #ready = false;
  /** Keys of the runs that have not finished, kept from the informer's changes: waking them costs only them. */
  readonly #unfinished = new Set<string>();

  constructor(kind: RunKind<R, Seen, Step>, deps: RunEngineDeps) {
    this.#kind = kind;
    this.#deps = deps;
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      concurrency: kind.concurrency,
      onError: (key, error) => {
        // Not a failure: the run moved on while a step was decided; its change brings it back.
        if (error instanceof PhaseMovedOn) return;
        deps.log(`${kind.kind} reconcile failed`, {
          run: key,
          error: error instanceof Error ? error.message : String(error),
        });
      },
    });
    kind.informer.onChange((c) => {
      this.#queue.add(c.key);
      if (c.type !== 'deleted' && !kind.finished(c.object)) this.#unfinished.add(c.key);
      else this.#unfinished.delete(c.key);
      // A run that ends (or goes unfinished) frees its volume, a slot or its repository: the waiting
      // ones look again. Only then: a change to one of thousands of finished runs wakes nobody.
      const ended =
        c.type === 'updated'
          ? !kind.finished(c.old) && kind.finished(c.object)
          : c.type === 'deleted' && !kind.finished(c.object);
      if (ended) this.wakeWaiting();
    });
    for (const informer of kind.owned)
      informer.onChange((c) => {
        const key = kind.runOf(c.object);
        if (key !== undefined) this.#queue.add(key);
      });
    for (const wakeUp of kind.wakeUps)
      wakeUp.informer.onChange((c) => {
        if (wakeUp.when(c)) this.wakeWaiting();
      });
  }

  async start(): Promise<void> {
    await this.#deps.ready;
    this.#ready = true;
    // Every run is looked at again: one interrupted by a crash continues (or cleans up) from what the API shows.
    for (const run of this.#kind.informer.list()) this.#queue.add(objectKey(run));
  }

  stop(): void {
    this.#queue.stop();
  }

  /** Looks again at every run that has not finished. */
  wakeWaiting(): void {
    for (const key of this.#unfinished) this.#queue.add(key);
  }

  async #reconcile(key: string): Promise<Requeue | undefined> {
    if (!this.#ready) return undefined; // start() queues every run once ready
    const run = this.#kind.informer.get(key);
    if (run === undefined) return undefined;
    const uid = run.metadata.uid ?? '';
    const { gate } = this.#deps;
    if (run.metadata.deletionTimestamp !== undefined) return this.#finalize(run);
    const pending = (run.status?.phase ?? 'Pending') === 'Pending';
    if (!pending) gate.settled(this.#kind.starts, uid);
    const holds = this.#kind.holdsTemporaries?.(run) ?? !isCleanedUp(run);
    const done = this.#kind.finished(run) && !holds;
    if (hasFinalizer(run) && done) await this.#letGo(run);
    if (done && this.#kind.nothingAfterCleanUp === true) return undefined;
    if (!pending) return this.#step(run);
    // A start that overran the gate counts as starting until it is known whether it started.
    const attempt = { started: false, overran: false };
    try {
      return await gate.serialize(
        () => this.#step(run, attempt),
        () => {
          attempt.overran = true;
          gate.started(this.#kind.starts, uid);
          this.#deps.log(`${this.#kind.kind} start overran the start gate; later starts go ahead`, { run: key });
        },
      );
    } finally {
      if (attempt.overran && !attempt.started) gate.settled(this.#kind.starts, uid);
    }
  }

  async #step(run: R, attempt = { started: false, overran: false }): Promise<Requeue | undefined> {
    const kind = this.#kind;
    const seen = await kind.observe(run);
    const step = kind.next(seen);
    if (step.kind !== 'start') return kind.carryOut(run, seen, step);
    const uid = run.metadata.uid ?? '';
    // The finalizer first: a run deleted from here on has its temporaries removed.
    if (!(run.metadata.finalizers ?? []).includes(cleanupFinalizer)) await this.#hold(run);
    this.#deps.gate.started(kind.starts, uid);
    try {
      const requeue = await kind.carryOut(run, seen, step);
      // A start that asks to come back later did not start (a Secret is missing).
      if (requeue !== undefined) this.#deps.gate.settled(kind.starts, uid);
      else attempt.started = true;
      return requeue;
    } catch (error) {
      this.#deps.gate.settled(kind.starts, uid);
      throw error;
    }
  }

  /** A deleted run: its temporaries go, then the finalizer that kept the run until they did. */
  async #finalize(run: R): Promise<undefined> {
    this.#deps.gate.settled(this.#kind.starts, run.metadata.uid ?? '');
    if (!hasFinalizer(run)) return undefined;
    await this.#kind.cleanUp(run);
    await this.#letGo(run);
    this.#deps.log('cleaned up a deleted run', { kind: this.#kind.kind, run: objectKey(run) });
    return undefined;
  }

  async #hold(run: R): Promise<void> {
    await this.#setFinalizers(run, [...(run.metadata.finalizers ?? []), cleanupFinalizer]);
  }

  async #letGo(run: R): Promise<void> {
    const ours = [cleanupFinalizer, ...formerFinalizers];
    await this.#setFinalizers(
      run,
      (run.metadata.finalizers ?? []).filter((f) => !ours.includes(f)),
    );
  }

  /** The whole list, guarded by the resourceVersion it was read at: a conflict re-reads (the queue retries). */
  async #setFinalizers(run: R, finalizers: string[]): Promise<void> {
    await ignoreNotFound(() =>
      this.#deps.client.mergePatch<KubeObject>(
        this.#kind.resource,
        { namespace: run.metadata.namespace, name: run.metadata.name },
        { metadata: { finalizers, resourceVersion: run.metadata.resourceVersion } },
      ),
    );
  }
}

function hasFinalizer(run: RunObject): boolean {
  return (run.metadata.finalizers ?? []).some((f) => f === cleanupFinalizer || formerFinalizers.includes(f));
}
