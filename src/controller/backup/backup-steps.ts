// Carrying out one step of a VolumeBackup run against the API: status writes
// (with conflict retry), the run's snapshot, clone, credentials Secret and
// mover Job (owned by the VolumeBackup, labelled with the run), write-back
// to the PV and PVC, Events, metrics, and cleanup Job, then clone, then
// snapshot. Every step is idempotent.
import {
  annotations,
  runLabels,
  type BlockImageReport,
  type VolumeBackup,
  type VolumeBackupStatus,
} from '../../api/index.ts';
import { backupSnapshotPath, chainOf, moverJobName, type RunStep, setCondition } from '../../core/index.ts';
import { ignoreNotFound, kinds, writeStatus, type KubeClient, type Requeue } from '../../kube/index.ts';
import type { BackupControllerDeps } from './backup-kind.ts';
import {
  createAlias,
  createJob,
  createSnapshot,
  createTempClaim,
  deleteRunVolumes,
  ensureCredentials,
} from './backup-objects.ts';
import { event, writeBack } from './write-back.ts';
import { aliasName, credentialsSecretName, snapshotName, type ObservedRun } from './backup-observation.ts';

type Condition = NonNullable<VolumeBackupStatus['conditions']>[number];

const keptLabel = 'safehold.io/kept';
export async function carryOut(
  deps: BackupControllerDeps,
  backup: VolumeBackup,
  observed: ObservedRun,
  step: RunStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const setStatus = (patch: Partial<VolumeBackupStatus>, complete?: Omit<Condition, 'lastTransitionTime'>) =>
    updateStatus(deps.client, backup, patch, complete, stamp);
  const { observation, repository } = observed;
  switch (step.kind) {
    case 'wait':
      if (backup.status?.reason !== step.reason || backup.status.message !== step.message) {
        // Never the phase from the cache: it may be older than a write this operator just made.
        await setStatus(
          {
            ...(backup.status?.phase === undefined ? { phase: 'Pending' } : {}),
            reason: step.reason,
            message: step.message,
          },
          { type: 'Complete', status: 'Unknown', reason: step.reason, message: step.message },
        );
      }
      return { requeueAfterMs: step.recheckMs };
    case 'start': {
      const missing = await ensureCredentials(deps, backup, observed);
      if (missing !== undefined) {
        await setStatus(
          { phase: 'Pending', reason: 'SecretNotFound', message: missing },
          { type: 'Complete', status: 'Unknown', reason: 'SecretNotFound', message: missing },
        );
        return { requeueAfterMs: 30_000 };
      }
      const snapshotting = step.method === 'snapshot';
      await setStatus({
        phase: snapshotting ? 'Snapshotting' : 'Running',
        method: step.method,
        attempt: step.attempt,
        startTime: backup.status?.startTime ?? stamp,
        snapshotTime: stamp,
        policy: observation.policy?.metadata.name,
        repository: repository?.metadata.name,
        volume: recordedVolume(deps, backup),
        reason: snapshotting ? 'SnapshotPending' : 'MoverRunning',
        message: `attempt ${step.attempt}: ${snapshotting ? 'taking a snapshot' : 'copying the live volume'}`,
        nextAttemptTime: undefined,
      });
      return undefined;
    }
    case 'create-snapshot':
      await createSnapshot(deps, backup);
      return undefined;
    case 'create-temp-claim':
      await createTempClaim(deps, backup);
      return undefined;
    case 'create-alias':
      await createAlias(deps, backup);
      return undefined;
    case 'nudge-alias':
      await ignoreNotFound(() =>
        deps.client.mergePatch(
          kinds.persistentVolumeClaim,
          { namespace: deps.namespace, name: aliasName(backup) },
          { metadata: { annotations: { 'safehold.io/bind-requested': stamp } } },
        ),
      );
      return { requeueAfterMs: 2000 };
    case 'create-job': {
      const missing = await ensureCredentials(deps, backup, observed);
      if (missing !== undefined) return { requeueAfterMs: 30_000 };
      const node = await createJob(deps, backup, observed);
      if (node !== undefined && backup.status?.node !== node) await setStatus({ node });
      if (backup.status?.phase !== 'Running')
        await setStatus({
          phase: 'Running',
          reason: 'MoverRunning',
          message: `attempt ${backup.status?.attempt ?? 1}: the mover is copying the volume`,
        });
      return undefined;
    }
    case 'succeed': {
      const r = step.result;
      await setStatus(
        {
          phase: 'Succeeded',
          reason: 'Succeeded',
          message: `snapshot ${r.snapshotId.slice(0, 8)}: ${r.filesNew} new, ${r.filesChanged} changed, ${r.filesUnmodified} unmodified files`,
          completionTime: stamp,
          resticSnapshotId: r.snapshotId,
          files: { new: r.filesNew, changed: r.filesChanged, unmodified: r.filesUnmodified, total: r.filesProcessed },
          bytes: { added: r.bytesAdded, total: r.bytesProcessed },
          ...(r.block === undefined
            ? { snapshotPath: backupSnapshotPath(backup.status?.method) }
            : { snapshotPath: '/', block: blockStatus(deps, backup, r.block) }),
        },
        { type: 'Complete', status: 'True', reason: 'Succeeded', message: `restic snapshot ${r.snapshotId}` },
      );
      await writeBack(deps, backup, {
        [annotations.lastBackup]: stamp,
        [annotations.lastResult]: 'Succeeded',
        [annotations.lastSnapshot]: r.snapshotId,
        [annotations.lastError]: null,
      });
      await event(
        deps,
        backup,
        'Normal',
        'BackupSucceeded',
        `backed up to restic snapshot ${r.snapshotId.slice(0, 8)} (${r.filesProcessed} files, ${r.bytesAdded} bytes new)`,
      );
      const started = Date.parse(backup.status?.startTime ?? stamp);
      deps.metrics.runs.inc({
        namespace: backup.metadata.namespace,
        result: 'Succeeded',
        trigger: backup.spec.trigger,
      });
      deps.metrics.runDuration.set(
        { namespace: backup.metadata.namespace, pvc: backup.spec.pvc },
        (now.getTime() - started) / 1000,
      );
      deps.metrics.bytesAdded.set({ namespace: backup.metadata.namespace, pvc: backup.spec.pvc }, r.bytesAdded);
      deps.metrics.bytesTotal.set({ namespace: backup.metadata.namespace, pvc: backup.spec.pvc }, r.bytesProcessed);
      return undefined;
    }
    case 'retry':
      await ignoreNotFound(() =>
        deps.client.delete(
          kinds.job,
          { namespace: deps.namespace, name: moverJobName(backup, backup.status?.attempt ?? 1) },
          { propagationPolicy: 'Background' },
        ),
      );
      await deleteRunVolumes(deps, backup, step.discardSnapshot);
      await setStatus(
        {
          phase: 'Pending',
          reason: 'RetryScheduled',
          message: `${step.message}; retrying at ${step.at.toISOString()}`,
          attempt: step.attempt,
          nextAttemptTime: step.at.toISOString(),
        },
        { type: 'Complete', status: 'Unknown', reason: step.reason, message: step.message },
      );
      await event(deps, backup, 'Warning', 'BackupRetrying', `${step.reason}: ${step.message}`);
      return { requeueAfterMs: step.at.getTime() - now.getTime() };
    case 'fail':
      await setStatus(
        { phase: 'Failed', reason: step.reason, message: step.message, completionTime: stamp },
        { type: 'Complete', status: 'False', reason: step.reason, message: step.message },
      );
      await writeBack(deps, backup, {
        [annotations.lastResult]: 'Failed',
        [annotations.lastError]: `${stamp} ${step.reason}: ${step.message}`.slice(0, 1024),
      });
      await event(deps, backup, 'Warning', 'BackupFailed', `${step.reason}: ${step.message}`);
      deps.metrics.runs.inc({ namespace: backup.metadata.namespace, result: 'Failed', trigger: backup.spec.trigger });
      return undefined;
    case 'clean-up':
      await cleanUp(deps, backup, observed);
      return undefined;
  }
}

async function updateStatus(
  client: KubeClient,
  backup: VolumeBackup,
  patch: Partial<VolumeBackupStatus>,
  complete: Omit<Condition, 'lastTransitionTime'> | undefined,
  stamp: string,
): Promise<void> {
  await writeStatus<VolumeBackup>(
    client,
    kinds.volumeBackup,
    { namespace: backup.metadata.namespace, name: backup.metadata.name },
    (current) => {
      const status: VolumeBackupStatus = { ...current.status, ...patch };
      if (complete !== undefined) status.conditions = setCondition(current.status?.conditions ?? [], complete, stamp);
      return JSON.parse(JSON.stringify(status)) as VolumeBackupStatus;
    },
  );
}

/** Job, alias, clone, then snapshot (kept when the policy keeps snapshots), then the run's Secret. */
async function cleanUp(deps: BackupControllerDeps, backup: VolumeBackup, observed: ObservedRun): Promise<void> {
  if (backup.status?.conditions?.some((c) => c.type === 'CleanedUp' && c.status === 'True') === true) return;
  const ns = backup.metadata.namespace;
  for (const job of deps.cache.jobs
    .list()
    .filter(
      (j) =>
        j.metadata?.namespace === deps.namespace &&
        j.metadata.labels?.[runLabels.run] === backup.metadata.name &&
        j.metadata.labels[runLabels.namespace] === ns,
    )) {
    await ignoreNotFound(() =>
      deps.client.delete(
        kinds.job,
        { namespace: deps.namespace, name: job.metadata?.name ?? '' },
        { propagationPolicy: 'Background' },
      ),
    );
  }
  const keepCount = observed.observation.policy?.spec.keepSnapshots ?? 0;
  const keep = backup.status?.phase === 'Succeeded' && keepCount > 0;
  await deleteRunVolumes(deps, backup, !keep);
  if (keep) {
    // A kept snapshot outlives its run: retention may forget the run's backup before the snapshot's turn comes.
    await ignoreNotFound(() =>
      deps.client.mergePatch(
        kinds.volumeSnapshot,
        { namespace: ns, name: snapshotName(backup) },
        { metadata: { labels: { [keptLabel]: 'true' }, ownerReferences: null } },
      ),
    );
    // Seed 004: the last N snapshots of the volume stay in the cluster for fast restore; older ones go.
    const kept = deps.cache.snapshots
      .list()
      .filter(
        (s) =>
          s.metadata?.namespace === ns &&
          s.metadata.labels?.[keptLabel] === 'true' &&
          s.spec?.source?.persistentVolumeClaimName === backup.spec.pvc &&
          s.metadata.name !== snapshotName(backup),
      )
      .sort((a, b) => (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''));
    for (const old of kept.slice(keepCount - 1)) {
      await ignoreNotFound(() =>
        deps.client.delete(kinds.volumeSnapshot, { namespace: ns, name: old.metadata?.name ?? '' }),
      );
    }
  }
  await ignoreNotFound(() =>
    deps.client.delete(kinds.secret, { namespace: deps.namespace, name: credentialsSecretName(backup) }),
  );
  await updateStatus(
    deps.client,
    backup,
    {},
    {
      type: 'CleanedUp',
      status: 'True',
      reason: 'TemporaryObjectsDeleted',
      message: keep ? 'kept the VolumeSnapshot for fast restore' : 'deleted the mover Job, clone and snapshot',
    },
    deps
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
  );
}

/** The PVC as it is now: what a restore to a new PVC defaults to, even once the PVC is gone. */
function recordedVolume(deps: BackupControllerDeps, backup: VolumeBackup): VolumeBackupStatus['volume'] {
  const claim = deps.cache.claims.get(`${backup.metadata.namespace}/${backup.spec.pvc}`);
  const capacity = claim?.status?.capacity?.storage ?? claim?.spec?.resources?.requests?.storage;
  return JSON.parse(
    JSON.stringify({
      capacity,
      storageClassName: claim?.spec?.storageClassName,
      accessModes: claim?.spec?.accessModes,
      volumeMode: claim?.spec?.volumeMode,
    }),
  ) as VolumeBackupStatus['volume'];
}

/** A block backup's image as its status records it; an overlay's chain length counts the images under it. */
function blockStatus(
  deps: BackupControllerDeps,
  backup: VolumeBackup,
  report: BlockImageReport,
): VolumeBackupStatus['block'] {
  const siblings = deps.cache.volumeBackups
    .list()
    .filter((b) => b.metadata.namespace === backup.metadata.namespace && b.spec.pvc === backup.spec.pvc);
  const below = report.parent === undefined ? 0 : chainOf(siblings, report.parent).chain.length;
  return {
    file: report.fileName,
    virtualSize: report.virtualSize,
    dataBytes: report.dataBytes,
    bytesRead: report.bytesRead,
    extentsFrom: report.extentsFrom,
    ...(report.rbdSnapshot === undefined ? {} : { rbdSnapshot: report.rbdSnapshot }),
    ...(report.parent === undefined ? {} : { parent: report.parent }),
    chainLength: below + 1,
    ...(report.fullBecause === undefined ? {} : { fullBecause: report.fullBecause }),
    ...(report.scanBecause === undefined ? {} : { scanBecause: report.scanBecause }),
  };
}
