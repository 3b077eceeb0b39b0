// What a VolumeBackup run does next, decided from what is observed: a pure
// function over plain data with `now` passed in, so every branch is tested
// without a cluster. The controller observes, asks, and carries the step out;
// each step is idempotent, so a restarted operator simply asks again.
import {
  timestamp,
  type BackupPolicy,
  type BackupReason,
  type CaptureMethod,
  type HookRecord,
  type MoverResult,
  type VolumeBackup,
} from '../api/index.ts';
import { maintenanceWait } from './backup-reads.ts';
import { changeDetectionFor, type ChangeDetection } from './change-detection.ts';
import { nextExposeStep, type ExposeStep, type ExposureObservation } from './exposure.ts';
import {
  nextGroupSnapshotStep,
  nextGroupStep,
  snapshotTaken,
  type GroupMember,
  type GroupSnapshotObservation,
  type GroupStep,
  type MemberObservation,
} from './group-capture.ts';
import { nextHookStep, type HookPlan, type HookStep } from './hooks.ts';
import { moverFailure, type MoverOutcome } from './mover-failure.ts';
import { defaultRetry, retryOrGiveUp, runDeadline } from './run-retry.ts';

/** How this run captures its volume (see captureMethods). */
export type RunMethod = CaptureMethod;

/** What the controller saw of one run's world. Undefined means "does not exist". */
export interface RunObservation {
  now: Date;
  backup: VolumeBackup;
  policy: BackupPolicy | undefined;
  /**
   * Why the run cannot even be attempted (missing claim, repository, secret), if so; `final` when
   * waiting cannot help (an admin excluded the volume: a new run is for after they change that).
   */
  blocker: { reason: BackupReason; message: string; final?: boolean } | undefined;
  method: RunMethod;
  /** The node a live run must read its volume on (a running Pod has it attached), if any. */
  node: string | undefined;
  /** The volume's CSI driver, and whether it is a block volume (backed up as an image, not file by file). */
  driver: string | undefined;
  block: boolean;
  /** Another run of the same volume is active and older than this one. */
  volumeBusy: boolean;
  /** Something the run needs has not reached the caches yet (e.g. the PV of a just-bound claim). */
  waitingFor: string | undefined;
  /** A free mover slot under the global, per-repository and per-node limits. */
  slotFree: boolean;
  /**
   * Another run is creating the run's repository (none has succeeded there yet): restic cannot
   * create one repository from two places at once, so the first backup goes alone.
   */
  repositoryBeingCreated: string | undefined;
  /** Maintenance of the run's repository is due or running: backups wait for it (never write during a prune). */
  maintenance: string | undefined;
  /** What exists of the volume's exposure to the mover (snapshot, clone, alias). */
  exposure: ExposureObservation;
  job: MoverOutcome | undefined;
  /** The hooks a new attempt would run, from the policy and the Pods that mount the volume now. */
  hookPlan: HookPlan;
  /**
   * Why the workload cannot be captured now: a Pod whose hooks it would run is in another run's
   * hooks (hooksBusy), or a volume it would take in a group snapshot is in another run (groupBusy).
   */
  workloadBusy: string | undefined;
  /** The other volumes a new attempt would capture with its own (group-capture.ts). */
  groupPlan: GroupMember[];
  /** The VolumeGroupSnapshotClass a new attempt would take them with, if one VolumeGroupSnapshot can. */
  groupSnapshotClass: string | undefined;
  /** An active run's VolumeGroupSnapshot (status.groupSnapshot), and whether its claims carry its label. */
  groupSnapshot: GroupSnapshotObservation | undefined;
  groupClaimsLabelled: boolean;
  /** An active run's members (status.group): their backups and snapshots as they exist. */
  group: MemberObservation[];
  /** A member's run (spec.groupOf): whether the run that takes its snapshot is still active. */
  memberOf: { leader: string; leaderActive: boolean } | undefined;
}

export type RunStep =
  | { kind: 'wait'; reason: BackupReason; message: string; recheckMs: number }
  /** node: where a live run will read the volume; per-node limits count the run there from now on. */
  | {
      kind: 'start';
      method: RunMethod;
      attempt: number;
      node: string | undefined;
      hooks: HookRecord[];
      group: GroupMember[];
      /** The VolumeGroupSnapshot that takes the group's snapshots (named after the run), if one does. */
      groupSnapshot: { name: string; class: string } | undefined;
    }
  | GroupStep
  | { kind: 'label-group-claims' | 'create-group-snapshot' | 'adopt-group-snapshot' }
  | Extract<HookStep, { kind: 'run-hook' | 'record-hook' }>
  | Extract<ExposeStep, { kind: 'create-snapshot' | 'create-clone' | 'create-alias' | 'nudge-alias' }>
  /**
   * snapshotTime: when the data this attempt reads was captured (what the backup will say it holds);
   * changeDetection: how a file backup tells changed files (none for a block volume's image).
   */
  | { kind: 'create-job'; snapshotTime: string; changeDetection: ChangeDetection | undefined }
  | { kind: 'succeed'; result: Extract<MoverResult, { type: 'summary' }> }
  /**
   * attempt: the attempt count to record (a blocked check counts as one). clearAttempt: the failed
   * attempt's objects go (a blocked check made none); discardSnapshot: its snapshot too.
   */
  | {
      kind: 'retry';
      reason: BackupReason;
      message: string;
      at: Date;
      attempt: number;
      clearAttempt: boolean;
      discardSnapshot: boolean;
    }
  /** attempt: the attempt count to record, when the failing check was one (a blocked check). */
  | { kind: 'fail'; reason: BackupReason; message: string; attempt?: number }
  | { kind: 'clean-up' };

export function nextRunStep(o: RunObservation): RunStep {
  const status = o.backup.status ?? {};
  const phase = status.phase ?? 'Pending';
  switch (phase) {
    case 'Succeeded':
    case 'Failed':
      return { kind: 'clean-up' };
    case 'Pending':
      return pending(o);
    case 'Snapshotting':
    case 'Running':
      return active(o);
  }
}

function pending(o: RunObservation): RunStep {
  const status = o.backup.status ?? {};
  const deadline = deadlineOf(o);
  if (deadline !== undefined && o.now.getTime() > deadline) {
    return {
      kind: 'fail',
      reason: 'DeadlineExceeded',
      message: `${status.message ?? 'the run could not start'} (deadline ${retrySettings(o).deadline} passed)`,
    };
  }
  if (o.blocker?.final === true) return { kind: 'fail', reason: o.blocker.reason, message: o.blocker.message };
  // A scheduled retry is waited for whatever blocks the run: looking again sooner only floods the API.
  const retryAt = status.nextAttemptTime === undefined ? undefined : Date.parse(status.nextAttemptTime);
  if (retryAt !== undefined && retryAt > o.now.getTime()) {
    return {
      kind: 'wait',
      reason: 'RetryScheduled',
      message: status.message ?? 'waiting to retry',
      recheckMs: retryAt - o.now.getTime(),
    };
  }
  // A blocked check is an attempt: the retry limit ends a run whose blocker never goes.
  if (o.blocker !== undefined) return finalOrRetry(o, o.blocker.reason, o.blocker.message, (status.attempt ?? 0) + 1);
  if (o.waitingFor !== undefined)
    return { kind: 'wait', reason: 'Waiting', message: `waiting for ${o.waitingFor}`, recheckMs: 1000 };
  if (o.volumeBusy)
    return {
      kind: 'wait',
      reason: 'VolumeBusy',
      message: `another backup of ${o.backup.spec.pvc} is running`,
      recheckMs: 5000,
    };
  if (o.workloadBusy !== undefined)
    return { kind: 'wait', reason: 'VolumeBusy', message: o.workloadBusy, recheckMs: 5000 };
  if (o.maintenance !== undefined) return maintenanceWait(o.maintenance);
  if (o.repositoryBeingCreated !== undefined)
    return {
      kind: 'wait',
      reason: 'ConcurrencyLimit',
      message: `waiting for ${o.repositoryBeingCreated} to create the repository`,
      recheckMs: 5000,
    };
  if (!o.slotFree)
    return { kind: 'wait', reason: 'ConcurrencyLimit', message: 'waiting for a free mover slot', recheckMs: 5000 };
  // A hook declared wrongly is the declarer's to fix: no attempt runs the volume without it.
  if ('error' in o.hookPlan) return { kind: 'fail', reason: 'InvalidSpec', message: o.hookPlan.error };
  const group =
    o.method === 'snapshot' && (o.hookPlan.hooks.length > 0 || o.groupSnapshotClass !== undefined) ? o.groupPlan : [];
  return {
    kind: 'start',
    method: o.method,
    attempt: (status.attempt ?? 0) + 1,
    node: o.node,
    hooks: o.hookPlan.hooks,
    // Only a snapshot captures several volumes at one moment: between hooks, or in one group snapshot.
    group,
    groupSnapshot:
      group.length > 0 && o.groupSnapshotClass !== undefined
        ? { name: o.backup.metadata.name, class: o.groupSnapshotClass }
        : undefined,
  };
}

function active(o: RunObservation): RunStep {
  const status = o.backup.status ?? {};
  const deadline = deadlineOf(o);
  const pastDeadline = deadline !== undefined && o.now.getTime() > deadline;
  // Pre hooks before the capture, post hooks as soon as it is over (or given up): an application
  // paused by a pre hook is resumed whatever happens next.
  const snapshot = o.exposure.snapshot;
  const throughSnapshot = status.method === 'snapshot';
  const captureOver =
    pastDeadline ||
    (throughSnapshot
      ? snapshotTaken(snapshot) && o.group.every((m) => snapshotTaken(m.snapshot))
      : o.job?.finished === true);
  const hookStep = nextHookStep(status.hooks, captureOver);
  if (hookStep?.kind === 'hooks-failed') return finalOrRetry(o, 'HookFailed', hookStep.message);
  if (hookStep !== undefined) return hookStep;
  // After every pre hook: the group's snapshots in one VolumeGroupSnapshot, adopted by each run.
  const viaGroupSnapshot = status.groupSnapshot;
  if (viaGroupSnapshot !== undefined && throughSnapshot && !captureOver) {
    const groupStep = nextGroupStep(o.group, true);
    if (groupStep !== undefined) return groupStep;
    if (snapshot === undefined || o.group.some((m) => m.snapshot === undefined)) {
      const step = nextGroupSnapshotStep(viaGroupSnapshot.name, o.groupSnapshot, o.groupClaimsLabelled);
      switch (step.kind) {
        case 'group-snapshot-failed':
          return finalOrRetry(o, 'SnapshotFailed', step.message);
        case 'group-snapshot-wait':
          return { kind: 'wait', reason: 'SnapshotPending', message: step.message, recheckMs: 2000 };
        case 'label-group-claims':
        case 'create-group-snapshot':
        case 'adopt-group-snapshot':
          return step;
      }
    }
  }
  // Post hooks wait for every snapshot of the group; nothing goes on before they ran. The
  // members' snapshots wake their own runs, not this one: look again soon.
  if (
    throughSnapshot &&
    snapshot !== undefined &&
    !captureOver &&
    (status.hooks ?? []).some((h) => h.outcome === undefined)
  )
    return {
      kind: 'wait',
      reason: 'SnapshotPending',
      message: "waiting for the workload's snapshots to be taken",
      recheckMs: 1000,
    };
  if (throughSnapshot && snapshot === undefined && !pastDeadline) {
    // After every pre hook, before its own snapshot: the other volumes of the workload.
    const groupStep = nextGroupStep(o.group);
    if (groupStep !== undefined) return groupStep;
    // A member's snapshot is taken by the run that started it, between the workload's hooks.
    if (o.memberOf !== undefined) {
      if (!o.memberOf.leaderActive)
        return {
          kind: 'fail',
          reason: 'SnapshotFailed',
          message: `backup ${o.memberOf.leader} ended without taking this volume's snapshot with its workload's`,
        };
      return {
        kind: 'wait',
        reason: 'SnapshotPending',
        message: `waiting for backup ${o.memberOf.leader} to take this volume's snapshot with its workload's`,
        recheckMs: 5000,
      };
    }
  }
  if (pastDeadline) {
    return {
      kind: 'fail',
      reason: 'DeadlineExceeded',
      message: `the run did not finish within ${retrySettings(o).deadline}`,
    };
  }
  // A volume deleted before its data was captured cannot be backed up by this attempt.
  const captured = status.method === 'snapshot' ? o.exposure.snapshot?.ready === true : o.job !== undefined;
  if (o.blocker?.reason === 'ClaimNotFound' && !captured) return finalOrRetry(o, o.blocker.reason, o.blocker.message);
  if (o.job !== undefined) {
    if (!o.job.finished)
      return { kind: 'wait', reason: 'MoverRunning', message: 'the mover is copying the volume', recheckMs: 10_000 };
    const result = o.job.result;
    if (result?.type === 'summary') return { kind: 'succeed', result };
    const failure = moverFailure(o.job);
    return finalOrRetry(o, failure.reason, failure.message);
  }
  const expose = nextExposeStep(status.method === 'snapshot' ? 'snapshot' : 'volume', o.exposure);
  switch (expose.kind) {
    case 'snapshot-failed':
      return finalOrRetry(o, 'SnapshotFailed', expose.message);
    case 'wait-exposure':
      return {
        kind: 'wait',
        reason: expose.waitingFor === 'alias' ? 'MoverRunning' : 'SnapshotPending',
        message: exposureWaits[expose.waitingFor],
        recheckMs: expose.recheckMs,
      };
    case 'exposed':
      return {
        kind: 'create-job',
        snapshotTime: attemptCaptureTime({
          method: status.method ?? o.method,
          snapshotCreationTime: o.exposure.snapshot?.creationTime,
          recorded: status.snapshotTime,
          now: o.now,
        }),
        changeDetection: o.block
          ? undefined
          : changeDetectionFor({
              policy:
                o.policy === undefined
                  ? undefined
                  : { name: o.policy.metadata.name, changeDetection: o.policy.spec.changeDetection },
              method: status.method ?? o.method,
              driver: o.driver,
            }),
      };
    case 'create-snapshot':
    case 'create-clone':
    case 'create-alias':
    case 'nudge-alias':
      return expose;
  }
}

const exposureWaits = {
  snapshot: 'waiting for the VolumeSnapshot to be ready',
  clone: "waiting for the snapshot's clone to be bound",
  alias: "waiting for the volume's read-only alias to be bound",
} as const;

/**
 * When the data a backup holds was captured: its VolumeSnapshot's creation (the same snapshot
 * across retries), else the copy's start, recorded once per attempt (live, CephFS .snap).
 */
export function attemptCaptureTime(input: {
  method: RunMethod;
  snapshotCreationTime: string | undefined;
  recorded: string | undefined;
  now: Date;
}): string {
  if (input.method === 'snapshot' && input.snapshotCreationTime !== undefined)
    return timestamp(new Date(input.snapshotCreationTime));
  return input.recorded ?? timestamp(input.now);
}

/** A failed attempt: retry with backoff while the policy's limit and deadline allow, else fail. */
function finalOrRetry(
  o: RunObservation,
  reason: BackupReason,
  message: string,
  attempt = o.backup.status?.attempt ?? 0,
): RunStep {
  if (reason === 'InvalidSpec') return { kind: 'fail', reason, message };
  const verdict = retryOrGiveUp({ now: o.now, attempt, settings: retrySettings(o), deadline: deadlineOf(o), message });
  if (verdict.kind === 'fail') return { kind: 'fail', reason, message: verdict.message, attempt };
  return {
    kind: 'retry',
    reason,
    message,
    at: verdict.at,
    attempt,
    clearAttempt: (o.backup.status?.phase ?? 'Pending') !== 'Pending',
    // A snapshot that failed, or was never taken of a volume now gone, is of no use to the next attempt.
    discardSnapshot: reason === 'SnapshotFailed' || reason === 'ClaimNotFound',
  };
}

/** The policy's retry settings; a run no policy applies to uses the defaults. */
function retrySettings(o: RunObservation) {
  return o.policy?.spec.retry ?? defaultRetry;
}

function deadlineOf(o: RunObservation): number | undefined {
  return runDeadline(o.backup.metadata.creationTimestamp, retrySettings(o));
}
