// Carrying out one step of a VolumeBackup run against the API: status writes
// (through the one run status writer), the exposure of the volume (through
// the exposer), the credentials Secret and mover Job, write-back to the PV and
// PVC, Events, metrics, and clean-up. Every step is idempotent.
import {
  annotations,
  timestamp,
  type BlockImageReport,
  type VolumeBackup,
  type VolumeBackupStatus,
} from '../../api/index.ts';
import { backupSnapshotPath, chainOf, type RunStep } from '../../core/index.ts';
import { ignoreNotFound, kinds, type Requeue } from '../../kube/index.ts';
import { cleanedUp, isCleanedUp, statusWriter, writeRunStatus, writeWaiting } from '../run/run-status.ts';
import type { BackupDeps } from './backup-kind.ts';
import { createJob, ensureCredentials, removeTemporaries } from './backup-objects.ts';
import { backupExposure, backupSnapshotName, credentialsSecretName, type ObservedRun } from './backup-observation.ts';
import {
  adoptGroupSnapshot,
  createGroupSnapshot,
  labelGroupClaims,
  releaseGroupSnapshot,
} from './group-snapshot-steps.ts';
import { captureMember } from './group-steps.ts';
import { recordHook, runHook } from './hook-steps.ts';
import { event, writeBack } from './write-back.ts';

const keptLabel = 'safehold.io/kept';

export async function carryOut(
  deps: BackupDeps,
  backup: VolumeBackup,
  observed: ObservedRun,
  step: RunStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = timestamp(now);
  const setStatus = statusWriter(deps.client, kinds.volumeBackup, backup, now);
  const { observation, repository } = observed;
  switch (step.kind) {
    case 'wait':
      await writeWaiting(deps.client, kinds.volumeBackup, backup, step, now);
      return { requeueAfterMs: step.recheckMs };
    case 'start': {
      const missing = await ensureCredentials(deps, backup, observed);
      if (missing !== undefined) {
        await setStatus(
          { phase: 'Pending', reason: 'SecretNotFound', message: missing },
          { status: 'Unknown', reason: 'SecretNotFound', message: missing },
        );
        return { requeueAfterMs: 30_000 };
      }
      const snapshotting = step.method === 'snapshot';
      deps.gate.admit(backup.metadata.uid ?? '', { repository: repository?.metadata.name, node: step.node });
      await setStatus({
        phase: snapshotting ? 'Snapshotting' : 'Running',
        method: step.method,
        attempt: step.attempt,
        startTime: backup.status?.startTime ?? stamp,
        // Set when the attempt's data is captured (create-job): the snapshot's time, or the copy's start.
        snapshotTime: undefined,
        policy: observation.policy?.metadata.name,
        repository: repository?.metadata.name,
        node: step.node,
        hooks: step.hooks.length === 0 ? undefined : step.hooks,
        group: step.group.length === 0 ? undefined : step.group,
        groupSnapshot: step.groupSnapshot,
        volume: recordedVolume(deps, backup),
        reason: snapshotting ? 'SnapshotPending' : 'MoverRunning',
        message: `attempt ${step.attempt}: ${snapshotting ? 'taking a snapshot' : 'copying the live volume'}`,
        nextAttemptTime: undefined,
      });
      return undefined;
    }
    case 'run-hook':
      await runHook(deps, backup, step);
      return undefined;
    case 'record-hook':
      await recordHook(deps, backup, step);
      return undefined;
    case 'create-member-backup':
    case 'create-member-snapshot':
      return captureMember(deps, backup, step, now);
    case 'label-group-claims':
      return labelGroupClaims(deps, backup);
    case 'create-group-snapshot':
      return createGroupSnapshot(deps, backup);
    case 'adopt-group-snapshot':
      return adoptGroupSnapshot(deps, backup);
    case 'create-snapshot':
    case 'create-clone':
    case 'create-alias':
      await deps.exposer.carryOut(backupExposure(backup, backup.status?.method), step, now);
      return undefined;
    case 'nudge-alias':
      await deps.exposer.carryOut(backupExposure(backup, backup.status?.method), step, now);
      return { requeueAfterMs: 2000 };
    case 'create-job': {
      const missing = await ensureCredentials(deps, backup, observed);
      if (missing !== undefined) return { requeueAfterMs: 30_000 };
      // The capture time first: the Job's restic --time and the status say the same.
      const detection = step.changeDetection;
      if (
        backup.status?.snapshotTime !== step.snapshotTime ||
        backup.status.changeDetection?.reason !== detection?.reason
      )
        await setStatus({ snapshotTime: step.snapshotTime, changeDetection: detection });
      const node = await createJob(deps, backup, observed, step);
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
          snapshotId: r.snapshotId,
          files: { new: r.filesNew, changed: r.filesChanged, unmodified: r.filesUnmodified, total: r.filesProcessed },
          bytes: { added: r.bytesAdded, total: r.bytesProcessed },
          ...(r.block === undefined
            ? { snapshotPath: backupSnapshotPath(backup.status?.method) }
            : { snapshotPath: '/', block: blockStatus(deps, backup, r.block) }),
        },
        { status: 'True', reason: 'Succeeded', message: `restic snapshot ${r.snapshotId}` },
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
      if (step.clearAttempt) await removeTemporaries(deps, backup, !step.discardSnapshot);
      // A discarded group snapshot is taken again by the next attempt, with its new members.
      if (step.clearAttempt && step.discardSnapshot && (await releaseGroupSnapshot(deps, backup, true)))
        await setStatus({ snapshotName: undefined });
      await setStatus(
        {
          phase: 'Pending',
          reason: 'RetryScheduled',
          message: `${step.message}; retrying at ${step.at.toISOString()}`,
          attempt: step.attempt,
          nextAttemptTime: step.at.toISOString(),
        },
        { status: 'Unknown', reason: step.reason, message: step.message },
      );
      // The volume shows its last attempt failed from now on, not only once the retries run out.
      await writeBack(deps, backup, {
        [annotations.lastResult]: 'Failed',
        [annotations.lastError]:
          `${stamp} ${step.reason}: ${step.message} (retrying at ${step.at.toISOString()})`.slice(0, 1024),
      });
      await event(deps, backup, 'Warning', 'BackupRetrying', `${step.reason}: ${step.message}`);
      return { requeueAfterMs: step.at.getTime() - now.getTime() };
    case 'fail':
      await setStatus(
        {
          phase: 'Failed',
          reason: step.reason,
          message: step.message,
          completionTime: stamp,
          ...(step.attempt === undefined ? {} : { attempt: step.attempt }),
        },
        { status: 'False', reason: step.reason, message: step.message },
      );
      await writeBack(deps, backup, {
        [annotations.lastResult]: 'Failed',
        [annotations.lastError]: `${stamp} ${step.reason}: ${step.message}`.slice(0, 1024),
      });
      await event(deps, backup, 'Warning', 'BackupFailed', `${step.reason}: ${step.message}`);
      deps.metrics.runs.inc({ namespace: backup.metadata.namespace, result: 'Failed', trigger: backup.spec.trigger });
      return undefined;
    case 'clean-up':
      return cleanUp(deps, backup, observed);
  }
}

/**
 * Job, alias, clone, then snapshot (kept when the policy keeps snapshots), then the run's Secret;
 * a group snapshot once every run of its group has copied its volume.
 */
async function cleanUp(deps: BackupDeps, backup: VolumeBackup, observed: ObservedRun): Promise<Requeue | undefined> {
  if (isCleanedUp(backup)) return undefined;
  const ns = backup.metadata.namespace;
  const keepCount = observed.observation.policy?.spec.keepSnapshots ?? 0;
  // A group snapshot's snapshot goes with its group, never kept apart from it.
  const keep =
    backup.status?.phase === 'Succeeded' && keepCount > 0 && backupSnapshotName(backup) === backup.metadata.name;
  // Members still copying from the group snapshot keep it, and this run's clean-up waits for them.
  if (!(await releaseGroupSnapshot(deps, backup))) return { requeueAfterMs: 10_000 };
  // A run that never started made at most its Secret.
  if (backup.status?.startTime === undefined)
    await ignoreNotFound(() =>
      deps.client.delete(kinds.secret, { namespace: deps.namespace, name: credentialsSecretName(backup) }),
    );
  else await removeTemporaries(deps, backup, keep);
  if (keep) {
    const snapshotName = backupSnapshotName(backup);
    // A kept snapshot outlives its run: retention may forget the run's backup before the snapshot's turn comes.
    await ignoreNotFound(() =>
      deps.client.mergePatch(
        kinds.volumeSnapshot,
        { namespace: ns, name: snapshotName },
        { metadata: { labels: { [keptLabel]: 'true' }, ownerReferences: null } },
      ),
    );
    // Seed 004: the last N snapshots of the volume stay in the cluster for fast restore; older ones go.
    const kept = deps.cache
      .snapshotsOf(ns, backup.spec.pvc)
      .filter((s) => s.metadata?.labels?.[keptLabel] === 'true' && s.metadata.name !== snapshotName)
      .sort((a, b) => (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''));
    for (const old of kept.slice(keepCount - 1)) {
      await ignoreNotFound(() =>
        deps.client.delete(kinds.volumeSnapshot, { namespace: ns, name: old.metadata?.name ?? '' }),
      );
    }
  }
  await writeRunStatus(
    deps.client,
    kinds.volumeBackup,
    backup,
    {},
    cleanedUp(keep ? 'kept the VolumeSnapshot for fast restore' : 'deleted the mover Job, clone and snapshot'),
    deps.now(),
  );
  return undefined;
}

/** The PVC as it is now: what a restore to a new PVC defaults to, even once the PVC is gone. */
function recordedVolume(deps: BackupDeps, backup: VolumeBackup): VolumeBackupStatus['volume'] {
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
function blockStatus(deps: BackupDeps, backup: VolumeBackup, report: BlockImageReport): VolumeBackupStatus['block'] {
  const siblings = deps.cache.backupsOf(backup.metadata.namespace, backup.spec.pvc);
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
