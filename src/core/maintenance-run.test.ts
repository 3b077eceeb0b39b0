import { describe, expect, it } from 'vitest';
import type { MoverResult, RepositoryMaintenance, RepositoryMaintenanceStatus } from '../api/index.ts';
import { nextMaintenanceStep, type MaintenanceObservation } from './maintenance-run.ts';

const now = new Date('2026-11-22T03:00:00Z');
const summary: MoverResult = {
  type: 'maintenance',
  forgotten: 3,
  alreadyGone: 0,
  prune: { bytesFreed: 1024, message: 'ok' },
  snapshots: 4,
  durationSeconds: 2,
};
function observe(status: RepositoryMaintenanceStatus = {}, overrides: Partial<MaintenanceObservation> = {}) {
  const maintenance: RepositoryMaintenance = {
    metadata: { name: 'm', namespace: 'safehold-system' },
    spec: { repository: 'r', tenant: '', forget: true, prune: true, trigger: 'manual' },
    status,
  };
  return {
    now,
    maintenance,
    blocker: undefined,
    backupsActive: undefined,
    otherMaintenance: undefined,
    job: undefined,
    ...overrides,
  };
}

describe('nextMaintenanceStep', () => {
  it('waits while a backup writes to the repository, then starts', () => {
    expect(nextMaintenanceStep(observe({}, { backupsActive: 'team/data-1' }))).toMatchObject({
      kind: 'wait',
      reason: 'BackupsRunning',
    });
    expect(nextMaintenanceStep(observe())).toEqual({ kind: 'start', attempt: 1 });
  });

  it('waits for another maintenance of the same repository first: restic prunes under an exclusive lock', () => {
    expect(nextMaintenanceStep(observe({}, { otherMaintenance: 'safehold-system/check-1' }))).toMatchObject({
      kind: 'wait',
      reason: 'OtherMaintenance',
    });
  });

  it('creates its Job once running, waits for it, and records the summary', () => {
    const running = { phase: 'Running' as const, startTime: '2026-11-22T02:59:00Z' };
    expect(nextMaintenanceStep(observe(running))).toEqual({ kind: 'create-job' });
    const job = { finished: false, result: undefined, failureMessage: undefined };
    expect(nextMaintenanceStep(observe(running, { job }))).toMatchObject({ kind: 'wait', reason: 'MoverRunning' });
    expect(nextMaintenanceStep(observe(running, { job: { ...job, finished: true, result: summary } }))).toEqual({
      kind: 'succeed',
      result: summary,
    });
  });

  it('retries a failed mover with growing delays, then gives up at the retry limit or the deadline', () => {
    const error: MoverResult = { type: 'error', code: 'RepositoryLocked', message: 'locked by backup' };
    const job = { finished: true, result: error, failureMessage: undefined };
    const running = (attempt: number) => ({ phase: 'Running' as const, startTime: '2026-11-22T02:59:00Z', attempt });
    expect(nextMaintenanceStep(observe(running(1), { job }))).toEqual({
      kind: 'retry',
      attempt: 1,
      at: new Date(now.getTime() + 30_000),
      message: 'attempt 1 failed: RepositoryLocked: locked by backup; retrying at 2026-11-22T03:00:30.000Z',
    });
    expect(nextMaintenanceStep(observe(running(3), { job }))).toMatchObject({
      kind: 'retry',
      at: new Date(now.getTime() + 120_000),
    });
    // A Job that failed without a result (OOMKilled, evicted) is retried too.
    expect(
      nextMaintenanceStep(
        observe(running(1), { job: { finished: true, result: undefined, failureMessage: 'OOMKilled' } }),
      ),
    ).toMatchObject({ kind: 'retry', message: expect.stringContaining('OOMKilled') as unknown });
    // The default retry settings: 6 retries after the first attempt.
    expect(nextMaintenanceStep(observe(running(7), { job }))).toEqual({
      kind: 'fail',
      reason: 'RepositoryLocked',
      message: 'locked by backup (gave up after 7 attempts, retry.limit 6)',
    });
    // No retry starts after the deadline (4 h from the run's creation).
    const old = observe(running(2), { job });
    old.maintenance.metadata.creationTimestamp = '2026-11-21T23:00:30Z';
    expect(nextMaintenanceStep(old)).toMatchObject({ kind: 'fail', reason: 'RepositoryLocked' });
  });

  it('waits for its retry time without starting, then starts the next attempt', () => {
    const waiting = {
      phase: 'Pending' as const,
      reason: 'RetryScheduled' as const,
      message: 'attempt 1 failed: locked',
      attempt: 1,
      nextAttemptTime: '2026-11-22T03:00:30Z',
    };
    expect(nextMaintenanceStep(observe(waiting))).toEqual({
      kind: 'wait',
      reason: 'RetryScheduled',
      message: 'attempt 1 failed: locked',
      recheckMs: 30_000,
    });
    const due = { ...waiting, nextAttemptTime: '2026-11-22T02:59:59Z' };
    expect(nextMaintenanceStep(observe(due))).toEqual({ kind: 'start', attempt: 2 });
    // When its time comes, it waits for backups like any pending maintenance.
    expect(nextMaintenanceStep(observe(due, { backupsActive: 'team/data-1' }))).toMatchObject({
      reason: 'BackupsRunning',
    });
  });

  it('fails at once where retrying cannot help: a blocker, its own deadline', () => {
    expect(
      nextMaintenanceStep(observe({}, { blocker: { reason: 'RepositoryNotFound', message: 'no such repository' } })),
    ).toMatchObject({ kind: 'fail', reason: 'RepositoryNotFound' });
    expect(nextMaintenanceStep(observe({ phase: 'Running', startTime: '2026-11-21T14:00:00Z' }))).toMatchObject({
      kind: 'fail',
      reason: 'DeadlineExceeded',
    });
  });

  it('cleans up once finished', () => {
    expect(nextMaintenanceStep(observe({ phase: 'Succeeded' }))).toEqual({ kind: 'clean-up' });
    expect(nextMaintenanceStep(observe({ phase: 'Failed' }))).toEqual({ kind: 'clean-up' });
  });
});
