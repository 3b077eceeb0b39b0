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
    expect(nextMaintenanceStep(observe())).toEqual({ kind: 'start' });
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

  it('fails with the mover error, the Job failure, or a blocker; and past its deadline', () => {
    const running = { phase: 'Running' as const, startTime: '2026-11-22T02:59:00Z' };
    const error: MoverResult = { type: 'error', code: 'RepositoryLocked', message: 'locked by backup' };
    expect(
      nextMaintenanceStep(observe(running, { job: { finished: true, result: error, failureMessage: undefined } })),
    ).toEqual({ kind: 'fail', reason: 'RepositoryLocked', message: 'locked by backup' });
    expect(
      nextMaintenanceStep(
        observe(running, { job: { finished: true, result: undefined, failureMessage: 'OOMKilled' } }),
      ),
    ).toMatchObject({ kind: 'fail', message: 'OOMKilled' });
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
