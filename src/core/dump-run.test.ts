import { describe, expect, it } from 'vitest';
import type { DumpRun } from '../api/index.ts';
import { dumpRetentionDrops, nextDumpStep, podWaitMs, type DumpObservation } from './dump-run.ts';

const now = new Date('2026-12-05T10:00:00Z');
const created = new Date(now.getTime() - 60_000).toISOString();

function run(status: DumpRun['status'] = {}): DumpRun {
  return {
    metadata: { name: 'r', namespace: 'app', creationTimestamp: created, uid: 'u' },
    spec: { dump: 'db' },
    status,
  };
}

function seen(over: Partial<DumpObservation> = {}): DumpObservation {
  return {
    now,
    run: run(),
    problem: undefined,
    target: { kind: 'found', pod: 'db-0', container: 'postgres' },
    repository: 'main',
    maintenance: undefined,
    slots: { running: 0, limit: 2 },
    job: undefined,
    moverPod: undefined,
    streaming: false,
    ...over,
  };
}

const running = (status: DumpRun['status'] = {}) =>
  run({ phase: 'Running', pod: 'db-0', command: ['pg_dumpall'], ...status });
const summary = {
  type: 'summary' as const,
  snapshotId: 'abcd1234',
  filesNew: 1,
  filesChanged: 0,
  filesUnmodified: 0,
  dirsNew: 0,
  dirsChanged: 0,
  bytesAdded: 10,
  bytesProcessed: 1234,
  filesProcessed: 1,
  durationSeconds: 1,
};
const failedJob = {
  finished: true,
  result: {
    type: 'error' as const,
    code: 'DumpFailed' as const,
    message: 'dump not stored: the stream ended after 10 bytes, before the dump command did',
  },
  failureMessage: undefined,
};

describe('nextDumpStep', () => {
  it.each([
    {
      what: 'a missing ApplicationDump fails, naming it',
      o: seen({ problem: { reason: 'DumpNotFound', message: 'ApplicationDump app/db not found' } }),
      step: { kind: 'fail', reason: 'DumpNotFound' },
    },
    {
      what: 'a Pod without the container fails, naming Pod and container',
      o: seen({ target: { kind: 'no-container', message: 'Pod app/db-0 has no container pg' } }),
      step: { kind: 'fail', reason: 'ContainerNotFound', message: 'Pod app/db-0 has no container pg' },
    },
    {
      what: 'no Running Pod yet: waits',
      o: seen({ target: { kind: 'no-pod', message: 'no Running Pod in namespace app matches' } }),
      step: { kind: 'wait', reason: 'PodNotReady' },
    },
    {
      what: 'no Running Pod for long: fails',
      o: seen({
        now: new Date(now.getTime() + podWaitMs),
        target: { kind: 'no-pod', message: 'no Running Pod in namespace app matches' },
      }),
      step: { kind: 'fail', reason: 'PodNotFound' },
    },
    {
      what: 'maintenance holds the repository',
      o: seen({ maintenance: 'm1' }),
      step: { kind: 'wait', reason: 'MaintenanceWindow' },
    },
    {
      what: 'every mover slot taken',
      o: seen({ slots: { running: 2, limit: 2 } }),
      step: { kind: 'wait', reason: 'ConcurrencyLimit' },
    },
    {
      what: 'another dump is creating the repository: waits for it, as restic cannot create one from two places',
      o: seen({ repositoryBeingCreated: 'safehold/safehold-bucket-photos-1' }),
      step: {
        kind: 'wait',
        reason: 'Waiting',
        message: 'waiting for DumpRun safehold/safehold-bucket-photos-1 to create the repository',
      },
    },
    {
      what: 'all there: starts',
      o: seen(),
      step: { kind: 'start', pod: 'db-0', container: 'postgres', repository: 'main' },
    },
    {
      what: 'an objects dump needs no Pod: starts without one',
      o: seen({ target: { kind: 'objects', scope: 'Namespace' } }),
      step: { kind: 'start', pod: undefined, container: undefined, repository: 'main' },
    },
    {
      what: 'an objects dump streams the namespace, and says so',
      o: seen({
        run: run({ phase: 'Running', streamStartTime: created }),
        job: { finished: false, result: undefined, failureMessage: undefined },
        streaming: true,
        target: { kind: 'objects', scope: 'Namespace' },
      }),
      step: { kind: 'wait', reason: 'Streaming', message: 'streaming the API objects of namespace app' },
    },
    { what: 'started, no Job: creates it', o: seen({ run: running() }), step: { kind: 'create-job' } },
    {
      what: 'the mover is not running yet: waits',
      o: seen({
        run: running(),
        job: { finished: false, result: undefined, failureMessage: undefined },
        moverPod: { name: 'm', running: false },
      }),
      step: { kind: 'wait', reason: 'MoverStarting' },
    },
    {
      what: 'the mover runs: streams',
      o: seen({
        run: running(),
        job: { finished: false, result: undefined, failureMessage: undefined },
        moverPod: { name: 'm', running: true },
      }),
      step: { kind: 'stream', moverPod: 'm' },
    },
    {
      what: 'streaming in this process: waits, never a second stream',
      o: seen({
        run: running({ streamStartTime: now.toISOString() }),
        job: { finished: false, result: undefined, failureMessage: undefined },
        moverPod: { name: 'm', running: true },
        streaming: true,
      }),
      step: { kind: 'wait', reason: 'Streaming' },
    },
    {
      what: 'a stream started by an operator that is gone: waits for the mover to end, never a second stream',
      o: seen({
        run: running({ streamStartTime: now.toISOString() }),
        job: { finished: false, result: undefined, failureMessage: undefined },
        moverPod: { name: 'm', running: true },
      }),
      step: { kind: 'wait', reason: 'StreamLost' },
    },
    {
      what: 'a lost stream whose mover does not end: the attempt is ended and tried again',
      o: seen({
        run: running({ streamStartTime: new Date(now.getTime() - 3 * 60_000).toISOString() }),
        job: { finished: false, result: undefined, failureMessage: undefined },
      }),
      step: { kind: 'retry', reason: 'StreamLost' },
    },
    {
      what: 'a lost stream on the last attempt fails',
      o: seen({ run: running({ streamStartTime: now.toISOString(), attempt: 3 }), job: failedJob }),
      step: { kind: 'fail', reason: 'StreamLost' },
    },
    {
      what: 'the mover stored the dump',
      o: seen({
        run: running({ streamStartTime: now.toISOString() }),
        job: { finished: true, result: summary, failureMessage: undefined },
        streaming: true,
      }),
      step: { kind: 'succeed', snapshotId: 'abcd1234', bytes: 1234 },
    },
    {
      what: 'the dump command failed: the mover stored nothing, and says why',
      o: seen({ run: running({ streamStartTime: now.toISOString() }), job: failedJob, streaming: true }),
      step: { kind: 'fail', reason: 'DumpFailed', message: failedJob.result.message },
    },
    {
      what: 'a dump cut short on its way (fewer bytes arrived than were written): tried again',
      o: seen({
        run: running({ streamStartTime: now.toISOString() }),
        job: {
          finished: true,
          result: {
            type: 'error' as const,
            code: 'DumpIncomplete' as const,
            message: 'dump not stored: the dump command wrote 9 bytes, 5 arrived',
          },
          failureMessage: undefined,
        },
        streaming: true,
      }),
      step: { kind: 'retry', reason: 'DumpIncomplete' },
    },
    { what: 'a finished run only cleans up', o: seen({ run: run({ phase: 'Failed' }) }), step: { kind: 'done' } },
  ])('$what', ({ o, step }) => {
    expect(nextDumpStep(o)).toMatchObject(step);
  });
});

describe('dumpRetentionDrops', () => {
  const stored = (dump: string, name: string, time: string, phase = 'Succeeded'): DumpRun => ({
    metadata: { name, namespace: 'app' },
    spec: { dump },
    status: { phase: phase as 'Succeeded', snapshotId: `${name}00000000`, snapshotTime: time },
  });
  const runs = [
    stored('db', 'mon', '2026-11-30T03:00:00Z'),
    stored('db', 'tue', '2026-12-01T03:00:00Z'),
    stored('db', 'tue-again', '2026-12-01T15:00:00Z'),
    stored('db', 'wed', '2026-12-02T03:00:00Z'),
    stored('db', 'failed', '2026-12-02T04:00:00Z', 'Failed'),
    stored('gone', 'old', '2026-01-01T03:00:00Z'),
  ];
  const declared = { retention: { keepDaily: 2, orphanGracePeriod: '30d' }, schedule: undefined };

  it("drops what a dump's own rules do not keep, per dump, and never a failed run", () => {
    const drops = dumpRetentionDrops(runs, (key) => (key === 'app/db' ? declared : undefined));
    expect(drops.map((r) => r.metadata.name).sort()).toEqual(['mon', 'tue']);
  });

  it('keeps every dump of an ApplicationDump that is gone', () => {
    expect(dumpRetentionDrops(runs, () => undefined)).toEqual([]);
  });
});
