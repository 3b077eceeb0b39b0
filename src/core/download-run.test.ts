import { describe, expect, it } from 'vitest';
import type { BackupDownload, BackupDownloadStatus, ChosenBackup, DownloadSummary, MoverResult } from '../api/index.ts';
import { nextDownloadStep, type DownloadObservation } from './download-run.ts';

const now = new Date('2026-11-22T10:00:00Z');
const backup: ChosenBackup = {
  name: 'data-wed',
  namespace: 'team',
  pvc: 'data',
  snapshotId: 'a1b2c3d4e5f6',
  snapshotTime: '2026-11-18T02:00:00Z',
  repository: 'shared',
};
const listing: DownloadSummary = {
  type: 'downloaded',
  snapshotId: 'a1b2c3d4e5f6',
  what: 'listing',
  bytes: 512,
  entries: 4,
  durationSeconds: 1,
};

function observe(status: BackupDownloadStatus = {}, overrides: Partial<DownloadObservation> = {}): DownloadObservation {
  const download: BackupDownload = {
    metadata: { name: 'd1', namespace: 'team' },
    spec: { source: { pvc: 'data' } },
    status,
  };
  return {
    now,
    download,
    invalid: undefined,
    forbidden: undefined,
    choice: { ok: true, backup },
    repositoryFound: true,
    maintenance: undefined,
    readers: { running: 0, limit: 1 },
    job: undefined,
    ...overrides,
  };
}

describe('nextDownloadStep', () => {
  it('starts a pending download with the backup it settled on', () => {
    expect(nextDownloadStep(observe())).toEqual({ kind: 'start', backup });
    expect(nextDownloadStep(observe({ phase: 'Pending' }))).toEqual({ kind: 'start', backup });
  });

  // Everything wrong at once, then one problem fixed at a time: the first check left wins.
  const everythingWrong: Partial<DownloadObservation> = {
    invalid: 'spec.depth: too big',
    forbidden: 'namespace other does not allow team',
    choice: { ok: false, message: 'other/data has no successful backup' },
    repositoryFound: false,
    maintenance: 'safehold-system/weekly-1',
  };
  it.each([
    ['nothing fixed', {}, 'InvalidSpec', 'spec.depth: too big'],
    ['the spec fixed', { invalid: undefined }, 'Forbidden', 'namespace other does not allow team'],
    [
      'the spec and permission fixed',
      { invalid: undefined, forbidden: undefined },
      'BackupNotFound',
      'other/data has no successful backup',
    ],
    [
      'a backup found',
      { invalid: undefined, forbidden: undefined, choice: { ok: true as const, backup } },
      'RepositoryNotFound',
      'BackupRepository shared of backup data-wed does not exist or is invalid',
    ],
  ])('fails on the first problem found (%s)', (_, fixed, reason, message) => {
    expect(nextDownloadStep(observe({}, { ...everythingWrong, ...fixed }))).toEqual({ kind: 'fail', reason, message });
  });

  it("waits while the repository's maintenance is due or running", () => {
    expect(nextDownloadStep(observe({}, { maintenance: 'safehold-system/weekly-1' }))).toEqual({
      kind: 'wait',
      reason: 'MaintenanceWindow',
      message: "waiting for the repository's maintenance to end (safehold-system/weekly-1)",
      recheckMs: 10_000,
    });
  });

  it('waits for a free slot while the limit of restores and downloads run', () => {
    expect(nextDownloadStep(observe({}, { readers: { running: 1, limit: 1 } }))).toMatchObject({
      kind: 'wait',
      reason: 'ConcurrencyLimit',
    });
    expect(nextDownloadStep(observe({ phase: 'Running', backup }, { readers: { running: 3, limit: 1 } }))).toEqual({
      kind: 'create-job',
    });
  });

  it('creates its Job once running, waits for it, and succeeds with the upload summary', () => {
    const running: BackupDownloadStatus = { phase: 'Running', backup };
    expect(nextDownloadStep(observe(running))).toEqual({ kind: 'create-job' });
    expect(
      nextDownloadStep(observe(running, { job: { finished: false, result: undefined, failureMessage: undefined } })),
    ).toEqual({ kind: 'wait', reason: 'MoverRunning', message: 'the mover is reading the backup', recheckMs: 2000 });
    expect(
      nextDownloadStep(observe(running, { job: { finished: true, result: listing, failureMessage: undefined } })),
    ).toEqual({ kind: 'succeed', result: listing });
  });

  it('does not re-check the spec or the backup once running', () => {
    const step = nextDownloadStep(
      observe({ phase: 'Running' }, { invalid: 'x', forbidden: 'y', choice: { ok: false, message: 'z' } }),
    );
    expect(step).toEqual({ kind: 'create-job' });
  });

  const restored: MoverResult = {
    type: 'restored',
    snapshotId: 'a1',
    filesRestored: 1,
    filesSkipped: 0,
    totalFiles: 1,
    bytesRestored: 1,
    bytesSkipped: 0,
    totalBytes: 1,
    durationSeconds: 1,
  };
  it.each<[string, MoverResult | undefined, string | undefined, string, string]>([
    [
      'a mover error',
      { type: 'error', code: 'PathNotFound', message: '/etc/app.conf is not in the backup' },
      undefined,
      'PathNotFound',
      '/etc/app.conf is not in the backup',
    ],
    ['a Job failure without a result', undefined, 'DeadlineExceeded', 'MoverFailed', 'DeadlineExceeded'],
    ['nothing at all', undefined, undefined, 'MoverFailed', 'the mover ended without a result'],
    [
      'a result of the wrong kind',
      restored,
      undefined,
      'MoverFailed',
      'the mover returned a restored result, not the one its task asks for',
    ],
  ])('fails with the real reason on %s', (_, result, failureMessage, reason, message) => {
    const job = { finished: true, result, failureMessage };
    expect(nextDownloadStep(observe({ phase: 'Running' }, { job }))).toEqual({
      kind: 'fail',
      reason,
      message,
    });
  });

  it('once succeeded, is done until it expires, and asks to be looked at again then', () => {
    expect(nextDownloadStep(observe({ phase: 'Succeeded', expiresAt: '2026-11-22T11:00:00Z' }))).toEqual({
      kind: 'done',
      recheckMs: 3_600_000,
    });
    expect(nextDownloadStep(observe({ phase: 'Succeeded', expiresAt: '2026-11-22T10:00:01Z' }))).toEqual({
      kind: 'done',
      recheckMs: 1000,
    });
  });

  it.each([
    ['at its expiry time', '2026-11-22T10:00:00Z'],
    ['after it', '2026-11-22T09:59:59Z'],
    ['with no expiry recorded', undefined],
    ['with an expiry that is not a time', 'soon'],
  ])('expires a succeeded download %s', (_, expiresAt) => {
    expect(
      nextDownloadStep(observe({ phase: 'Succeeded', ...(expiresAt === undefined ? {} : { expiresAt }) })),
    ).toEqual({
      kind: 'expire',
    });
  });

  it.each([['Failed' as const], ['Expired' as const]])(
    'keeps a %s one a day after it ended, then removes it',
    (phase) => {
      const ended = { completionTime: '2026-11-22T09:00:00Z', expiresAt: '2026-11-22T09:30:00Z' };
      expect(nextDownloadStep(observe({ phase, ...ended }, { invalid: 'x', repositoryFound: false }))).toEqual({
        kind: 'done',
        recheckMs: 23.5 * 3600_000,
      });
      expect(
        nextDownloadStep(observe({ phase, completionTime: '2026-11-21T09:59:59Z' }, { repositoryFound: false })),
      ).toEqual({ kind: 'remove' });
      expect(nextDownloadStep(observe({ phase }))).toEqual({ kind: 'done', recheckMs: undefined });
    },
  );
});
