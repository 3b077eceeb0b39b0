// The one status-and-conditions writer of every run kind: a patch merged into
// the status as the API has it now (conflicts re-read and recomputed), and
// the condition set with its transition time kept while its status holds. A
// phase change decided on a phase the run has since left is never written.
import { timestamp } from '../../api/index.ts';
import { setCondition } from '../../core/index.ts';
import { writeStatus, type KubeClient, type ResourceKind } from '../../kube/index.ts';
import type { RunObject } from './run-kind.ts';

export interface RunCondition {
  /** Complete unless said otherwise. */
  type?: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

type StatusOf<R extends RunObject> = NonNullable<R['status']>;

/**
 * A step was decided on a phase the run has left since (the cache was behind the API): its phase
 * change is not written, and the change that moved the run on brings it back to be decided again.
 */
export class PhaseMovedOn extends Error {
  constructor(run: RunObject, decidedOn: string, now: string) {
    super(`${run.metadata.namespace}/${run.metadata.name} is ${now}, no longer ${decidedOn}: decided again`);
    this.name = 'PhaseMovedOn';
  }
}

export async function writeRunStatus<R extends RunObject>(
  client: KubeClient,
  resource: ResourceKind,
  run: R,
  patch: Partial<StatusOf<R>>,
  condition: RunCondition | undefined,
  now: Date,
): Promise<void> {
  await writeStatus<R>(client, resource, { namespace: run.metadata.namespace, name: run.metadata.name }, (current) => {
    // Say, a restore that succeeded, seen as still running by a stale cache, is never then failed.
    const decidedOn = run.status?.phase ?? 'Pending';
    const phaseNow = current.status?.phase ?? 'Pending';
    if ((patch as { phase?: string }).phase !== undefined && phaseNow !== decidedOn)
      throw new PhaseMovedOn(run, decidedOn, phaseNow);
    const status = { ...current.status, ...patch } as StatusOf<R> & { conditions?: unknown };
    if (condition !== undefined) {
      const { type = 'Complete', ...rest } = condition;
      status.conditions = setCondition(
        (current.status?.conditions ?? []) as unknown as Parameters<typeof setCondition>[0],
        { type, ...rest },
        timestamp(now),
      );
    }
    // Undefined fields are removed, not sent.
    return JSON.parse(JSON.stringify(status)) as StatusOf<R>;
  });
}

/** The status writer of one step of one run: patches and a condition, stamped with the step's time. */
export function statusWriter<R extends RunObject>(client: KubeClient, resource: ResourceKind, run: R, now: Date) {
  return (patch: Partial<StatusOf<R>>, condition?: RunCondition) =>
    writeRunStatus(client, resource, run, patch, condition, now);
}

/**
 * A run that waits: its reason and message are written only when they change, since a waiting
 * run is looked at again and again. Never the phase from the cache, which may be older than a
 * write this operator just made; only a run without a phase becomes Pending.
 */
export async function writeWaiting(
  client: KubeClient,
  resource: ResourceKind,
  run: RunObject,
  wait: { reason: string; message: string },
  now: Date,
): Promise<void> {
  if (run.status?.reason === wait.reason && run.status.message === wait.message) return;
  await writeRunStatus(
    client,
    resource,
    run,
    { ...(run.status?.phase === undefined ? { phase: 'Pending' } : {}), reason: wait.reason, message: wait.message },
    { status: 'Unknown', ...wait },
    now,
  );
}

/** The run's temporaries are gone: recorded so that a restart does not clean up again. */
export function cleanedUp(message: string, reason = 'TemporaryObjectsDeleted'): RunCondition {
  return { type: 'CleanedUp', status: 'True', reason, message };
}

export function isCleanedUp(run: RunObject): boolean {
  return run.status?.conditions?.some((c) => c.type === 'CleanedUp' && c.status === 'True') === true;
}
