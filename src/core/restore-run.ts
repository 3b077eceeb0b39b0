// What a VolumeRestore does next, decided from what is observed: a pure
// function like nextRunStep. A restore is tried once: what failed is in its
// status, and a PVC it created for itself is deleted again, so a failed
// restore leaves nothing half-made behind. Before the mover writes into an
// existing PVC, its undo snapshot is taken and ready, or the status says why
// there is none (undo-snapshot.ts).
import type { ChosenBackup, RestoreReason, RestoreSummary, VolumeRestore } from '../api/index.ts';
import type { BackupAnswer } from './backup-choice.ts';
import { moverFailure, type MoverOutcome } from './mover-failure.ts';
import { maintenanceWait, readableBackup, readerSlotWait, type ReaderSlots } from './backup-reads.ts';
import { nextExposeStep, type ExposeStep } from './exposure.ts';

export type RestoreMethod = 'repository' | 'snapshot';

export interface RestoreObservation {
  restore: VolumeRestore;
  /** Why the spec cannot be carried out as written (field and fix), if so. */
  invalid: string | undefined;
  /** Why this namespace may not read the source namespace's backups, if so. */
  forbidden: string | undefined;
  /** The backup the spec asks for, looked up in the catalogue (used only before the restore starts). */
  choice: BackupAnswer;
  /** The BackupRepository of the chosen backup exists. */
  repositoryFound: boolean;
  /** Maintenance of that repository is due or running: a prune could remove what the restore reads. */
  maintenance: string | undefined;
  /** Restores and downloads running now, and the operator's limit on them. */
  readers: ReaderSlots;
  /** The backup's VolumeSnapshot is still kept in the cluster and ready (fast path possible). */
  keptSnapshot: boolean;
  target:
    | {
        /** Made by this restore (labelled with it). */
        ours: boolean;
        phase: string | undefined;
        /** Pods that mount it, "ns/name". */
        mountedBy: string[];
      }
    | undefined;
  /** The target PVC this restore created exists in the API but has not reached the cache yet. */
  targetNotCachedYet?: boolean;
  /** The writable alias of the target's PV in Safehold's namespace. */
  alias: { bound: boolean; volumeBound?: boolean } | undefined;
  job: MoverOutcome | undefined;
  /** Existing target only (else undefined): the undo snapshot that can be taken, and what exists of it. */
  undo: UndoObservation | undefined;
}

export type UndoObservation =
  /** The target's PV is not in the cache yet: whether its driver can snapshot is not known. */
  | { kind: 'unknown' }
  | { kind: 'none'; why: string }
  | { kind: 'snapshot'; name: string; snapshot: { ready: boolean; error: string | undefined } | undefined };

/** What the status says of the undo snapshot once it is settled: its name, or why there is none. */
export type UndoRecord = { kind: 'taken'; name: string } | { kind: 'none'; why: string };

export type RestoreStep =
  | { kind: 'wait'; reason: RestoreReason; message: string; recheckMs: number }
  | { kind: 'start'; method: RestoreMethod; backup: ChosenBackup }
  | { kind: 'create-target' }
  | Extract<ExposeStep, { kind: 'create-alias' | 'nudge-alias' }>
  | { kind: 'create-undo-snapshot'; name: string }
  | { kind: 'record-undo'; undo: UndoRecord }
  | { kind: 'create-job' }
  | { kind: 'succeed'; result: RestoreSummary | undefined }
  | { kind: 'fail'; reason: RestoreReason; message: string }
  | { kind: 'clean-up' };

export function nextRestoreStep(o: RestoreObservation): RestoreStep {
  const phase = o.restore.status?.phase ?? 'Pending';
  switch (phase) {
    case 'Succeeded':
    case 'Failed':
      return { kind: 'clean-up' };
    case 'Pending':
      return pending(o);
    case 'Running':
      return running(o);
  }
}

function pending(o: RestoreObservation): RestoreStep {
  const fail = (reason: RestoreReason, message: string): RestoreStep => ({ kind: 'fail', reason, message });
  const read = readableBackup(o);
  if (read.kind === 'fail') return read;
  const backup = read.backup;
  if (backup.image !== undefined && (o.restore.spec.paths ?? []).length > 0)
    return fail(
      'InvalidSpec',
      `spec.paths: backup ${backup.name} is a block volume's image (${backup.image}), restored whole; use safehold dump for the image file`,
    );
  const target = o.restore.spec.target;
  if (target.existing === true) {
    if (o.target === undefined)
      return fail(
        'TargetNotFound',
        `PVC ${o.restore.metadata.namespace}/${target.pvc} does not exist (spec.target.pvc)`,
      );
    if (o.target.mountedBy.length > 0 && target.force !== true)
      return fail(
        'TargetInUse',
        `PVC ${target.pvc} is mounted by Pod ${o.target.mountedBy.join(', ')}: stop it first, or set spec.target.force to restore under it`,
      );
  } else if (o.target !== undefined && !o.target.ours) {
    return fail(
      'TargetExists',
      `PVC ${o.restore.metadata.namespace}/${target.pvc} already exists: name a new PVC in spec.target.pvc, or set spec.target.existing to restore into it`,
    );
  }
  if (o.maintenance !== undefined) return maintenanceWait(o.maintenance);
  const full = readerSlotWait(o.readers);
  if (full !== undefined) return full;
  const fast =
    o.keptSnapshot &&
    o.restore.spec.useSnapshot !== false &&
    target.existing !== true &&
    (o.restore.spec.paths ?? []).length === 0 &&
    backup.namespace === o.restore.metadata.namespace;
  return { kind: 'start', method: fast ? 'snapshot' : 'repository', backup: backup };
}

function running(o: RestoreObservation): RestoreStep {
  const status = o.restore.status ?? {};
  if (o.target === undefined) {
    if (o.targetNotCachedYet === true)
      return {
        kind: 'wait',
        reason: 'TargetPending',
        message: `waiting for PVC ${o.restore.spec.target.pvc}`,
        recheckMs: 500,
      };
    if (status.targetCreated === true || o.restore.spec.target.existing === true)
      return {
        kind: 'fail',
        reason: 'TargetFailed',
        message: `PVC ${o.restore.spec.target.pvc} disappeared during the restore`,
      };
    return { kind: 'create-target' };
  }
  if (!o.target.ours && o.restore.spec.target.existing !== true)
    return {
      kind: 'fail',
      reason: 'TargetExists',
      message: `PVC ${o.restore.metadata.namespace}/${o.restore.spec.target.pvc} was created by someone else while the restore started`,
    };
  if (o.target.phase === 'Lost')
    return { kind: 'fail', reason: 'TargetFailed', message: `PVC ${o.restore.spec.target.pvc} lost its volume` };
  if (o.target.phase !== 'Bound')
    return {
      kind: 'wait',
      reason: 'TargetPending',
      message: `waiting for PVC ${o.restore.spec.target.pvc} to be bound`,
      recheckMs: 2000,
    };
  if (status.method === 'snapshot') return { kind: 'succeed', result: undefined };
  if (o.job !== undefined) {
    if (!o.job.finished)
      return { kind: 'wait', reason: 'MoverRunning', message: 'the mover is restoring the volume', recheckMs: 5000 };
    const result = o.job.result;
    if (result?.type === 'restored') return { kind: 'succeed', result };
    return { kind: 'fail', ...moverFailure(o.job) };
  }
  const undo = undoStep(o);
  if (undo !== undefined) return undo;
  const expose = nextExposeStep('volume', { snapshot: undefined, clone: undefined, alias: o.alias });
  switch (expose.kind) {
    case 'create-alias':
    case 'nudge-alias':
      return expose;
    case 'exposed':
      return { kind: 'create-job' };
    // A target volume is aliased as it is: only the alias is waited for here.
    case 'create-snapshot':
    case 'create-clone':
    case 'snapshot-failed':
    case 'wait-exposure':
      return {
        kind: 'wait',
        reason: 'TargetPending',
        message: "waiting for the target volume's alias in Safehold's namespace to be bound",
        recheckMs: 2000,
      };
  }
}

/** Before the mover writes into an existing PVC: its undo snapshot ready and recorded, or why there is none recorded. */
function undoStep(o: RestoreObservation): RestoreStep | undefined {
  const recorded = o.restore.status?.undoSnapshot;
  const pvc = o.restore.spec.target.pvc;
  const undo = o.undo;
  if (undo === undefined) return undefined;
  switch (undo.kind) {
    case 'unknown':
      return recorded === undefined
        ? {
            kind: 'wait',
            reason: 'TargetPending',
            message: `waiting for the volume of PVC ${pvc} to be seen`,
            recheckMs: 1000,
          }
        : undefined;
    case 'none':
      return recorded?.none === undefined && recorded?.name === undefined
        ? { kind: 'record-undo', undo: { kind: 'none', why: undo.why } }
        : undefined;
    case 'snapshot': {
      const snapshot = undo.snapshot;
      if (snapshot === undefined)
        return recorded?.name === undefined
          ? { kind: 'create-undo-snapshot', name: undo.name }
          : {
              kind: 'fail',
              reason: 'UndoSnapshotFailed',
              message: `the undo snapshot ${undo.name} of PVC ${pvc} was deleted before the restore wrote anything`,
            };
      if (snapshot.error !== undefined)
        return {
          kind: 'fail',
          reason: 'UndoSnapshotFailed',
          message: `the undo snapshot ${undo.name} of PVC ${pvc} failed: ${snapshot.error}; nothing was written. Retry, or set spec.target.keepUndoSnapshot to none to restore without one`,
        };
      if (!snapshot.ready)
        return {
          kind: 'wait',
          reason: 'UndoSnapshotPending',
          message: `waiting for the undo snapshot ${undo.name} of PVC ${pvc} to be ready before writing into it`,
          recheckMs: 2000,
        };
      return recorded?.name === undefined
        ? { kind: 'record-undo', undo: { kind: 'taken', name: undo.name } }
        : undefined;
    }
  }
}
