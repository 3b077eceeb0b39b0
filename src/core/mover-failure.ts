// Why a mover did not deliver its result, as a run's reason and message: the
// mover's own error code when it could say, else what happened to its Pod
// (deleted, evicted, out of memory, its node lost, past the Job's deadline),
// read from the Pod and Job status the controller observed. Pure.
import type { MoverResult, RunFailureReason } from '../api/index.ts';

/** What a finished mover Job says about itself, as the controller reads it from the Pod. */
export interface MoverOutcome {
  finished: boolean;
  result: MoverResult | undefined;
  /** The Job's Failed condition message, or how the container ended, when nothing better is known. */
  failureMessage: string | undefined;
  /** What happened to the mover's Pod, when it did not simply exit (see podFate). */
  fate?: PodFate | undefined;
}

/** The facts of a mover's Pod and Job that tell how it ended; plain data from their status. */
export interface MoverPodFacts {
  jobName: string;
  /** Undefined when the Pod is gone from the API. */
  pod:
    | {
        name: string;
        node: string | undefined;
        deleting: boolean;
        phase: string | undefined;
        reason: string | undefined;
        message: string | undefined;
        /** The DisruptionTarget condition Kubernetes sets on a Pod it is about to stop. */
        disruption: { reason: string; message: string | undefined } | undefined;
        /** The mover container's terminated state. */
        terminated: { reason: string | undefined; exitCode: number } | undefined;
        memoryLimit: string | undefined;
      }
    | undefined;
  /** The Job's Failed condition, when it has one. */
  jobFailed: { reason: string | undefined; message: string | undefined } | undefined;
  deadlineSeconds: number | undefined;
}

export type PodFate =
  | { kind: 'out-of-memory'; pod: string; limit: string | undefined }
  | { kind: 'evicted'; pod: string; node: string | undefined; detail: string }
  | { kind: 'node-lost'; pod: string; node: string | undefined; detail: string }
  | { kind: 'preempted'; pod: string; node: string | undefined }
  | { kind: 'deleted'; pod: string }
  /** The Pod failed before its container ended (its node's agent gave up on it, a volume would not mount). */
  | { kind: 'pod-failed'; pod: string; reason: string; detail: string }
  | { kind: 'vanished'; job: string; detail: string | undefined }
  | { kind: 'deadline-exceeded'; job: string; seconds: number | undefined };

// DisruptionTarget reasons (Kubernetes 1.26+).
const nodeGone = new Set(['DeletionByTaintManager', 'DeletionByPodGC', 'NodeLost']);

/** How the mover's Pod ended when something stopped it; undefined when it ended on its own (or runs). */
export function podFate(facts: MoverPodFacts): PodFate | undefined {
  const { pod, jobFailed } = facts;
  if (jobFailed?.reason === 'DeadlineExceeded' || pod?.reason === 'DeadlineExceeded')
    return { kind: 'deadline-exceeded', job: facts.jobName, seconds: facts.deadlineSeconds };
  if (pod === undefined) {
    // The Pod is gone before its Job succeeded: deleted with its node, or by someone, before we saw it.
    return jobFailed === undefined ? undefined : { kind: 'vanished', job: facts.jobName, detail: jobFailed.message };
  }
  if (pod.terminated?.reason === 'OOMKilled') return { kind: 'out-of-memory', pod: pod.name, limit: pod.memoryLimit };
  const disruption = pod.disruption?.reason;
  if (pod.reason === 'NodeLost' || (disruption !== undefined && nodeGone.has(disruption)))
    return { kind: 'node-lost', pod: pod.name, node: pod.node, detail: pod.disruption?.message ?? pod.message ?? '' };
  if (pod.reason === 'Evicted' || disruption === 'EvictionByEvictionAPI' || disruption === 'TerminationByKubelet')
    return { kind: 'evicted', pod: pod.name, node: pod.node, detail: pod.message ?? pod.disruption?.message ?? '' };
  if (disruption === 'PreemptionByScheduler') return { kind: 'preempted', pod: pod.name, node: pod.node };
  if (pod.deleting) return { kind: 'deleted', pod: pod.name };
  if (pod.phase === 'Failed' && pod.terminated === undefined && pod.reason !== undefined)
    return { kind: 'pod-failed', pod: pod.name, reason: pod.reason, detail: pod.message ?? '' };
  return undefined;
}

export interface MoverFailure {
  reason: RunFailureReason;
  message: string;
}

/** Why a finished mover did not deliver the result its task asks for. */
export function moverFailure(job: MoverOutcome): MoverFailure {
  const result = job.result;
  const fate = job.fate === undefined ? undefined : fateFailure(job.fate);
  if (result?.type === 'error') {
    // A mover stopped by a signal can only say so; its Pod's fate says why.
    if (result.code === 'Interrupted' && fate !== undefined) return fate;
    return { reason: result.code, message: result.message };
  }
  if (result !== undefined)
    return {
      reason: 'MoverFailed',
      message: `the mover returned a ${result.type} result, not the one its task asks for`,
    };
  if (fate !== undefined) return fate;
  return { reason: 'MoverFailed', message: job.failureMessage ?? 'the mover ended without a result' };
}

const retried = 'the run is retried while its policy allows';

export function fateFailure(fate: PodFate): MoverFailure {
  const on = (node: string | undefined) => (node === undefined ? '' : ` on node ${node}`);
  const detail = (text: string) => (text === '' ? '' : ` (${text})`);
  switch (fate.kind) {
    case 'out-of-memory':
      return {
        reason: 'MoverOutOfMemory',
        message: `the mover Pod ${fate.pod} ran out of memory and was killed (OOMKilled${fate.limit === undefined ? '' : `, limit ${fate.limit}`}): raise the Helm value mover.resources.limits.memory; ${retried}`,
      };
    case 'evicted':
      return {
        reason: 'MoverKilled',
        message: `the mover Pod ${fate.pod} was evicted${on(fate.node)}${detail(fate.detail)}: the node was short of resources or being drained; ${retried}`,
      };
    case 'node-lost':
      return {
        reason: 'MoverKilled',
        message: `node ${fate.node ?? '(unknown)'} was lost while the mover Pod ${fate.pod} ran on it${detail(fate.detail)}; ${retried}`,
      };
    case 'preempted':
      return {
        reason: 'MoverKilled',
        message: `the mover Pod ${fate.pod} was preempted${on(fate.node)} by a Pod of higher priority; ${retried}`,
      };
    case 'deleted':
      return {
        reason: 'MoverKilled',
        message: `the mover Pod ${fate.pod} was deleted while it ran (by a person, a drain or a controller); ${retried}`,
      };
    case 'pod-failed':
      return {
        reason: 'MoverFailed',
        message: `the mover Pod ${fate.pod} failed before the mover ended: ${fate.reason}${detail(fate.detail)}; ${retried}`,
      };
    case 'vanished':
      return {
        reason: 'MoverKilled',
        message: `the mover Pod of Job ${fate.job} is gone (deleted, or its node was lost) and the Job failed${detail(fate.detail ?? '')}; ${retried}`,
      };
    case 'deadline-exceeded':
      return {
        reason: 'MoverDeadlineExceeded',
        message: `the mover Job ${fate.job} ran past its deadline${fate.seconds === undefined ? '' : ` of ${fate.seconds} s`} and Kubernetes stopped it: the copy needs more time than the run allows (for a backup, its policy's retry.deadline); look for a slow or stalled S3 endpoint, or allow more time`,
      };
  }
}
