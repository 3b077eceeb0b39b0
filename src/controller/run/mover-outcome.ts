// A mover Job's outcome as the controller reads it: finished or not, the
// result its Pod left in the container's termination message (never scraped
// from logs), and what happened to the Pod when something stopped it.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { moverResult, type MoverResult } from '../../api/index.ts';
import { podFate, type MoverOutcome, type MoverPodFacts } from '../../core/index.ts';
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
  const result = parseResult(terminated?.message);
  const fate = podFate(podFacts(jobName, pod, failed, job.spec?.activeDeadlineSeconds));
  return {
    // A Pod deleted before its container ended will not end it: its Job's failure is the end.
    finished: finished || terminated !== undefined,
    result,
    failureMessage: failed?.message ?? terminated?.reason,
    fate,
  };
}

function podFacts(
  jobName: string,
  pod: Pod | undefined,
  failed: { reason?: string; message?: string } | undefined,
  deadlineSeconds: number | undefined,
): MoverPodFacts {
  const terminated = pod?.status?.containerStatuses?.find((c) => c.name === 'mover')?.state?.terminated;
  const disruption = pod?.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  return {
    jobName,
    pod:
      pod === undefined
        ? undefined
        : {
            name: pod.metadata?.name ?? '',
            node: pod.spec?.nodeName,
            deleting: pod.metadata?.deletionTimestamp !== undefined,
            phase: pod.status?.phase,
            reason: pod.status?.reason,
            message: pod.status?.message,
            disruption:
              disruption === undefined ? undefined : { reason: disruption.reason ?? '', message: disruption.message },
            terminated:
              terminated === undefined ? undefined : { reason: terminated.reason, exitCode: terminated.exitCode },
            memoryLimit: pod.spec?.containers.find((c) => c.name === 'mover')?.resources?.limits?.memory,
          },
    jobFailed: failed === undefined ? undefined : { reason: failed.reason, message: failed.message },
    deadlineSeconds,
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
