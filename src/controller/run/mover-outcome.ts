// A mover Job's outcome as the controller reads it: finished or not, and the
// result its Pod left in the container's termination message (never scraped
// from logs).
import { moverResult, type MoverResult } from '../../api/index.ts';
import type { MoverOutcome } from '../../core/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';

/** The outcome of the Job `jobName` in `namespace`, or undefined when there is no such Job. */
export function moverOutcome(cache: ClusterCache, namespace: string, jobName: string): MoverOutcome | undefined {
  const job = cache.jobs.get(`${namespace}/${jobName}`);
  if (job === undefined) return undefined;
  const conditions = job.status?.conditions ?? [];
  const finished = conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  const pod = cache.podsOfJob(namespace, jobName)[0];
  const terminated = pod?.status?.containerStatuses?.find((c) => c.name === 'mover')?.state?.terminated;
  return {
    finished: finished || terminated !== undefined,
    result: parseResult(terminated?.message),
    failureMessage: failed?.message ?? terminated?.reason,
  };
}

export function parseResult(message: string | undefined): MoverResult | undefined {
  if (message === undefined || message.trim() === '') return undefined;
  try {
    const parsed = moverResult.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
