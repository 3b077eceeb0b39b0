import { describe, expect, it } from 'vitest';
import type { ChosenBackup, MoverResult, RestoreDrillStatus, RestoreSummary } from '../api/index.ts';
import {
  countDifferences,
  drillVerdictOf,
  nextDrillStep,
  scratchPatienceMs,
  type DrillObservation,
} from './drill-run.ts';

const backup: ChosenBackup = {
  name: 'data-wed',
  namespace: 'team',
  pvc: 'data',
  snapshotId: 'a1b2c3d4e5f6',
  snapshotTime: '2026-11-18T02:00:00Z',
  repository: 'shared',
};
const now = new Date('2026-11-20T10:00:00Z');
const read: RestoreSummary = {
  type: 'restored',
  snapshotId: 'a1b2c3d4e5f6',
  filesRestored: 3,
  filesSkipped: 0,
  totalFiles: 5,
  bytesRestored: 30,
  bytesSkipped: 0,
  totalBytes: 30,
  durationSeconds: 1,
  verified: { files: 3, bytes: 30, method: 'restic-verify' },
};
const running: RestoreDrillStatus = {
  phase: 'Running',
  startTime: '2026-11-20T09:59:00Z',
  scratch: 'drill-x-scratch',
  backup,
  expected: { files: 3, bytes: 30 },
};
const finished = (result: MoverResult | undefined) => ({
  finished: true,
  result,
  failureMessage: undefined,
});

function observe(status: RestoreDrillStatus = {}, overrides: Partial<DrillObservation> = {}): DrillObservation {
  return {
    drill: { metadata: { name: 'd1', namespace: 'team' }, spec: { source: { pvc: 'data' } }, status },
    now,
    invalid: undefined,
    choice: { ok: true, backup },
    repositoryFound: true,
    expected: { files: 3, bytes: 30 },
    maintenance: undefined,
    slots: { running: 0, limit: 2 },
    scratch: undefined,
    scratchNotCachedYet: false,
    job: undefined,
    command: undefined,
    commandJob: undefined,
    ...overrides,
  };
}

describe('nextDrillStep: before it starts', () => {
  it('starts on the chosen backup, carrying what the backup recorded', () => {
    expect(nextDrillStep(observe())).toEqual({ kind: 'start', backup, expected: { files: 3, bytes: 30 } });
  });
  it('a backup pruned meanwhile ends the drill without a verdict', () => {
    const step = nextDrillStep(observe({}, { choice: { ok: false, message: 'no backup data-mon of team/data' } }));
    expect(step).toMatchObject({ kind: 'finish', verdict: undefined, reason: 'BackupNotFound' });
  });
  it('an invalid spec names its field and has no verdict', () => {
    const step = nextDrillStep(observe({}, { invalid: 'spec.storageClassName: no StorageClass fast' }));
    expect(step).toMatchObject({ kind: 'finish', verdict: undefined, reason: 'InvalidSpec' });
  });
  it('waits for maintenance and for a free drill slot', () => {
    expect(nextDrillStep(observe({}, { maintenance: 'prune' }))).toMatchObject({ reason: 'MaintenanceWindow' });
    expect(nextDrillStep(observe({}, { slots: { running: 2, limit: 2 } }))).toMatchObject({
      reason: 'ConcurrencyLimit',
    });
  });
});

describe('nextDrillStep: while it runs', () => {
  it('makes the scratch volume, then the mover', () => {
    expect(nextDrillStep(observe(running))).toEqual({ kind: 'create-scratch' });
    expect(nextDrillStep(observe(running, { scratch: { phase: 'Pending' } }))).toEqual({ kind: 'create-job' });
  });
  it('does not take a scratch volume the cache does not show yet for a missing one', () => {
    expect(nextDrillStep(observe(running, { scratchNotCachedYet: true }))).toMatchObject({
      kind: 'wait',
      reason: 'ScratchPending',
    });
  });
  it('a scratch volume that is never provisioned ends the drill without a verdict', () => {
    const late = new Date(Date.parse(running.startTime ?? '') + scratchPatienceMs + 1000);
    const step = nextDrillStep(observe(running, { now: late, scratch: { phase: 'Pending' } }));
    expect(step).toMatchObject({ kind: 'finish', verdict: undefined, reason: 'ScratchFailed' });
    expect(step).toHaveProperty('message', expect.stringContaining('drill-x-scratch'));
  });
  it('a scratch volume lost or gone under the mover ends it without a verdict', () => {
    const job = { finished: false, result: undefined, failureMessage: undefined };
    expect(nextDrillStep(observe(running, { scratch: { phase: 'Lost' }, job }))).toMatchObject({
      verdict: undefined,
      reason: 'ScratchFailed',
    });
    expect(nextDrillStep(observe(running, { job }))).toMatchObject({ verdict: undefined, reason: 'ScratchFailed' });
  });
  it('waits for the mover', () => {
    const job = { finished: false, result: undefined, failureMessage: undefined };
    expect(nextDrillStep(observe(running, { scratch: { phase: 'Bound' }, job }))).toMatchObject({
      kind: 'wait',
      reason: 'MoverRunning',
    });
  });
});

describe('nextDrillStep: the verdict', () => {
  const at = (result: MoverResult | undefined, status = running) =>
    nextDrillStep(observe(status, { scratch: { phase: 'Bound' }, job: finished(result) }));

  it('passes when the read-back agrees with the backup', () => {
    expect(at(read)).toMatchObject({ kind: 'finish', verdict: 'Passed', reason: 'Verified' });
  });
  it('fails when the counts differ, saying how', () => {
    const fewer = { ...read, verified: { files: 2, bytes: 20, method: 'restic-verify' as const } };
    const step = at(fewer);
    expect(step).toMatchObject({ kind: 'finish', verdict: 'Failed', reason: 'CountMismatch' });
    expect(step).toHaveProperty('message', expect.stringContaining('holds 20 bytes where the backup recorded 30'));
  });
  it('fails on what the mover found wrong with the data', () => {
    const damaged = { type: 'error' as const, code: 'Unverified' as const, message: 'pack 3f2a: hash mismatch' };
    const step = at(damaged);
    expect(step).toMatchObject({ verdict: 'Failed', reason: 'Unverified' });
    expect(step).toHaveProperty('message', 'pack 3f2a: hash mismatch');
  });
  it('has no verdict when the mover could not run', () => {
    const down = { type: 'error' as const, code: 'RepositoryUnreachable' as const, message: 'no route' };
    expect(at(down)).toMatchObject({ verdict: undefined, reason: 'RepositoryUnreachable' });
  });
  it('has no verdict when the mover did not read back', () => {
    const plain: RestoreSummary = { ...read, verified: undefined };
    expect(at(plain)).toMatchObject({ verdict: undefined, reason: 'MoverFailed' });
  });
  it('compares a block volume by its size', () => {
    const block: RestoreSummary = {
      ...read,
      block: { chain: ['a', 'b'], virtualSize: 1024, bytesWritten: 512 },
      verified: { bytes: 1024, method: 'device-compare' },
    };
    expect(countDifferences({ bytes: 1024 }, block)).toEqual([]);
    expect(countDifferences({ bytes: 2048 }, block)).toEqual(['it holds 1024 bytes where the backup recorded 2048']);
  });
  it('cleans up once finished', () => {
    expect(nextDrillStep(observe({ phase: 'Succeeded' }))).toEqual({ kind: 'clean-up' });
    expect(nextDrillStep(observe({ phase: 'Failed' }))).toEqual({ kind: 'clean-up' });
  });
});

describe('drillVerdictOf', () => {
  it.each([
    ['Unverified', 'Failed'],
    ['CountMismatch', 'Failed'],
    ['SnapshotNotFound', 'Failed'],
    ['RepositoryUnreachable', undefined],
    ['WrongPassword', undefined],
    ['ScratchFailed', undefined],
    ['MoverKilled', undefined],
  ] as const)('%s: %s', (reason, verdict) => {
    expect(drillVerdictOf(reason)).toBe(verdict);
  });
});

describe('nextDrillStep: the drill command', () => {
  const command = { command: ['fsck', '-n', '/dev/safehold-target'], timeout: '30m' };
  const withCommand = { ...running, command };
  const mover = { scratch: { phase: 'Bound' }, job: finished(read) };

  it('settles the policy command when the drill starts', () => {
    expect(nextDrillStep(observe({}, { command }))).toMatchObject({ kind: 'start', command });
  });
  it('runs the command once the read-back passed, recording what it proved', () => {
    expect(nextDrillStep(observe(withCommand, mover))).toEqual({ kind: 'create-command-job', verified: read.verified });
    const failedReadBack = {
      ...mover,
      job: finished({ ...read, verified: { files: 1, bytes: 1, method: 'restic-verify' as const } }),
    };
    expect(nextDrillStep(observe(withCommand, failedReadBack))).toMatchObject({
      verdict: 'Failed',
      reason: 'CountMismatch',
    });
  });
  it('judges by its exit code, from the status, whether or not the mover Job is still there', () => {
    const recorded = { ...withCommand, verified: read.verified };
    const after = (exitCode: number | undefined, message?: string) =>
      nextDrillStep(
        observe(recorded, {
          scratch: { phase: 'Bound' },
          job: undefined,
          commandJob: { finished: true, exitCode, message },
        }),
      );
    expect(after(0)).toMatchObject({ verdict: 'Passed', reason: 'Verified', commandResult: { exitCode: 0 } });
    expect(after(0)).toHaveProperty('message', expect.stringContaining('fsck -n /dev/safehold-target) exited 0'));
    const bad = after(4, 'e2fsck: Bad magic number in super-block');
    expect(bad).toMatchObject({ verdict: 'Failed', reason: 'CommandFailed', commandResult: { exitCode: 4 } });
    expect(bad).toHaveProperty('message', expect.stringContaining('exited 4: e2fsck: Bad magic number'));
    expect(after(undefined, 'DeadlineExceeded')).toMatchObject({ verdict: undefined, reason: 'MoverFailed' });
    expect(
      nextDrillStep(
        observe(recorded, {
          scratch: { phase: 'Bound' },
          commandJob: { finished: false, exitCode: undefined, message: undefined },
        }),
      ),
    ).toMatchObject({ kind: 'wait', reason: 'CommandRunning' });
  });
});
