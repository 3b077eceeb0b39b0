import { describe, expect, it } from 'vitest';
import type { MoverResult } from '../api/index.ts';
import { moverFailure, podFate, type MoverPodFacts } from './mover-failure.ts';

type Pod = NonNullable<MoverPodFacts['pod']>;
const running: Pod = {
  name: 'backup-db-1-abcde',
  node: 'node-1',
  deleting: false,
  phase: 'Running',
  reason: undefined,
  message: undefined,
  disruption: undefined,
  terminated: undefined,
  memoryLimit: '2Gi',
};
const facts = (pod: Partial<Pod> | undefined, more: Partial<MoverPodFacts> = {}): MoverPodFacts => ({
  jobName: 'backup-db-1',
  pod: pod === undefined ? undefined : { ...running, ...pod },
  jobFailed: undefined,
  deadlineSeconds: 3600,
  ...more,
});
const killed = { reason: 'Error', exitCode: 143 };

describe('podFate', () => {
  it.each<[string, MoverPodFacts, string | undefined]>([
    ['a Pod that runs', facts({}), undefined],
    [
      'a mover that exited on its own',
      facts({ terminated: { reason: 'Error', exitCode: 1 }, phase: 'Failed' }),
      undefined,
    ],
    ['a Pod deleted while it ran', facts({ deleting: true, terminated: killed }), 'deleted'],
    ['an OOM kill', facts({ terminated: { reason: 'OOMKilled', exitCode: 137 } }), 'out-of-memory'],
    ['an eviction by the kubelet', facts({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' }), 'evicted'],
    [
      'an eviction through the API (a drain)',
      facts({ deleting: true, disruption: { reason: 'EvictionByEvictionAPI', message: 'Eviction API' } }),
      'evicted',
    ],
    [
      'a node lost (taint manager)',
      facts({
        deleting: true,
        disruption: { reason: 'DeletionByTaintManager', message: 'Taint node.kubernetes.io/unreachable' },
      }),
      'node-lost',
    ],
    [
      'a node deleted (pod GC)',
      facts({ deleting: true, disruption: { reason: 'DeletionByPodGC', message: undefined } }),
      'node-lost',
    ],
    [
      'preemption',
      facts({ deleting: true, disruption: { reason: 'PreemptionByScheduler', message: undefined } }),
      'preempted',
    ],
    [
      'the Job past its deadline',
      facts(
        { deleting: true },
        { jobFailed: { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' } },
      ),
      'deadline-exceeded',
    ],
    [
      'a Pod gone and its Job failed',
      facts(undefined, {
        jobFailed: { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
      }),
      'vanished',
    ],
    ['a Pod not there yet', facts(undefined), undefined],
    ['a Pod failed before its container ended', facts({ phase: 'Failed', reason: 'NodeAgentRestarted' }), 'pod-failed'],
  ])('%s', (_, input, kind) => {
    expect(podFate(input)?.kind).toBe(kind);
  });
});

describe('moverFailure', () => {
  const error = (code: Extract<MoverResult, { type: 'error' }>['code'], message: string): MoverResult => ({
    type: 'error',
    code,
    message,
  });
  it.each<[string, Parameters<typeof moverFailure>[0], string, string[]]>([
    [
      "the mover's own code is the reason",
      { finished: true, result: error('WrongPassword', 'the password from X does not open'), failureMessage: 'Error' },
      'WrongPassword',
      ['the password from X does not open'],
    ],
    [
      'a stalled endpoint keeps its own reason',
      { finished: true, result: error('RepositoryStalled', 'accepts connections'), failureMessage: undefined },
      'RepositoryStalled',
      ['accepts connections'],
    ],
    [
      'an interrupted mover whose Pod was deleted',
      {
        finished: true,
        result: error('Interrupted', 'restic was stopped by a signal'),
        failureMessage: 'Error',
        fate: { kind: 'deleted', pod: 'backup-db-1-abcde' },
      },
      'MoverKilled',
      ['backup-db-1-abcde', 'was deleted while it ran'],
    ],
    [
      'an interrupted mover with no known fate',
      { finished: true, result: error('Interrupted', 'restic was stopped by a signal'), failureMessage: 'Error' },
      'Interrupted',
      ['stopped by a signal'],
    ],
    [
      'an OOM kill leaves no result',
      {
        finished: true,
        result: undefined,
        failureMessage: 'OOMKilled',
        fate: { kind: 'out-of-memory', pod: 'p', limit: '2Gi' },
      },
      'MoverOutOfMemory',
      ['ran out of memory', 'limit 2Gi', 'mover.resources.limits.memory'],
    ],
    [
      'a node lost',
      {
        finished: true,
        result: undefined,
        failureMessage: undefined,
        fate: { kind: 'node-lost', pod: 'p', node: 'node-2', detail: 'Taint node.kubernetes.io/unreachable' },
      },
      'MoverKilled',
      ['node node-2 was lost', 'unreachable'],
    ],
    [
      'an eviction',
      {
        finished: true,
        result: undefined,
        failureMessage: undefined,
        fate: { kind: 'evicted', pod: 'p', node: 'node-1', detail: 'The node was low on resource: memory.' },
      },
      'MoverKilled',
      ['evicted on node node-1', 'low on resource'],
    ],
    [
      'the Job past its deadline',
      {
        finished: true,
        result: undefined,
        failureMessage: 'Job was active longer than specified deadline',
        fate: { kind: 'deadline-exceeded', job: 'backup-db-1', seconds: 600 },
      },
      'MoverDeadlineExceeded',
      ['backup-db-1', '600 s', 'retry.deadline'],
    ],
    ['nothing known', { finished: true, result: undefined, failureMessage: 'Error' }, 'MoverFailed', ['Error']],
    [
      'a result of the wrong kind',
      {
        finished: true,
        result: { type: 'downloaded', snapshotId: 'a', what: 'file', bytes: 1, durationSeconds: 1 },
        failureMessage: undefined,
      },
      'MoverFailed',
      ['a downloaded result'],
    ],
  ])('%s', (_, outcome, reason, phrases) => {
    const failure = moverFailure(outcome);
    expect(failure.reason).toBe(reason);
    for (const phrase of phrases) expect(failure.message).toContain(phrase);
  });
});
