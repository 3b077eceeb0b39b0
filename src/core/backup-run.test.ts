import { describe, expect, it } from 'vitest';
import {
  backupPolicySpec,
  type BackupPolicy,
  type HookRecord,
  type VolumeBackup,
  type VolumeBackupStatus,
} from '../api/index.ts';
import { nextRunStep, type RunObservation } from './backup-run.ts';
import { retryDelayMs } from './run-retry.ts';

const now = new Date('2026-11-22T10:00:00Z');
const policy: BackupPolicy = { metadata: { name: 'p' }, spec: backupPolicySpec.parse({ default: true }) };
const summary = {
  type: 'summary' as const,
  snapshotId: 'abc',
  filesNew: 1,
  filesChanged: 0,
  filesUnmodified: 0,
  dirsNew: 1,
  dirsChanged: 0,
  bytesAdded: 10,
  bytesProcessed: 10,
  filesProcessed: 1,
  durationSeconds: 1,
};

function observe(status: VolumeBackupStatus = {}, overrides: Partial<RunObservation> = {}): RunObservation {
  const backup: VolumeBackup = {
    metadata: { name: 'data-1', namespace: 'team', creationTimestamp: '2026-11-22T09:30:00Z' },
    spec: { pvc: 'data', trigger: 'manual' },
    status,
  };
  return {
    now,
    backup,
    policy,
    blocker: undefined,
    waitingFor: undefined,
    method: 'snapshot',
    node: undefined,
    driver: 'dir.csi.safehold.test',
    block: false,
    volumeBusy: false,
    slotFree: true,
    maintenance: undefined,
    repositoryBeingCreated: undefined,
    exposure: { snapshot: undefined, clone: undefined, alias: undefined },
    job: undefined,
    hookPlan: { hooks: [] },
    workloadBusy: undefined,
    groupPlan: [],
    groupSnapshotClass: undefined,
    groupSnapshot: undefined,
    groupClaimsLabelled: false,
    group: [],
    memberOf: undefined,
    ...overrides,
  };
}

describe('nextRunStep', () => {
  it('starts a pending run with the first attempt', () => {
    expect(nextRunStep(observe())).toEqual({
      kind: 'start',
      method: 'snapshot',
      attempt: 1,
      node: undefined,
      hooks: [],
      group: [],
    });
    // A live run is admitted on the node its volume is attached to: per-node limits count it from now.
    expect(nextRunStep(observe({}, { method: 'live', node: 'node-2' }))).toEqual({
      kind: 'start',
      method: 'live',
      attempt: 1,
      node: 'node-2',
      hooks: [],
      group: [],
    });
  });

  it('waits while another run of the volume is active, or no mover slot is free', () => {
    expect(nextRunStep(observe({}, { volumeBusy: true }))).toMatchObject({ kind: 'wait', reason: 'VolumeBusy' });
    expect(nextRunStep(observe({}, { slotFree: false }))).toMatchObject({ kind: 'wait', reason: 'ConcurrencyLimit' });
  });

  it('lets only one run create a new repository: restic cannot create it from two places at once', () => {
    const step = nextRunStep(observe({}, { repositoryBeingCreated: 'team/data-0' }));
    expect(step).toMatchObject({ kind: 'wait', reason: 'ConcurrencyLimit' });
    expect(step.kind === 'wait' ? step.message : '').toContain('team/data-0 to create the repository');
  });

  it("waits while the repository's maintenance is due or running, never starting a write during a prune", () => {
    const step = nextRunStep(observe({}, { maintenance: 'safehold-system/weekly-1' }));
    expect(step).toMatchObject({ kind: 'wait', reason: 'MaintenanceWindow' });
    expect(step.kind === 'wait' ? step.message : '').toContain('safehold-system/weekly-1');
  });

  it('walks snapshot, clone, alias, Job in order', () => {
    const running: VolumeBackupStatus = { phase: 'Snapshotting', method: 'snapshot', attempt: 1 };
    const exposed = (exposure: Partial<RunObservation['exposure']>) =>
      nextRunStep(
        observe(running, { exposure: { snapshot: undefined, clone: undefined, alias: undefined, ...exposure } }),
      );
    const ready = { ready: true, error: undefined };
    expect(exposed({})).toEqual({ kind: 'create-snapshot' });
    expect(exposed({ snapshot: { ready: false, error: undefined } })).toMatchObject({
      kind: 'wait',
      reason: 'SnapshotPending',
      message: 'waiting for the VolumeSnapshot to be ready',
    });
    expect(exposed({ snapshot: ready })).toEqual({ kind: 'create-clone' });
    expect(exposed({ snapshot: ready, clone: { bound: false } })).toMatchObject({
      kind: 'wait',
      reason: 'SnapshotPending',
    });
    expect(exposed({ snapshot: ready, clone: { bound: true } })).toEqual({ kind: 'create-alias' });
    expect(exposed({ snapshot: ready, clone: { bound: true }, alias: { bound: false } })).toMatchObject({
      kind: 'wait',
      reason: 'MoverRunning',
    });
    expect(exposed({ snapshot: ready, clone: { bound: true }, alias: { bound: false, volumeBound: true } })).toEqual({
      kind: 'nudge-alias',
    });
    expect(exposed({ snapshot: ready, clone: { bound: true }, alias: { bound: true } })).toMatchObject({
      kind: 'create-job',
      snapshotTime: '2026-11-22T10:00:00Z',
    });
  });

  describe('how a file backup tells changed files', () => {
    const exposedWith = (overrides: Partial<RunObservation>) =>
      nextRunStep(
        observe(
          { phase: 'Running', method: 'snapshot', attempt: 1 },
          {
            exposure: { snapshot: { ready: true, error: undefined }, clone: { bound: true }, alias: { bound: true } },
            ...overrides,
          },
        ),
      );

    it("uses restic's full check by default, on a copying clone too, saying why", () => {
      const step = exposedWith({});
      expect(step).toMatchObject({ kind: 'create-job', changeDetection: { mode: 'full' } });
      expect(step.kind === 'create-job' ? step.changeDetection?.reason : '').toContain('may be a copy');
    });

    it('uses size and mtime only where the policy opts in, saying what it can miss', () => {
      const cheap: BackupPolicy = {
        metadata: { name: 'cheap' },
        spec: backupPolicySpec.parse({ default: true, changeDetection: 'mtime-size' }),
      };
      const step = exposedWith({ policy: cheap });
      expect(step).toMatchObject({ kind: 'create-job', changeDetection: { mode: 'mtime-size' } });
      expect(step.kind === 'create-job' ? step.changeDetection?.reason : '').toContain(
        'rewritten in place with the same size and mtime keeps its old content',
      );
    });

    it('says nothing of it for a block volume, backed up as an image', () => {
      expect(exposedWith({ block: true })).toMatchObject({ kind: 'create-job', changeDetection: undefined });
    });
  });

  describe('the time a backup says its data is from', () => {
    const exposedAt = (status: VolumeBackupStatus, snapshotCreationTime: string | undefined, method = status.method) =>
      nextRunStep(
        observe(status, {
          method: method ?? 'snapshot',
          exposure: {
            snapshot: { ready: true, error: undefined, creationTime: snapshotCreationTime },
            clone: { bound: true },
            alias: { bound: true },
          },
        }),
      );

    it("is the snapshot's creation, also when a retry hours later reuses the snapshot", () => {
      const retry: VolumeBackupStatus = { phase: 'Snapshotting', method: 'snapshot', attempt: 3 };
      expect(exposedAt(retry, '2026-11-22T07:15:00.123Z')).toMatchObject({
        kind: 'create-job',
        snapshotTime: '2026-11-22T07:15:00Z',
      });
    });

    it("is the copy's start for a live run, kept for the attempt once recorded", () => {
      const live: VolumeBackupStatus = { phase: 'Running', method: 'live', attempt: 1 };
      expect(exposedAt(live, undefined)).toMatchObject({ kind: 'create-job', snapshotTime: '2026-11-22T10:00:00Z' });
      expect(exposedAt({ ...live, snapshotTime: '2026-11-22T09:59:58Z' }, undefined)).toMatchObject({
        kind: 'create-job',
        snapshotTime: '2026-11-22T09:59:58Z',
      });
    });
  });

  it('retries a run whose snapshot failed, discarding the snapshot', () => {
    const running: VolumeBackupStatus = { phase: 'Snapshotting', method: 'snapshot', attempt: 1 };
    const failed = { snapshot: { ready: false, error: 'source PVC gone' }, clone: undefined, alias: undefined };
    expect(nextRunStep(observe(running, { exposure: failed }))).toMatchObject({
      kind: 'retry',
      reason: 'SnapshotFailed',
      attempt: 1,
      discardSnapshot: true,
    });
  });

  it('retries a run whose volume was deleted before its snapshot was ready, discarding the snapshot', () => {
    const running: VolumeBackupStatus = { phase: 'Snapshotting', method: 'snapshot', attempt: 1 };
    const gone = { blocker: { reason: 'ClaimNotFound' as const, message: 'PVC team/data does not exist' } };
    const pending = { snapshot: { ready: false, error: undefined }, clone: undefined, alias: undefined };
    expect(nextRunStep(observe(running, { ...gone, exposure: pending }))).toMatchObject({
      kind: 'retry',
      reason: 'ClaimNotFound',
      attempt: 1,
      clearAttempt: true,
      discardSnapshot: true,
    });
    // Once the snapshot holds the data, the volume's deletion does not matter to this backup.
    const taken = { snapshot: { ready: true, error: undefined }, clone: undefined, alias: undefined };
    expect(nextRunStep(observe(running, { ...gone, exposure: taken }))).toEqual({ kind: 'create-clone' });
  });

  it('records the blocked check that ended a run as its last attempt', () => {
    const limited: BackupPolicy = {
      metadata: { name: 'p' },
      spec: backupPolicySpec.parse({ default: true, retry: { limit: 1 } }),
    };
    const missing = { blocker: { reason: 'RepositoryNotFound' as const, message: 'no repository' } };
    expect(nextRunStep(observe({ phase: 'Pending', attempt: 1 }, { ...missing, policy: limited }))).toMatchObject({
      kind: 'fail',
      attempt: 2,
    });
  });

  it('goes straight to the alias and the Job for a live run', () => {
    const live: VolumeBackupStatus = { phase: 'Running', method: 'live', attempt: 1 };
    const none = { snapshot: undefined, clone: undefined };
    expect(nextRunStep(observe(live, { method: 'live' }))).toEqual({ kind: 'create-alias' });
    expect(nextRunStep(observe(live, { method: 'live', exposure: { ...none, alias: { bound: true } } }))).toMatchObject(
      {
        kind: 'create-job',
        snapshotTime: '2026-11-22T10:00:00Z',
      },
    );
  });

  it('succeeds with the summary the mover left', () => {
    const job = { finished: true, result: summary, failureMessage: undefined };
    expect(nextRunStep(observe({ phase: 'Running', method: 'live', attempt: 1 }, { job }))).toEqual({
      kind: 'succeed',
      result: summary,
    });
  });

  it('retries a failed mover with backoff, then gives up after the policy limit', () => {
    const job = {
      finished: true,
      result: { type: 'error' as const, code: 'RepositoryUnreachable' as const, message: 'down' },
      failureMessage: undefined,
    };
    const step = nextRunStep(observe({ phase: 'Running', method: 'live', attempt: 2 }, { job }));
    expect(step).toMatchObject({ kind: 'retry', reason: 'RepositoryUnreachable', message: 'down' });
    if (step.kind === 'retry') expect(step.at.getTime() - now.getTime()).toBe(retryDelayMs(2));
    expect(nextRunStep(observe({ phase: 'Running', method: 'live', attempt: 7 }, { job }))).toMatchObject({
      kind: 'fail',
      reason: 'RepositoryUnreachable',
    });
  });

  describe('hooks', () => {
    const hook = (stage: 'pre' | 'post', rest: Partial<HookRecord> = {}): HookRecord => ({
      stage,
      source: 'policy',
      pod: 'db-0',
      container: 'db',
      command: [stage],
      timeoutSeconds: 30,
      onError: 'Fail',
      ...rest,
    });
    const ok = { startTime: 't', outcome: 'Succeeded' as const, exitCode: 0 };
    const snapshotting = (hooks: HookRecord[]): VolumeBackupStatus => ({
      phase: 'Snapshotting',
      method: 'snapshot',
      attempt: 1,
      hooks,
    });

    it('plans them when the attempt starts, and refuses one declared wrongly, naming it', () => {
      expect(nextRunStep(observe({}, { hookPlan: { hooks: [hook('pre')] } }))).toMatchObject({
        kind: 'start',
        hooks: [hook('pre')],
      });
      expect(nextRunStep(observe({}, { hookPlan: { error: 'Pod db-0: annotation x: bad' } }))).toEqual({
        kind: 'fail',
        reason: 'InvalidSpec',
        message: 'Pod db-0: annotation x: bad',
      });
    });

    it("captures the workload's other volumes between its hooks: their backups, their snapshots, then its own", () => {
      const member = { pvc: 'wal', backup: 'data-1-wal' };
      expect(nextRunStep(observe({}, { hookPlan: { hooks: [hook('pre')] }, groupPlan: [member] }))).toMatchObject({
        kind: 'start',
        group: [member],
      });
      // A live run captures one volume only: no group.
      expect(
        nextRunStep(observe({}, { method: 'live', hookPlan: { hooks: [hook('pre')] }, groupPlan: [member] })),
      ).toMatchObject({ kind: 'start', group: [] });
      const taken = { ready: false, error: undefined, creationTime: '2026-11-22T09:31:00Z' };
      const status = { ...snapshotting([hook('pre', ok), hook('post')]), group: [member] };
      const at = (group: RunObservation['group'], snapshot?: typeof taken) =>
        nextRunStep(observe(status, { group, exposure: { snapshot, clone: undefined, alias: undefined } }));
      expect(at([{ ...member, exists: false, snapshot: undefined }])).toEqual({
        kind: 'create-member-backup',
        index: 0,
      });
      expect(at([{ ...member, exists: true, snapshot: undefined }])).toEqual({
        kind: 'create-member-snapshot',
        index: 0,
      });
      expect(at([{ ...member, exists: true, snapshot: taken }])).toEqual({ kind: 'create-snapshot' });
      // The post hook waits for every snapshot of the group.
      expect(at([{ ...member, exists: true, snapshot: { ready: false, error: undefined } }], taken)).toMatchObject({
        kind: 'wait',
      });
      expect(at([{ ...member, exists: true, snapshot: taken }], taken)).toEqual({ kind: 'run-hook', index: 1 });
    });

    it('takes the group in one VolumeGroupSnapshot where the driver offers one, hooks or not', () => {
      const member = { pvc: 'wal', backup: 'data-1-wal' };
      const offered = { groupPlan: [member], groupSnapshotClass: 'rbd-group' };
      // Without hooks, only a group snapshot makes a group; with one, the run names it after itself.
      expect(nextRunStep(observe({}, offered))).toMatchObject({
        kind: 'start',
        group: [member],
        groupSnapshot: { name: 'data-1', class: 'rbd-group' },
      });
      expect(nextRunStep(observe({}, { groupPlan: [member] }))).toMatchObject({ kind: 'start', group: [] });
      expect(nextRunStep(observe({}, { ...offered, method: 'live' }))).toMatchObject({
        kind: 'start',
        group: [],
        groupSnapshot: undefined,
      });
      const status: VolumeBackupStatus = {
        ...snapshotting([hook('pre', ok), hook('post')]),
        group: [member],
        groupSnapshot: { name: 'data-1', class: 'rbd-group' },
      };
      const taken = { ready: true, error: undefined, creationTime: '2026-11-22T09:31:00Z' };
      const at = (o: Partial<RunObservation>) =>
        nextRunStep(observe(status, { group: [{ ...member, exists: true, snapshot: undefined }], ...o }));
      // The member's backup first; never a snapshot of its own.
      expect(at({ group: [{ ...member, exists: false, snapshot: undefined }] })).toEqual({
        kind: 'create-member-backup',
        index: 0,
      });
      expect(at({})).toEqual({ kind: 'label-group-claims' });
      expect(at({ groupClaimsLabelled: true })).toEqual({ kind: 'create-group-snapshot' });
      expect(at({ groupSnapshot: { ready: false, error: undefined, deleting: false } })).toMatchObject({
        kind: 'wait',
        reason: 'SnapshotPending',
        message: 'waiting for the VolumeGroupSnapshot data-1 to be ready',
      });
      expect(
        at({ groupSnapshot: { ready: false, error: 'PV pv-1 is not on driver x', deleting: false } }),
      ).toMatchObject({
        kind: 'retry',
        reason: 'SnapshotFailed',
        message: 'VolumeGroupSnapshot data-1: PV pv-1 is not on driver x',
      });
      expect(at({ groupSnapshot: { ready: false, error: undefined, deleting: true } })).toMatchObject({
        kind: 'wait',
        message: 'waiting for the old VolumeGroupSnapshot data-1 to go',
      });
      const ready = { groupSnapshot: { ready: true, error: undefined, deleting: false } };
      expect(at(ready)).toEqual({ kind: 'adopt-group-snapshot' });
      // Adopted by this run but not yet by the member (a retry's new member backup): adopted again.
      expect(at({ ...ready, exposure: { snapshot: taken, clone: undefined, alias: undefined } })).toEqual({
        kind: 'adopt-group-snapshot',
      });
      // Every snapshot taken: the post hook, then the copy as from any snapshot.
      const all = {
        ...ready,
        group: [{ ...member, exists: true, snapshot: taken }],
        exposure: { snapshot: taken, clone: undefined, alias: undefined },
      };
      expect(at(all)).toEqual({ kind: 'run-hook', index: 1 });
    });

    it("lets a member's run wait for its snapshot, and fails it if its leader ended without one", () => {
      const running: VolumeBackupStatus = { phase: 'Snapshotting', method: 'snapshot', attempt: 1 };
      expect(nextRunStep(observe(running, { memberOf: { leader: 'data-1', leaderActive: true } }))).toMatchObject({
        kind: 'wait',
        reason: 'SnapshotPending',
        message: "waiting for backup data-1 to take this volume's snapshot with its workload's",
      });
      expect(nextRunStep(observe(running, { memberOf: { leader: 'data-1', leaderActive: false } }))).toEqual({
        kind: 'fail',
        reason: 'SnapshotFailed',
        message: "backup data-1 ended without taking this volume's snapshot with its workload's",
      });
    });

    it("waits while a Pod it would pause is in another run's hooks", () => {
      const busy = 'Pod db-0 also mounts PVC logs, whose backup logs-1 is running its hooks';
      expect(nextRunStep(observe({}, { hookPlan: { hooks: [hook('pre')] }, workloadBusy: busy }))).toEqual({
        kind: 'wait',
        reason: 'VolumeBusy',
        message: busy,
        recheckMs: 5000,
      });
    });

    it('runs pre hooks before the snapshot is made, and post hooks as soon as it is taken', () => {
      expect(nextRunStep(observe(snapshotting([hook('pre'), hook('post')])))).toEqual({ kind: 'run-hook', index: 0 });
      expect(nextRunStep(observe(snapshotting([hook('pre', ok), hook('post')])))).toEqual({ kind: 'create-snapshot' });
      const taken = { ready: false, error: undefined, creationTime: '2026-11-22T09:31:00Z' };
      expect(
        nextRunStep(
          observe(snapshotting([hook('pre', ok), hook('post')]), {
            exposure: { snapshot: taken, clone: undefined, alias: undefined },
          }),
        ),
      ).toEqual({ kind: 'run-hook', index: 1 });
    });

    it('runs post hooks after a live copy, before the run succeeds', () => {
      const live: VolumeBackupStatus = {
        phase: 'Running',
        method: 'live',
        attempt: 1,
        hooks: [hook('pre', ok), hook('post')],
      };
      const finished = { finished: true, result: summary, failureMessage: undefined };
      expect(nextRunStep(observe(live, { job: finished }))).toEqual({ kind: 'run-hook', index: 1 });
    });

    it('retries an attempt whose pre hook failed once its post hooks ran, and still runs them past the deadline', () => {
      const failed = hook('pre', { ...ok, outcome: 'Failed', exitCode: 2 });
      expect(nextRunStep(observe(snapshotting([failed, hook('post', ok)])))).toMatchObject({
        kind: 'retry',
        reason: 'HookFailed',
        message: 'pre hook in Pod db-0, container db (pre): exited 2',
      });
      const late = { ...observe(snapshotting([hook('pre', ok), hook('post')])), now: new Date('2026-11-22T14:00:00Z') };
      expect(nextRunStep(late)).toEqual({ kind: 'run-hook', index: 1 });
    });
  });

  it('fails a run past its deadline', () => {
    const late = {
      ...observe({ phase: 'Running', method: 'live', attempt: 1 }),
      now: new Date('2026-11-22T14:00:00Z'),
    };
    expect(nextRunStep(late)).toMatchObject({ kind: 'fail', reason: 'DeadlineExceeded' });
  });

  it('waits for a scheduled retry time', () => {
    const step = nextRunStep(observe({ phase: 'Pending', attempt: 1, nextAttemptTime: '2026-11-22T10:01:00Z' }));
    expect(step).toMatchObject({ kind: 'wait', reason: 'RetryScheduled', recheckMs: 60_000 });
  });

  it('reports a blocker, retrying unless it is permanent', () => {
    expect(
      nextRunStep(observe({}, { blocker: { reason: 'SecretNotFound', message: 'secret s3 not found' } })),
    ).toMatchObject({ kind: 'retry', reason: 'SecretNotFound' });
    expect(
      nextRunStep(observe({}, { blocker: { reason: 'InvalidSpec', message: 'spec.pvc: required' } })),
    ).toMatchObject({ kind: 'fail', reason: 'InvalidSpec' });
    expect(
      nextRunStep(observe({}, { blocker: { reason: 'NotProtected', message: 'the PV excludes it', final: true } })),
    ).toEqual({ kind: 'fail', reason: 'NotProtected', message: 'the PV excludes it' });
  });

  describe('a blocked run', () => {
    const missing = { blocker: { reason: 'ClaimNotFound' as const, message: 'PVC team/data does not exist' } };

    it('waits for its scheduled retry instead of rescheduling on every look', () => {
      const scheduled = { phase: 'Pending' as const, attempt: 1, nextAttemptTime: '2026-11-22T10:00:30Z' };
      expect(nextRunStep(observe(scheduled, missing))).toMatchObject({
        kind: 'wait',
        reason: 'RetryScheduled',
        recheckMs: 30_000,
      });
    });

    it('counts every blocked check as an attempt, on a growing delay', () => {
      const first = nextRunStep(observe({}, missing));
      expect(first).toMatchObject({ kind: 'retry', reason: 'ClaimNotFound', attempt: 1 });
      if (first.kind === 'retry') expect(first.at.getTime() - now.getTime()).toBe(30_000);
      const third = nextRunStep(observe({ phase: 'Pending', attempt: 2, nextAttemptTime: now.toISOString() }, missing));
      expect(third).toMatchObject({ kind: 'retry', attempt: 3 });
      if (third.kind === 'retry') expect(third.at.getTime() - now.getTime()).toBe(120_000);
    });

    it('ends at the retry limit', () => {
      const limited: BackupPolicy = {
        metadata: { name: 'p' },
        spec: backupPolicySpec.parse({ default: true, retry: { limit: 1 } }),
      };
      const second = nextRunStep(observe({ phase: 'Pending', attempt: 1 }, { ...missing, policy: limited }));
      expect(second).toMatchObject({ kind: 'fail', reason: 'ClaimNotFound' });
      expect(second.kind === 'fail' ? second.message : '').toContain('gave up after 2 attempts, retry.limit 1');
    });

    it('ends at the deadline when the next retry would start after it', () => {
      const late = { ...observe({ phase: 'Pending', attempt: 3 }, missing), now: new Date('2026-11-22T13:29:00Z') };
      const step = nextRunStep(late);
      expect(step).toMatchObject({ kind: 'fail', reason: 'ClaimNotFound' });
      expect(step.kind === 'fail' ? step.message : '').toContain('no time left before the deadline 4h');
    });

    it('uses the default retry settings when no policy applies', () => {
      const orphan = { ...missing, policy: undefined };
      expect(nextRunStep(observe({ phase: 'Pending', attempt: 5 }, orphan))).toMatchObject({
        kind: 'retry',
        attempt: 6,
      });
      expect(nextRunStep(observe({ phase: 'Pending', attempt: 6 }, orphan))).toMatchObject({ kind: 'fail' });
    });
  });

  it('cleans up once the run is over', () => {
    expect(nextRunStep(observe({ phase: 'Succeeded' }))).toEqual({ kind: 'clean-up' });
    expect(nextRunStep(observe({ phase: 'Failed' }))).toEqual({ kind: 'clean-up' });
  });
});
