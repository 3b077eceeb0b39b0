import { describe, expect, it } from 'vitest';
import type {
  ChosenBackup,
  MoverResult,
  RestoreSummary,
  VolumeRestore,
  VolumeRestoreSpec,
  VolumeRestoreStatus,
} from '../api/index.ts';
import { nextRestoreStep, type RestoreObservation } from './restore-run.ts';

const backup: ChosenBackup = {
  name: 'data-wed',
  namespace: 'team',
  pvc: 'data',
  snapshotId: 'a1b2c3d4e5f6',
  snapshotTime: '2026-11-18T02:00:00Z',
  repository: 'shared',
};
const restored: RestoreSummary = {
  type: 'restored',
  snapshotId: 'a1b2c3d4e5f6',
  filesRestored: 3,
  filesSkipped: 0,
  totalFiles: 4,
  bytesRestored: 30,
  bytesSkipped: 0,
  totalBytes: 30,
  durationSeconds: 1,
};
const bound = { ours: true, phase: 'Bound', mountedBy: [] };

function observe(
  status: VolumeRestoreStatus = {},
  overrides: Partial<RestoreObservation> = {},
  spec: Partial<VolumeRestoreSpec> = {},
): RestoreObservation {
  const restore: VolumeRestore = {
    metadata: { name: 'r1', namespace: 'team' },
    spec: { source: { pvc: 'data' }, target: { pvc: 'restored' }, ...spec },
    status,
  };
  return {
    restore,
    invalid: undefined,
    forbidden: undefined,
    choice: { ok: true, backup },
    repositoryFound: true,
    maintenance: undefined,
    readers: { running: 1, limit: 2 },
    keptSnapshot: false,
    target: undefined,
    alias: undefined,
    job: undefined,
    undo: undefined,
    ...overrides,
  };
}

const existing = { target: { pvc: 'restored', existing: true } };
const running = (method: 'repository' | 'snapshot', extra: VolumeRestoreStatus = {}): VolumeRestoreStatus => ({
  phase: 'Running',
  method,
  backup,
  ...extra,
});

describe('nextRestoreStep before the restore starts', () => {
  it('starts through the repository when no snapshot is kept', () => {
    expect(nextRestoreStep(observe())).toEqual({ kind: 'start', method: 'repository', backup });
    expect(nextRestoreStep(observe({ phase: 'Pending' }))).toEqual({ kind: 'start', method: 'repository', backup });
  });

  // Everything wrong at once, then one problem fixed at a time: the first check left wins.
  const everythingWrong: Partial<RestoreObservation> = {
    invalid: 'spec.target.pvc: required',
    forbidden: 'namespace other does not allow team',
    choice: { ok: false, message: 'other/data has no successful backup' },
    repositoryFound: false,
    maintenance: 'safehold-system/weekly-1',
  };
  it.each([
    ['nothing fixed', {}, 'InvalidSpec', 'spec.target.pvc: required'],
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
    expect(nextRestoreStep(observe({}, { ...everythingWrong, ...fixed }))).toEqual({ kind: 'fail', reason, message });
  });

  it('fails a restore into an existing PVC that does not exist, naming it and the field', () => {
    expect(nextRestoreStep(observe({}, {}, existing))).toEqual({
      kind: 'fail',
      reason: 'TargetNotFound',
      message: 'PVC team/restored does not exist (spec.target.pvc)',
    });
  });

  it('fails a restore into an existing PVC a Pod mounts, unless forced', () => {
    const mounted = { target: { ours: false, phase: 'Bound', mountedBy: ['team/app-0', 'team/app-1'] } };
    expect(nextRestoreStep(observe({}, mounted, existing))).toEqual({
      kind: 'fail',
      reason: 'TargetInUse',
      message:
        'PVC restored is mounted by Pod team/app-0, team/app-1: stop it first, or set spec.target.force to restore under it',
    });
    expect(nextRestoreStep(observe({}, mounted, { target: { pvc: 'restored', existing: true, force: true } }))).toEqual(
      { kind: 'start', method: 'repository', backup },
    );
  });

  it('starts a restore into an existing PVC no Pod mounts', () => {
    expect(nextRestoreStep(observe({}, { target: { ...bound, ours: false } }, existing))).toEqual({
      kind: 'start',
      method: 'repository',
      backup,
    });
  });

  it('refuses to create a PVC that already exists and is not its own', () => {
    const step = nextRestoreStep(observe({}, { target: { ours: false, phase: 'Bound', mountedBy: [] } }));
    expect(step).toEqual({
      kind: 'fail',
      reason: 'TargetExists',
      message:
        'PVC team/restored already exists: name a new PVC in spec.target.pvc, or set spec.target.existing to restore into it',
    });
  });

  it('starts when the new PVC that exists is one it made itself', () => {
    expect(nextRestoreStep(observe({}, { target: bound }))).toEqual({ kind: 'start', method: 'repository', backup });
  });

  it('checks the target before waiting for maintenance', () => {
    const step = nextRestoreStep(observe({}, { maintenance: 'safehold-system/weekly-1' }, existing));
    expect(step).toMatchObject({ kind: 'fail', reason: 'TargetNotFound' });
  });

  it("waits while the repository's maintenance is due or running", () => {
    expect(nextRestoreStep(observe({}, { maintenance: 'safehold-system/weekly-1', keptSnapshot: true }))).toEqual({
      kind: 'wait',
      reason: 'MaintenanceWindow',
      message: "waiting for the repository's maintenance to end (safehold-system/weekly-1)",
      recheckMs: 10_000,
    });
  });

  it('waits for a free slot while the limit of restores and downloads run, and starts once one is free', () => {
    const full = { readers: { running: 2, limit: 2 } };
    expect(nextRestoreStep(observe({}, full))).toMatchObject({
      kind: 'wait',
      reason: 'ConcurrencyLimit',
      message: expect.stringContaining('2 restores and downloads are running') as string,
    });
    // The target and the maintenance come first: a restore that can never run fails without waiting.
    expect(nextRestoreStep(observe({}, full, existing))).toMatchObject({ kind: 'fail', reason: 'TargetNotFound' });
    expect(nextRestoreStep(observe({}, { ...full, maintenance: 'safehold-system/weekly-1' }))).toMatchObject({
      reason: 'MaintenanceWindow',
    });
    expect(nextRestoreStep(observe({}, { readers: { running: 1, limit: 2 } }))).toMatchObject({ kind: 'start' });
  });

  it('is not held by the limit once it runs', () => {
    const started = observe(running('repository'), {
      readers: { running: 5, limit: 2 },
      target: bound,
      alias: { bound: true },
    });
    expect(nextRestoreStep(started)).toEqual({ kind: 'create-job' });
  });

  const otherNs: ChosenBackup = { ...backup, namespace: 'prod' };
  const fromOtherNs: Partial<RestoreObservation> = { keptSnapshot: true, choice: { ok: true, backup: otherNs } };
  it.each<[string, Partial<RestoreObservation>, Partial<VolumeRestoreSpec>, 'snapshot' | 'repository', ChosenBackup]>([
    ['a kept snapshot into a new PVC', { keptSnapshot: true }, {}, 'snapshot', backup],
    ['useSnapshot true and no paths', { keptSnapshot: true }, { useSnapshot: true, paths: [] }, 'snapshot', backup],
    ['no kept snapshot', { keptSnapshot: false }, {}, 'repository', backup],
    ['useSnapshot false', { keptSnapshot: true }, { useSnapshot: false }, 'repository', backup],
    ['an existing target', { keptSnapshot: true, target: { ...bound, ours: false } }, existing, 'repository', backup],
    ['some paths only', { keptSnapshot: true }, { paths: ['/etc'] }, 'repository', backup],
    ["another namespace's backup", fromOtherNs, {}, 'repository', otherNs],
  ])('with %s, starts by the %s method', (_, overrides, spec, method, chosen) => {
    expect(nextRestoreStep(observe({}, overrides, spec))).toEqual({ kind: 'start', method, backup: chosen });
  });
});

describe('nextRestoreStep while running', () => {
  it('creates a new target PVC it has not created yet', () => {
    expect(nextRestoreStep(observe(running('repository')))).toEqual({ kind: 'create-target' });
    expect(nextRestoreStep(observe(running('snapshot')))).toEqual({ kind: 'create-target' });
  });

  it('fails, and does not make it again, when a target it created disappears', () => {
    expect(nextRestoreStep(observe(running('repository', { targetCreated: true })))).toEqual({
      kind: 'fail',
      reason: 'TargetFailed',
      message: 'PVC restored disappeared during the restore',
    });
    expect(nextRestoreStep(observe(running('snapshot', { targetCreated: true })))).toMatchObject({
      kind: 'fail',
      reason: 'TargetFailed',
    });
  });

  it('fails when an existing target disappears', () => {
    expect(nextRestoreStep(observe(running('repository'), {}, existing))).toEqual({
      kind: 'fail',
      reason: 'TargetFailed',
      message: 'PVC restored disappeared during the restore',
    });
  });

  it('fails when the target loses its volume, even a snapshot-made one', () => {
    const lost = { target: { ...bound, phase: 'Lost' } };
    const expected = { kind: 'fail', reason: 'TargetFailed', message: 'PVC restored lost its volume' };
    expect(nextRestoreStep(observe(running('snapshot', { targetCreated: true }), lost))).toEqual(expected);
    expect(
      nextRestoreStep(
        observe(running('repository'), {
          ...lost,
          job: { finished: true, result: restored, failureMessage: undefined },
        }),
      ),
    ).toEqual(expected);
  });

  it.each([['Pending'], [undefined]])('waits for the target to be bound (phase %s)', (phase) => {
    const step = nextRestoreStep(
      observe(running('repository'), { target: { ...bound, phase }, alias: { bound: true } }),
    );
    expect(step).toEqual({
      kind: 'wait',
      reason: 'TargetPending',
      message: 'waiting for PVC restored to be bound',
      recheckMs: 2000,
    });
  });

  it('succeeds without a mover once the PVC made from the kept snapshot is bound', () => {
    expect(nextRestoreStep(observe(running('snapshot', { targetCreated: true }), { target: bound }))).toEqual({
      kind: 'succeed',
      result: undefined,
    });
    expect(
      nextRestoreStep(
        observe(running('snapshot', { targetCreated: true }), { target: { ...bound, phase: 'Pending' } }),
      ),
    ).toMatchObject({ kind: 'wait', reason: 'TargetPending' });
  });

  it('walks alias, nudge, Job in order through the repository', () => {
    const base = running('repository', { targetCreated: true });
    expect(nextRestoreStep(observe(base, { target: bound }))).toEqual({ kind: 'create-alias' });
    expect(nextRestoreStep(observe(base, { target: bound, alias: { bound: false, volumeBound: true } }))).toEqual({
      kind: 'nudge-alias',
    });
    const waiting = {
      kind: 'wait',
      reason: 'TargetPending',
      message: "waiting for the target volume's alias in Safehold's namespace to be bound",
      recheckMs: 2000,
    };
    expect(nextRestoreStep(observe(base, { target: bound, alias: { bound: false } }))).toEqual(waiting);
    expect(nextRestoreStep(observe(base, { target: bound, alias: { bound: false, volumeBound: false } }))).toEqual(
      waiting,
    );
    expect(nextRestoreStep(observe(base, { target: bound, alias: { bound: true } }))).toEqual({ kind: 'create-job' });
  });

  it('treats a running restore without a recorded method as a repository restore', () => {
    expect(nextRestoreStep(observe({ phase: 'Running', backup }, { target: bound }))).toEqual({
      kind: 'create-alias',
    });
  });

  it('restores into an existing PVC (forced under a Pod) through the repository', () => {
    const target = { ours: false, phase: 'Bound', mountedBy: ['team/app-0'] };
    const spec = { target: { pvc: 'restored', existing: true, force: true } };
    expect(nextRestoreStep(observe(running('repository'), { target, alias: { bound: true } }, spec))).toEqual({
      kind: 'create-job',
    });
  });

  it('waits for the mover, then succeeds with what it restored', () => {
    const base = running('repository', { targetCreated: true });
    const at = { target: bound, alias: { bound: true } };
    expect(
      nextRestoreStep(observe(base, { ...at, job: { finished: false, result: undefined, failureMessage: undefined } })),
    ).toEqual({ kind: 'wait', reason: 'MoverRunning', message: 'the mover is restoring the volume', recheckMs: 5000 });
    expect(
      nextRestoreStep(observe(base, { ...at, job: { finished: true, result: restored, failureMessage: undefined } })),
    ).toEqual({ kind: 'succeed', result: restored });
  });

  it('reads the Job before the alias: an outcome counts even once the alias is gone', () => {
    const job = { finished: true, result: restored, failureMessage: undefined };
    expect(nextRestoreStep(observe(running('repository'), { target: bound, job }))).toEqual({
      kind: 'succeed',
      result: restored,
    });
  });

  const downloaded: MoverResult = {
    type: 'downloaded',
    snapshotId: 'a1',
    what: 'file',
    bytes: 1,
    durationSeconds: 1,
  };
  it.each<[string, MoverResult | undefined, string | undefined, string, string]>([
    [
      'a mover error',
      { type: 'error', code: 'RepositoryUnreachable', message: 'no route to host' },
      undefined,
      'RepositoryUnreachable',
      'no route to host',
    ],
    ['a Job failure without a result', undefined, 'Error', 'MoverFailed', 'Error'],
    ['nothing at all', undefined, undefined, 'MoverFailed', 'the mover ended without a result'],
    [
      'a result of the wrong kind',
      downloaded,
      undefined,
      'MoverFailed',
      'the mover returned a downloaded result, not the one its task asks for',
    ],
  ])('fails with the real reason on %s', (_, result, failureMessage, reason, message) => {
    const job = { finished: true, result, failureMessage };
    expect(nextRestoreStep(observe(running('repository'), { target: bound, alias: { bound: true }, job }))).toEqual({
      kind: 'fail',
      reason,
      message,
    });
  });
});

describe('nextRestoreStep once over', () => {
  it.each([['Succeeded' as const], ['Failed' as const]])('cleans up a %s restore, whatever it observes', (phase) => {
    expect(nextRestoreStep(observe({ phase, targetCreated: true }, { invalid: 'x', forbidden: 'y' }))).toEqual({
      kind: 'clean-up',
    });
    expect(nextRestoreStep(observe({ phase }, { target: bound, alias: { bound: true } }))).toEqual({
      kind: 'clean-up',
    });
  });
});

describe("a block volume's backup", () => {
  const image = { ...backup, image: 'disk.qcow2' };
  it('is restored whole: paths are refused, naming the field', () => {
    const step = nextRestoreStep(observe({}, { choice: { ok: true, backup: image } }, { paths: ['/etc'] }));
    expect(step).toMatchObject({ kind: 'fail', reason: 'InvalidSpec' });
    expect(step.kind === 'fail' ? step.message : '').toContain('spec.paths');
  });
  it('starts like any other restore', () => {
    expect(nextRestoreStep(observe({}, { choice: { ok: true, backup: image } }))).toMatchObject({
      kind: 'start',
      method: 'repository',
    });
  });
});

describe('the undo snapshot of an existing target', () => {
  const target = { ours: false, phase: 'Bound', mountedBy: [] };
  const at = { target, alias: { bound: true } };
  const name = 'r1-undo-0a1b2c3d';
  const snapshot = (ready: boolean, error?: string) => ({
    kind: 'snapshot' as const,
    name,
    snapshot: { ready, error },
  });

  it('takes it, waits until it is ready, records it, and only then lets the mover write', () => {
    const none = { kind: 'snapshot' as const, name, snapshot: undefined };
    expect(nextRestoreStep(observe(running('repository'), { ...at, undo: none }, existing))).toEqual({
      kind: 'create-undo-snapshot',
      name,
    });
    expect(nextRestoreStep(observe(running('repository'), { ...at, undo: snapshot(false) }, existing))).toEqual({
      kind: 'wait',
      reason: 'UndoSnapshotPending',
      message: `waiting for the undo snapshot ${name} of PVC restored to be ready before writing into it`,
      recheckMs: 2000,
    });
    expect(nextRestoreStep(observe(running('repository'), { ...at, undo: snapshot(true) }, existing))).toEqual({
      kind: 'record-undo',
      undo: { kind: 'taken', name },
    });
    const recorded = running('repository', { undoSnapshot: { name, expiresAt: '2026-12-04T00:00:00Z' } });
    expect(nextRestoreStep(observe(recorded, { ...at, undo: snapshot(true) }, existing))).toEqual({
      kind: 'create-job',
    });
  });

  it('takes it before the target is exposed to the mover', () => {
    const none = { kind: 'snapshot' as const, name, snapshot: undefined };
    expect(nextRestoreStep(observe(running('repository'), { target, undo: none }, existing))).toEqual({
      kind: 'create-undo-snapshot',
      name,
    });
  });

  it('fails, having written nothing, when the snapshot fails, saying how to restore without one', () => {
    const step = nextRestoreStep(
      observe(running('repository'), { ...at, undo: snapshot(false, 'no space') }, existing),
    );
    expect(step).toMatchObject({ kind: 'fail', reason: 'UndoSnapshotFailed' });
    expect(step.kind === 'fail' ? step.message : '').toContain('no space');
    expect(step.kind === 'fail' ? step.message : '').toContain('spec.target.keepUndoSnapshot');
  });

  it('fails when the recorded snapshot vanishes before the mover starts', () => {
    const recorded = running('repository', { undoSnapshot: { name } });
    const gone = { kind: 'snapshot' as const, name, snapshot: undefined };
    expect(nextRestoreStep(observe(recorded, { ...at, undo: gone }, existing))).toMatchObject({
      kind: 'fail',
      reason: 'UndoSnapshotFailed',
    });
  });

  it('records plainly why there is none (no snapshot class, or turned off), then restores', () => {
    const why = 'no VolumeSnapshotClass for CSI driver hostpath.csi.k8s.io';
    const undo = { kind: 'none' as const, why };
    expect(nextRestoreStep(observe(running('repository'), { ...at, undo }, existing))).toEqual({
      kind: 'record-undo',
      undo: { kind: 'none', why },
    });
    const recorded = running('repository', { undoSnapshot: { none: why } });
    expect(nextRestoreStep(observe(recorded, { ...at, undo }, existing))).toEqual({ kind: 'create-job' });
  });

  it("waits while the target's volume is not seen yet, rather than deciding there is no snapshot class", () => {
    expect(
      nextRestoreStep(observe(running('repository'), { ...at, undo: { kind: 'unknown' } }, existing)),
    ).toMatchObject({
      kind: 'wait',
      reason: 'TargetPending',
    });
  });

  it('no longer looks at the snapshot once the mover runs', () => {
    const job = { finished: false, result: undefined, failureMessage: undefined };
    const gone = { kind: 'snapshot' as const, name, snapshot: undefined };
    const recorded = running('repository', { undoSnapshot: { name } });
    expect(nextRestoreStep(observe(recorded, { ...at, job, undo: gone }, existing))).toMatchObject({
      kind: 'wait',
      reason: 'MoverRunning',
    });
  });
});
