// Carrying out one step of a VolumeRestore against the API: its status
// (through the one run status writer), the target PVC (owned by the restore
// and labelled with it until the restore succeeds, deleted again if it fails),
// the writable alias of the target (through the exposer), the credentials
// Secret and the mover Job in Safehold's namespace, the undo snapshot of an
// existing target (no owner: it outlives the restore until it expires), and
// the clean-up. Every step is idempotent.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import {
  repositoryUrl,
  runLabels,
  tenantOf,
  timestamp,
  type MoverSettings,
  type VolumeRestore,
  snapshotIdOf,
} from '../../api/index.ts';
import {
  moverJob,
  ownerRecord,
  ownerReference,
  restoreCapabilities,
  restoreMoverTask,
  type RestoreStep,
} from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type KubeClient, type Requeue } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { firstConsumerAnnotations, nodeUsing, type Exposer } from '../expose/index.ts';
import { readProgress } from '../run/mover-progress.ts';
import { createCredentialsSecret, repositoryCredentials, repositorySource } from '../run/repository-credentials.ts';
import { runEvent } from '../run/run-event.ts';
import { cleanedUp, isCleanedUp, statusWriter, writeRunStatus, writeWaiting } from '../run/run-status.ts';
import { createUndoSnapshot, extendUndo, recordUndo, undoNote } from './undo-steps.ts';
import {
  restoreExposure,
  restoreJobName,
  restoreLabels,
  restoreObjectBase,
  restoreSourceNamespace,
  type ObservedRestore,
} from './restore-observation.ts';

export interface RestoreStepDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  exposer: Exposer;
}

/** How long a restore's mover may run. */
const moverDeadlineSeconds = 24 * 3600;
const restoredFrom = 'safehold.io/restored-from';

export async function carryOutRestore(
  deps: RestoreStepDeps,
  restore: VolumeRestore,
  observed: ObservedRestore,
  step: RestoreStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = timestamp(now);
  const setStatus = statusWriter(deps.client, kinds.volumeRestore, restore, now);
  const target = restore.spec.target.pvc;
  switch (step.kind) {
    case 'wait':
      // While the mover runs, its latest progress line (from the Pod's log, through the API) is copied into the status.
      if (step.reason === 'MoverRunning') await copyProgress(deps, restore, now);
      await writeWaiting(deps.client, kinds.volumeRestore, restore, step, now);
      return { requeueAfterMs: step.recheckMs };
    case 'start': {
      const backup = step.backup;
      await setStatus({
        phase: 'Running',
        method: step.method,
        backup,
        startTime: stamp,
        reason: 'TargetPending',
        message: `restoring ${backup.namespace}/${backup.pvc} as of ${backup.snapshotTime ?? '?'} (snapshot ${(snapshotIdOf(backup) ?? '?').slice(0, 8)}${step.method === 'snapshot' ? ', from its kept VolumeSnapshot' : ''}) into PVC ${target}`,
      });
      return undefined;
    }
    case 'create-target':
      await createTarget(deps, restore, observed);
      return undefined;
    case 'create-alias':
      await deps.exposer.carryOut(restoreExposure(restore), step, now);
      return { requeueAfterMs: 1000 };
    case 'nudge-alias':
      await deps.exposer.carryOut(restoreExposure(restore), step, now);
      return { requeueAfterMs: 2000 };
    case 'create-undo-snapshot':
      await createUndoSnapshot(deps, restore, observed, step.name, now);
      return undefined;
    case 'record-undo':
      await recordUndo(deps, restore, step.undo, now, (type, reason, message) =>
        restoreEvent(deps, restore, type, reason, message),
      );
      return undefined;
    case 'create-job': {
      const missing = await createJob(deps, restore, observed);
      if (missing !== undefined) {
        await setStatus(
          { phase: 'Failed', reason: 'SecretNotFound', message: missing, completionTime: stamp },
          { status: 'False', reason: 'SecretNotFound', message: missing },
        );
        return undefined;
      }
      if (restore.status?.reason !== 'MoverRunning')
        await setStatus({ reason: 'MoverRunning', message: 'the mover is restoring the volume' });
      return undefined;
    }
    case 'succeed': {
      const r = step.result;
      const backup = restore.status?.backup;
      const undo = await extendUndo(deps, restore, now);
      const message =
        (r === undefined
          ? `PVC ${target} was made from the kept VolumeSnapshot of backup ${backup?.name ?? ''}`
          : `restored ${r.filesRestored} files (${r.bytesRestored} bytes) into PVC ${target}`) + undoNote(undo);
      await releaseTarget(deps, restore);
      await setStatus(
        {
          ...(undo === undefined ? {} : { undoSnapshot: undo }),
          phase: 'Succeeded',
          reason: 'Succeeded',
          message,
          completionTime: stamp,
          ...(r === undefined
            ? {}
            : {
                files: {
                  restored: r.filesRestored,
                  skipped: r.filesSkipped,
                  total: r.totalFiles,
                  ...(r.filesDeleted === undefined ? {} : { deleted: r.filesDeleted }),
                },
                bytes: { restored: r.bytesRestored, skipped: r.bytesSkipped, total: r.totalBytes },
                progress: {
                  percentDone: 100,
                  filesDone: r.totalFiles,
                  totalFiles: r.totalFiles,
                  bytesDone: r.totalBytes,
                  totalBytes: r.totalBytes,
                },
              }),
        },
        { status: 'True', reason: 'Succeeded', message },
      );
      await restoreEvent(deps, restore, 'Normal', 'RestoreSucceeded', message);
      return undefined;
    }
    case 'fail': {
      // A restore that failed half-way has changed the volume: its way back is kept as long as after a success.
      const undo = await extendUndo(deps, restore, now);
      const message = step.message + undoNote(undo);
      await setStatus(
        {
          ...(undo === undefined ? {} : { undoSnapshot: undo }),
          phase: 'Failed',
          reason: step.reason,
          message,
          completionTime: stamp,
        },
        { status: 'False', reason: step.reason, message },
      );
      await restoreEvent(deps, restore, 'Warning', 'RestoreFailed', `${step.reason}: ${message}`);
      return undefined;
    }
    case 'clean-up':
      await cleanUpRestore(deps, restore, now);
      return undefined;
  }
}

async function createTarget(deps: RestoreStepDeps, restore: VolumeRestore, observed: ObservedRestore): Promise<void> {
  const spec = observed.newTarget;
  const backup = restore.status?.backup;
  if (spec === undefined || backup === undefined) return;
  const fromSnapshot = restore.status?.method === 'snapshot';
  const claim: PersistentVolumeClaim = {
    metadata: {
      name: restore.spec.target.pvc,
      namespace: restore.metadata.namespace,
      labels: { [runLabels.restore]: restore.metadata.name },
      annotations: {
        [restoredFrom]: describeSource(restore),
        ...(await firstConsumerAnnotations(deps, spec.storageClassName)),
      },
      ownerReferences: [ownerReference(restore, 'VolumeRestore')],
    },
    spec: {
      accessModes: spec.accessModes,
      resources: { requests: { storage: spec.size } },
      ...(spec.storageClassName === undefined ? {} : { storageClassName: spec.storageClassName }),
      volumeMode: spec.volumeMode,
      ...(fromSnapshot
        ? { dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: backup.name } }
        : {}),
    },
  };
  const created = await ignoreAlreadyExists(() => deps.client.create(kinds.persistentVolumeClaim, claim));
  // A claim of that name that was already there is not ours: the next step sees whose it is.
  if (created !== undefined)
    await writeRunStatus(deps.client, kinds.volumeRestore, restore, { targetCreated: true }, undefined, deps.now());
}

function describeSource(restore: VolumeRestore): string {
  const b = restore.status?.backup;
  return b === undefined
    ? ''
    : `${b.namespace}/${b.pvc} snapshot ${snapshotIdOf(b) ?? '?'} of ${b.snapshotTime ?? '?'}`;
}

/** The Secret and the Job; undefined when created, else which credential is missing. */
async function createJob(
  deps: RestoreStepDeps,
  restore: VolumeRestore,
  observed: ObservedRestore,
): Promise<string | undefined> {
  const { repository, backup } = observed;
  if (repository === undefined || backup === undefined) return 'the repository is gone';
  const sourceNs = restoreSourceNamespace(restore);
  const credentials = await repositoryCredentials(
    deps.client,
    deps.namespace,
    repository,
    tenantOf(repository.spec, sourceNs),
    false,
  );
  if ('missing' in credentials) return credentials.missing;
  const base = restoreObjectBase(restore);
  const labels = restoreLabels(restore);
  const annotations = ownerRecord('VolumeRestore', restore);
  await createCredentialsSecret(
    deps.client,
    { name: `${base}-creds`, namespace: deps.namespace, labels, annotations },
    credentials.data,
  );
  const task = restoreMoverTask(restore, backup, {
    engine: repository.spec.engine,
    url: repositoryUrl(repository.spec, sourceNs),
    region: repository.spec.s3.region,
    source: repositorySource(deps.namespace, repository, tenantOf(repository.spec, sourceNs)),
  });
  // A target a Pod still mounts (force) is attached on that Pod's node.
  const node = nodeUsing(deps.cache, restore.metadata.namespace, restore.spec.target.pvc);
  const job = moverJob({
    name: restoreJobName(restore),
    namespace: deps.namespace,
    labels,
    annotations,
    mover: deps.mover,
    task,
    targetClaim: base,
    volumeMode: task.kind === 'block-restore' ? 'Block' : 'Filesystem',
    capabilities: restoreCapabilities,
    secretName: `${base}-creds`,
    nodeName: node,
    deadlineSeconds: moverDeadlineSeconds,
  });
  await ignoreAlreadyExists(() => deps.client.create(kinds.job, job));
  return undefined;
}

/** The restored PVC becomes the tenant's own: no owner, no run label; it says where it came from. */
async function releaseTarget(deps: RestoreStepDeps, restore: VolumeRestore): Promise<void> {
  const claim = deps.cache.claims.get(`${restore.metadata.namespace}/${restore.spec.target.pvc}`);
  if (claim?.metadata?.labels?.[runLabels.restore] !== restore.metadata.name && restore.spec.target.existing !== true)
    return;
  await ignoreNotFound(() =>
    deps.client.mergePatch(
      kinds.persistentVolumeClaim,
      { namespace: restore.metadata.namespace, name: restore.spec.target.pvc },
      {
        metadata: {
          labels: { [runLabels.restore]: null },
          annotations: { [restoredFrom]: describeSource(restore) },
          ...(restore.spec.target.existing === true ? {} : { ownerReferences: null }),
        },
      },
    ),
  );
}

/** The Job, the alias and the Secret, whatever the restore's phase. */
export async function removeRestoreTemporaries(deps: RestoreStepDeps, restore: VolumeRestore): Promise<void> {
  await ignoreNotFound(() =>
    deps.client.delete(
      kinds.job,
      { namespace: deps.namespace, name: restoreJobName(restore) },
      { propagationPolicy: 'Background' },
    ),
  );
  await deps.exposer.remove(restoreExposure(restore), false);
  await ignoreNotFound(() =>
    deps.client.delete(kinds.secret, { namespace: deps.namespace, name: `${restoreObjectBase(restore)}-creds` }),
  );
}

/** Job, alias and Secret; a target PVC this restore created is deleted if the restore failed. */
async function cleanUpRestore(deps: RestoreStepDeps, restore: VolumeRestore, now: Date): Promise<void> {
  if (isCleanedUp(restore)) return;
  await removeRestoreTemporaries(deps, restore);
  const failed = restore.status?.phase === 'Failed';
  const claim = deps.cache.claims.get(`${restore.metadata.namespace}/${restore.spec.target.pvc}`);
  const half = failed && claim?.metadata?.labels?.[runLabels.restore] === restore.metadata.name;
  if (half)
    await ignoreNotFound(() =>
      deps.client.delete(kinds.persistentVolumeClaim, {
        namespace: restore.metadata.namespace,
        name: restore.spec.target.pvc,
      }),
    );
  await writeRunStatus(
    deps.client,
    kinds.volumeRestore,
    restore,
    {},
    cleanedUp(
      half
        ? `deleted the mover Job, the alias and the half-restored PVC ${restore.spec.target.pvc}`
        : 'deleted the mover Job and the alias',
    ),
    now,
  );
}

async function copyProgress(deps: RestoreStepDeps, restore: VolumeRestore, now: Date): Promise<void> {
  const progress = await readProgress(deps, deps.namespace, restoreJobName(restore));
  if (progress === undefined) return;
  const old = restore.status?.progress;
  if (old?.bytesDone === progress.bytesDone && old.filesDone === progress.filesDone) return;
  const { percentDone, filesDone, totalFiles, bytesDone, totalBytes } = progress;
  await writeRunStatus(
    deps.client,
    kinds.volumeRestore,
    restore,
    { progress: { percentDone, filesDone, totalFiles, bytesDone, totalBytes } },
    undefined,
    now,
  );
}

function restoreEvent(
  deps: RestoreStepDeps,
  restore: VolumeRestore,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  return runEvent(deps.client, 'VolumeRestore', restore, { type, reason, message }, deps.now());
}
