import { describe, expect, it } from 'vitest';
import type { BucketRestore, BucketRestoreSpec, BucketRestoreStatus, ChosenDump, DumpRun } from '../api/index.ts';
import {
  bucketRestoreTarget,
  chooseDump,
  nextBucketRestoreStep,
  type BucketRestoreObservation,
  type DumpedBucket,
} from './bucket-restore-run.ts';
import type { MoverOutcome } from './mover-failure.ts';

const dumped: DumpedBucket = { name: 'photos', endpoint: 'http://rgw.store:80', region: 'us-east-1' };
const chosen: ChosenDump = {
  run: 'photos-mon',
  snapshotId: 'a1b2c3d4e5f6',
  snapshotTime: '2026-12-01T02:00:00Z',
  repository: 'shared',
};

function restore(spec: Partial<BucketRestoreSpec> = {}, status: BucketRestoreStatus = {}): BucketRestore {
  return {
    metadata: { name: 'back', namespace: 'team', uid: 'u1' },
    spec: { dump: 'photos', secretRef: { name: 'writer' }, ...spec },
    status,
  };
}

function observe(over: Partial<BucketRestoreObservation> = {}): BucketRestoreObservation {
  return {
    restore: restore(),
    invalid: undefined,
    dump: { kind: 'bucket', bucket: dumped },
    choice: { ok: true, dump: chosen },
    repositoryFound: true,
    secret: undefined,
    maintenance: undefined,
    readers: { running: 0, limit: 2 },
    job: undefined,
    ...over,
  };
}

const finishedJob = (result: MoverOutcome['result']): MoverOutcome => ({
  finished: true,
  result,
  failureMessage: undefined,
});

describe('nextBucketRestoreStep', () => {
  it("starts a pending restore with the dump it settled on, into the dump's own bucket", () => {
    expect(nextBucketRestoreStep(observe())).toEqual({
      kind: 'start',
      backup: chosen,
      sourceBucket: 'photos',
      target: { endpoint: 'http://rgw.store:80', bucket: 'photos', region: 'us-east-1' },
    });
  });

  // Everything wrong at once, then one problem fixed at a time: the first check left wins.
  const everythingWrong: Partial<BucketRestoreObservation> = {
    invalid: 'spec.into.bucket: an S3 bucket name',
    dump: { kind: 'missing' },
    secret: 'Secret team/writer (BucketRestore team/back spec.secretRef) not found',
    choice: { ok: false, message: 'spec.dump: ApplicationDump team/photos has no stored dump yet' },
    repositoryFound: false,
  };
  it.each([
    ['nothing fixed', {}, 'InvalidSpec', 'spec.into.bucket: an S3 bucket name'],
    ['the spec fixed', { invalid: undefined }, 'DumpNotFound', 'spec.dump: ApplicationDump team/photos not found'],
    [
      'a dump that is not a bucket dump',
      { invalid: undefined, dump: { kind: 'other' as const, source: 'a command (spec.command)' } },
      'InvalidSpec',
      'spec.dump: ApplicationDump team/photos is not a bucket dump (it dumps a command (spec.command), and has no spec.bucket)',
    ],
    [
      'a dump whose spec is wrong',
      { invalid: undefined, dump: { kind: 'invalid' as const, message: 'spec.bucket.name: an S3 bucket name' } },
      'InvalidSpec',
      'spec.dump: ApplicationDump team/photos is not valid: spec.bucket.name: an S3 bucket name',
    ],
    [
      'the dump found',
      { invalid: undefined, dump: { kind: 'bucket' as const, bucket: dumped } },
      'SecretNotFound',
      'Secret team/writer (BucketRestore team/back spec.secretRef) not found',
    ],
    [
      'the Secret made',
      { invalid: undefined, dump: { kind: 'bucket' as const, bucket: dumped }, secret: undefined },
      'BackupNotFound',
      'spec.dump: ApplicationDump team/photos has no stored dump yet',
    ],
    [
      'a dump stored',
      {
        invalid: undefined,
        dump: { kind: 'bucket' as const, bucket: dumped },
        secret: undefined,
        choice: { ok: true as const, dump: chosen },
      },
      'RepositoryNotFound',
      'BackupRepository shared of DumpRun photos-mon does not exist or is invalid',
    ],
  ])('fails on the first problem found (%s)', (_, fixed, reason, message) => {
    expect(nextBucketRestoreStep(observe({ ...everythingWrong, ...fixed }))).toEqual({ kind: 'fail', reason, message });
  });

  it('fails on a prefix outside the keys the dump stores, naming both fields', () => {
    const step = nextBucketRestoreStep(
      observe({
        restore: restore({ prefix: 'videos/' }),
        dump: { kind: 'bucket', bucket: { ...dumped, prefix: 'photos/' } },
      }),
    );
    expect(step).toEqual({
      kind: 'fail',
      reason: 'InvalidSpec',
      message:
        'spec.prefix: "videos/" is outside the keys ApplicationDump team/photos stores (its spec.bucket.prefix is "photos/")',
    });
  });

  it("waits while the repository's maintenance runs, then for a free slot", () => {
    expect(nextBucketRestoreStep(observe({ maintenance: 'safehold-system/weekly-1' }))).toMatchObject({
      kind: 'wait',
      reason: 'MaintenanceWindow',
    });
    expect(nextBucketRestoreStep(observe({ readers: { running: 2, limit: 2 } }))).toMatchObject({
      kind: 'wait',
      reason: 'ConcurrencyLimit',
    });
  });

  describe('running', () => {
    const running = (over: Partial<BucketRestoreObservation> = {}) =>
      observe({ restore: restore({}, { phase: 'Running', backup: chosen }), ...over });

    it('creates its mover Job, then waits for it', () => {
      expect(nextBucketRestoreStep(running())).toEqual({ kind: 'create-job' });
      expect(
        nextBucketRestoreStep(running({ job: { finished: false, result: undefined, failureMessage: undefined } })),
      ).toMatchObject({ kind: 'wait', reason: 'MoverRunning' });
    });

    it("succeeds with the mover's counts", () => {
      const job = finishedJob({
        type: 'restored',
        snapshotId: chosen.snapshotId,
        filesRestored: 3,
        filesSkipped: 7,
        totalFiles: 10,
        bytesRestored: 30,
        bytesSkipped: 70,
        totalBytes: 100,
        durationSeconds: 2,
        bucket: { written: 3, unchanged: 7, deleted: 1 },
      });
      expect(nextBucketRestoreStep(running({ job }))).toEqual({
        kind: 'succeed',
        objects: { written: 3, unchanged: 7, deleted: 1 },
      });
    });

    it("fails with the mover's own reason, or when its result lacks the bucket's counts", () => {
      const denied = finishedJob({ type: 'error', code: 'WrongCredentials', message: 'photos: AccessDenied' });
      expect(nextBucketRestoreStep(running({ job: denied }))).toEqual({
        kind: 'fail',
        reason: 'WrongCredentials',
        message: 'photos: AccessDenied',
      });
      const plain = finishedJob({
        type: 'restored',
        snapshotId: 'a1',
        filesRestored: 0,
        filesSkipped: 0,
        totalFiles: 0,
        bytesRestored: 0,
        bytesSkipped: 0,
        totalBytes: 0,
        durationSeconds: 1,
      });
      expect(nextBucketRestoreStep(running({ job: plain }))).toMatchObject({ kind: 'fail', reason: 'MoverFailed' });
    });
  });

  it.each(['Succeeded', 'Failed'] as const)('only cleans up once %s', (phase) => {
    expect(nextBucketRestoreStep(observe({ restore: restore({}, { phase }) }))).toEqual({ kind: 'done' });
  });
});

describe('bucketRestoreTarget', () => {
  const into = { bucket: 'photos-copy', endpoint: 'http://other:7480' };
  const home = { endpoint: dumped.endpoint, bucket: 'photos', region: 'us-east-1' };
  it.each([
    ['the whole dump into its bucket', {}, undefined, home],
    ['a prefix', { prefix: '2026/' }, undefined, { ...home, prefix: '2026/' }],
    [
      'another bucket elsewhere',
      { into },
      undefined,
      { ...home, endpoint: 'http://other:7480', bucket: 'photos-copy' },
    ],
    ["the dump's prefix when none is asked", {}, 'cams/', { ...home, prefix: 'cams/' }],
    ["the dump's prefix when a wider one is asked", { prefix: 'ca' }, 'cams/', { ...home, prefix: 'cams/' }],
    ["a prefix within the dump's", { prefix: 'cams/front/' }, 'cams/', { ...home, prefix: 'cams/front/' }],
  ])('writes %s', (_, spec, stored, target) => {
    expect(bucketRestoreTarget(restore(spec), { ...dumped, prefix: stored })).toEqual({ ok: true, target });
  });
});

describe('chooseDump', () => {
  const run = (name: string, snapshotId: string, time: string, phase = 'Succeeded'): DumpRun => ({
    metadata: { name, namespace: 'team' },
    spec: { dump: 'photos' },
    status: {
      phase: phase as 'Succeeded',
      snapshotId,
      snapshotTime: time,
      completionTime: time,
      repository: 'shared',
    },
  });
  const runs = [
    run('photos-mon', 'aaaa1111', '2026-12-01T02:00:00Z'),
    run('photos-tue', 'bbbb2222', '2026-12-02T02:00:00Z'),
    run('photos-wed', 'cccc3333', '2026-12-03T02:00:00Z', 'Failed'),
  ];
  const ask = (backup: string, asOf?: string) => chooseDump(runs, { namespace: 'team', dump: 'photos', backup, asOf });

  it.each([
    ['the newest stored', ask('latest'), 'photos-tue'],
    ['a DumpRun by name', ask('photos-mon'), 'photos-mon'],
    ['a snapshot by id prefix', ask('aaaa1111'), 'photos-mon'],
    ['the newest at or before a time', ask('latest', '2026-12-01T12:00:00Z'), 'photos-mon'],
  ])('chooses %s', (_, answer, name) => {
    expect(answer).toMatchObject({ ok: true, dump: { run: name, repository: 'shared' } });
  });

  it.each([
    [
      'nothing stored before asOf',
      ask('latest', '2026-11-01T00:00:00Z'),
      'spec.asOf: ApplicationDump team/photos has no dump stored at or before 2026-11-01T00:00:00Z (safehold backups --application team/photos lists them)',
    ],
    [
      'a failed run',
      ask('photos-wed'),
      'spec.backup: ApplicationDump team/photos has no stored dump "photos-wed" (a DumpRun name or snapshot id; safehold backups --application team/photos lists them)',
    ],
    [
      'no run at all',
      chooseDump([], { namespace: 'team', dump: 'photos', backup: 'latest' }),
      'spec.dump: ApplicationDump team/photos has no stored dump yet (no Succeeded DumpRun)',
    ],
  ])('says which field asks for what is not there (%s)', (_, answer, message) => {
    expect(answer).toEqual({ ok: false, message });
  });
});
