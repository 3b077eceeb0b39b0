// The contract one kind of run (backup, restore, download, maintenance, ...)
// fulfils to be driven by the run engine. The kind says what it watches,
// observes facts, lets core decide the next step (pure), carries out that one
// step, and knows its temporaries; the engine owns the loop, the start gate,
// the finalizer that cleans up a deleted run, and the sweep.
import { runLabels } from '../../api/index.ts';
import type { RunKindName } from '../../core/index.ts';
import type { Change, Informer, KubeObject, Requeue, ResourceKind } from '../../kube/index.ts';

/** What every run object has: a namespaced name, a uid, and a status with a phase. */
export interface RunObject extends KubeObject {
  metadata: {
    name: string;
    namespace: string;
    uid?: string | undefined;
    resourceVersion?: string | undefined;
    creationTimestamp?: string | undefined;
    deletionTimestamp?: string | undefined;
    finalizers?: string[] | undefined;
    labels?: Record<string, string> | undefined;
    annotations?: Record<string, string> | undefined;
  };
  status?:
    | {
        phase?: string | undefined;
        reason?: string | undefined;
        message?: string | undefined;
        startTime?: string | undefined;
        conditions?: { type: string; status: string }[] | undefined;
      }
    | undefined;
}

/**
 * Which runs a starting run must be seen by before the caches show it: backups write to a
 * repository, restores and downloads read one, maintenance changes one.
 */
export type StartSet = 'writes' | 'reads' | 'maintenance';

/** Any informer whose changes a kind listens to (a method, so an informer of any object type fits). */
export interface Watched {
  onChange(handler: (change: Change<KubeObject>) => void): unknown;
}

/** A change elsewhere after which this kind's unfinished runs are looked at again (a slot or a lock came free). */
export interface WakeUp {
  informer: Watched;
  when: (change: Change<KubeObject>) => boolean;
}

export interface RunKind<R extends RunObject, Seen, Step extends { kind: string }> {
  kind: RunKindName;
  resource: ResourceKind;
  informer: Informer<R>;
  /** Runs looked at in parallel. */
  concurrency: number;
  starts: StartSet;
  /** Informers of the run's own objects: a change to one brings back the run it names (runOf). */
  owned: Watched[];
  runOf: (object: KubeObject) => string | undefined;
  wakeUps: WakeUp[];
  /** The run has ended: it only cleans up (and, for some kinds, expires) from here. */
  finished: (run: R) => boolean;
  /**
   * A finished run still has temporaries: the engine lets go of its finalizer only once they are gone.
   * By default, until its clean-up has recorded the CleanedUp condition.
   */
  holdsTemporaries?: (run: R) => boolean;
  /**
   * Whether a finished run that holds no temporaries has nothing left to do: it is then not observed
   * again (a start that requeues 140,000 finished backups costs a lookup each). Absent: always observed.
   */
  nothingAfterCleanUp?: boolean;
  /** Facts only: what exists and what it says. May read the API where the caches cannot tell. */
  observe: (run: R) => Seen | Promise<Seen>;
  /** The decision, made in core from the facts. */
  next: (seen: Seen) => Step;
  /** Carries out one step; idempotent. */
  carryOut: (run: R, seen: Seen, step: Step) => Promise<Requeue | undefined>;
  /** Deletes every temporary of the run, whatever its phase; idempotent. */
  cleanUp: (run: R) => Promise<void>;
}

/**
 * "namespace/name" of the run an object belongs to, from the kind's run label: the run's namespace
 * is in the namespace label on objects in Safehold's namespace and on PVs, else the object's own.
 */
export function labelledRun(label: string): (object: KubeObject) => string | undefined {
  return (object) => {
    const labels = object.metadata?.labels ?? {};
    const name = labels[label];
    const namespace = labels[runLabels.namespace] ?? object.metadata?.namespace;
    return name === undefined || namespace === undefined ? undefined : `${namespace}/${name}`;
  };
}

/**
 * Whether a change of a run (of another kind) ended it, or removed it unfinished: a slot it held is
 * free again. A change to a run that had already finished ends nothing.
 */
export function runEnded(finished: (run: RunObject) => boolean): (change: Change<KubeObject>) => boolean {
  const done = (o: KubeObject) => finished(o as RunObject);
  return (c) => (c.type === 'updated' ? !done(c.old) && done(c.object) : c.type === 'deleted' && !done(c.object));
}
