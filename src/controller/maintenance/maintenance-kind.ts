// The maintenance kind of run: a RepositoryMaintenance waits until no backup
// writes to its repository and no restore or download reads it (and makes new
// ones wait, see maintenanceFor), fixes the forget set from the retention
// plan when it starts, runs one mover Job in Safehold's namespace, then
// deletes the VolumeBackups of forgotten snapshots and records the
// repository's health in its status and in metrics. Starts are decided under
// the same gate as backup starts, so neither side can slip in while the other
// decides.
import {
  repositoryMaintenanceSpec,
  tenantOf,
  timestamp,
  type BackupRepository,
  type MoverSettings,
  type RepositoryMaintenance,
  type VolumeBackup,
} from '../../api/index.ts';
import {
  maintenanceJobName,
  maintenanceLabel,
  nextMaintenanceStep,
  type MaintenanceObservation,
  type MaintenanceStep,
} from '../../core/index.ts';
import { ignoreNotFound, kinds, objectKey, type KubeClient, type KubeObject, type Requeue } from '../../kube/index.ts';
import type { HistoryWriter } from '../history/history-writer.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';
import type { OperatorMetrics } from '../metrics.ts';
import type { Log } from '../operator.ts';
import { moverOutcome } from '../run/mover-outcome.ts';
import { labelledRun, type RunKind } from '../run/run-kind.ts';
import { statusWriter, writeWaiting } from '../run/run-status.ts';
import type { StartGate } from '../run/start-gate.ts';
import { createMaintenanceJob, finished, forgetSet, repositoryOf } from './maintenance-objects.ts';
import { cleanUpMaintenance } from './maintenance-results.ts';

export interface MaintenanceDeps {
  client: KubeClient;
  cache: ClusterCache;
  coverage: CoverageController;
  metrics: OperatorMetrics;
  gate: StartGate;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  log: Log;
  histories: HistoryWriter;
}

const active = (b: VolumeBackup) => b.status?.phase === 'Snapshotting' || b.status?.phase === 'Running';

export function maintenanceKind(
  deps: MaintenanceDeps,
): RunKind<RepositoryMaintenance, MaintenanceObservation, MaintenanceStep> {
  const { cache } = deps;
  const ended = (c: { type: string; object: KubeObject & { status?: { phase?: string } } }) =>
    c.type !== 'added' && c.object.status?.phase !== 'Running';
  return {
    kind: 'RepositoryMaintenance',
    resource: kinds.repositoryMaintenance,
    informer: cache.maintenances,
    concurrency: 2,
    starts: 'maintenance',
    owned: [cache.jobs, cache.pods],
    runOf: labelledRun(maintenanceLabel),
    wakeUps: [
      // A backup that ends may be what a pending maintenance waits for; so may a restore or a download.
      { informer: cache.volumeBackups, when: (c) => c.type !== 'added' && !active(c.object as VolumeBackup) },
      { informer: cache.restores, when: ended },
      { informer: cache.downloads, when: ended },
      { informer: cache.bucketRestores, when: ended },
      { informer: cache.dumpRuns, when: ended },
    ],
    finished,
    observe: (maintenance) => observe(deps, maintenance),
    next: nextMaintenanceStep,
    carryOut: (maintenance, _seen, step) => carryOut(deps, maintenance, step),
    cleanUp: (maintenance) => deleteJob(deps, maintenance),
  };
}

/** Deletes the current attempt's Job and its credentials Secret. */
async function deleteJob(deps: MaintenanceDeps, maintenance: RepositoryMaintenance): Promise<void> {
  const name = maintenanceJobName(maintenance);
  const ns = maintenance.metadata.namespace;
  await ignoreNotFound(() =>
    deps.client.delete(kinds.job, { namespace: ns, name }, { propagationPolicy: 'Background' }),
  );
  await ignoreNotFound(() => deps.client.delete(kinds.secret, { namespace: ns, name: `${name}-creds` }));
}

/** The unfinished maintenance of the repository a namespace's backups go to, if any: those backups wait. */
export function maintenanceFor(
  cache: ClusterCache,
  repository: BackupRepository,
  namespace: string,
): string | undefined {
  const tenant = tenantOf(repository.spec, namespace);
  // One waiting to retry holds nothing back: it waits for the backups again when its time comes.
  const found = cache.maintenances
    .list()
    .find(
      (m) =>
        !finished(m) &&
        m.status?.reason !== 'RetryScheduled' &&
        m.spec.repository === repository.metadata.name &&
        (m.spec.tenant ?? '') === tenant,
    );
  return found === undefined ? undefined : objectKey(found);
}

function observe(deps: MaintenanceDeps, maintenance: RepositoryMaintenance): MaintenanceObservation {
  const { cache } = deps;
  const spec = repositoryMaintenanceSpec.safeParse(maintenance.spec);
  const repository = repositoryOf(cache, maintenance);
  const blocker = !spec.success
    ? {
        reason: 'InvalidSpec' as const,
        message: spec.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
      }
    : repository === undefined
      ? {
          reason: 'RepositoryNotFound' as const,
          message: `BackupRepository ${maintenance.spec.repository} does not exist or is invalid (spec.repository)`,
        }
      : undefined;
  const writing =
    repository === undefined
      ? undefined
      : cache
          .activeBackups(deps.gate.starting('writes'))
          .find(
            (b) =>
              (b.status?.repository ?? b.spec.policy) !== undefined &&
              sameRepository(b, repository, maintenance.spec.tenant ?? ''),
          );
  // A dump writing to it (running, or started a moment ago) holds it too.
  const starting = deps.gate.starting('writes');
  const dumping =
    repository === undefined
      ? undefined
      : cache.dumpRuns
          .list()
          .find(
            (r) =>
              (r.status?.phase === 'Running' || starting.has(r.metadata.uid ?? '')) &&
              (r.status?.repository === undefined || r.status.repository === repository.metadata.name) &&
              tenantOf(repository.spec, r.metadata.namespace) === (maintenance.spec.tenant ?? ''),
          );
  const reading = repository === undefined ? undefined : reader(deps, repository, maintenance.spec.tenant ?? '');
  const first = cache.maintenances
    .list()
    .find(
      (m) =>
        m.metadata.uid !== maintenance.metadata.uid &&
        !finished(m) &&
        m.spec.repository === maintenance.spec.repository &&
        (m.spec.tenant ?? '') === (maintenance.spec.tenant ?? '') &&
        (m.status?.phase === 'Running' ||
          deps.gate.starting('maintenance').has(m.metadata.uid ?? '') ||
          goesBefore(m, maintenance)),
    );
  return {
    now: deps.now(),
    maintenance,
    blocker,
    backupsActive: writing !== undefined ? objectKey(writing) : dumping !== undefined ? objectKey(dumping) : reading,
    otherMaintenance: first === undefined ? undefined : objectKey(first),
    job: moverOutcome(cache, maintenance.metadata.namespace, maintenanceJobName(maintenance)),
  };
}

/** A restore, download or bucket restore reading this restic repository (started or starting), "ns/name". */
function reader(deps: MaintenanceDeps, repository: BackupRepository, tenant: string): string | undefined {
  const { cache, gate } = deps;
  const runs = [...cache.restores.list(), ...cache.downloads.list()];
  const found = runs.find((r) => {
    const backup = r.status?.backup;
    const reading = r.status?.phase === 'Running' || gate.starting('reads').has(r.metadata.uid ?? '');
    return (
      reading &&
      backup !== undefined &&
      backup.repository === repository.metadata.name &&
      tenantOf(repository.spec, backup.namespace) === tenant
    );
  });
  if (found !== undefined) return objectKey(found);
  // A bucket restore reads a dump of its own namespace.
  const restoring = cache.bucketRestores
    .list()
    .find(
      (r) =>
        (r.status?.phase === 'Running' || gate.starting('reads').has(r.metadata.uid ?? '')) &&
        r.status?.backup?.repository === repository.metadata.name &&
        tenantOf(repository.spec, r.metadata.namespace) === tenant,
    );
  return restoring === undefined ? undefined : objectKey(restoring);
}

/** Whether a backup writes to this restic repository (a run just starting may not have its repository in status yet). */
function sameRepository(backup: VolumeBackup, repository: BackupRepository, tenant: string): boolean {
  if (tenantOf(repository.spec, backup.metadata.namespace) !== tenant) return false;
  if (backup.status?.repository !== undefined) return backup.status.repository === repository.metadata.name;
  return true; // unknown yet: count it, waiting a moment is harmless
}

async function carryOut(
  deps: MaintenanceDeps,
  maintenance: RepositoryMaintenance,
  step: MaintenanceStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = timestamp(now);
  const setStatus = statusWriter(deps.client, kinds.repositoryMaintenance, maintenance, now);
  switch (step.kind) {
    case 'wait':
      await writeWaiting(deps.client, kinds.repositoryMaintenance, maintenance, step, now);
      return { requeueAfterMs: step.recheckMs };
    case 'start': {
      const forget = maintenance.spec.forget === false ? [] : forgetSet(deps, maintenance);
      await setStatus({
        phase: 'Running',
        reason: 'MoverRunning',
        message: `${step.attempt > 1 ? `attempt ${step.attempt}: ` : ''}forgetting ${forget.length} backups${maintenance.spec.prune === false ? '' : ', then pruning'}${maintenance.spec.check === undefined ? '' : ', then checking'}`,
        startTime: stamp,
        attempt: step.attempt,
        forget,
      });
      return undefined;
    }
    case 'retry':
      await deleteJob(deps, maintenance);
      await setStatus(
        {
          phase: 'Pending',
          reason: 'RetryScheduled',
          message: step.message.slice(0, 2048),
          nextAttemptTime: timestamp(step.at),
        },
        { status: 'Unknown', reason: 'RetryScheduled', message: step.message.slice(0, 2048) },
      );
      deps.metrics.maintenanceRuns.inc({
        repository: maintenance.spec.repository,
        tenant: maintenance.spec.tenant ?? '',
        result: 'RetryScheduled',
      });
      return { requeueAfterMs: Math.max(1000, step.at.getTime() - now.getTime()) };
    case 'create-job': {
      const missing = await createMaintenanceJob(deps, maintenance);
      if (missing !== undefined) {
        await setStatus(
          { phase: 'Failed', reason: 'SecretNotFound', message: missing, completionTime: stamp },
          { status: 'False', reason: 'SecretNotFound', message: missing },
        );
      }
      return undefined;
    }
    case 'succeed': {
      const r = step.result;
      const checkFailed = r.check !== undefined && !r.check.ok;
      const message = [
        `forgot ${r.forgotten} backups (${r.alreadyGone} already gone)`,
        r.prune === undefined ? undefined : `pruned ${r.prune.bytesFreed} bytes`,
        r.check === undefined ? undefined : r.check.ok ? 'check clean' : `check FAILED: ${r.check.message}`,
        `${r.snapshots} snapshots left`,
      ]
        .filter((part) => part !== undefined)
        .join('; ');
      await setStatus(
        {
          phase: checkFailed ? 'Failed' : 'Succeeded',
          reason: checkFailed ? 'CheckFailed' : 'Succeeded',
          message: message.slice(0, 2048),
          completionTime: stamp,
          forgotten: r.forgotten,
          alreadyGone: r.alreadyGone,
          ...(r.prune === undefined ? {} : { bytesFreed: r.prune.bytesFreed }),
          ...(r.check === undefined ? {} : { checkOk: r.check.ok, checkMessage: r.check.message.slice(0, 2048) }),
          ...(r.check?.damagedPacks === undefined
            ? {}
            : {
                damage: {
                  packs: r.check.damagedPacks,
                  snapshots: r.check.affectedSnapshots ?? [],
                  ...(r.check.affectedMore === undefined ? {} : { more: r.check.affectedMore }),
                  ...(r.check.affectedUnknown === undefined ? {} : { unknown: r.check.affectedUnknown }),
                },
              }),
          snapshots: r.snapshots,
          ...(r.repositoryBytes === undefined ? {} : { repositoryBytes: r.repositoryBytes }),
        },
        {
          status: checkFailed ? 'False' : 'True',
          reason: checkFailed ? 'CheckFailed' : 'Succeeded',
          message: message.slice(0, 2048),
        },
      );
      return undefined;
    }
    case 'fail':
      await setStatus(
        { phase: 'Failed', reason: step.reason, message: step.message, completionTime: stamp },
        { status: 'False', reason: step.reason, message: step.message },
      );
      return undefined;
    case 'clean-up':
      await cleanUpMaintenance(deps, maintenance);
      return undefined;
  }
}

/** Pending maintenance of one repository runs oldest first (then by name). */
function goesBefore(a: RepositoryMaintenance, b: RepositoryMaintenance): boolean {
  const created = (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '');
  return created < 0 || (created === 0 && a.metadata.name < b.metadata.name);
}
