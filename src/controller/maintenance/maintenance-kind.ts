// Runs RepositoryMaintenance: waits until no backup writes to the repository
// (and makes new backups wait, see maintenanceFor), fixes the forget set from
// the retention plan when it starts, runs one mover Job in Safehold's
// namespace, then deletes the VolumeBackups of forgotten snapshots and
// records the repository's health in its status and in metrics. Starts are
// decided under the same gate as backup starts, so neither side can slip in
// while the other decides.
import {
  type BackupRepository,
  type MoverSettings,
  type RepositoryMaintenance,
  repositoryMaintenanceSpec,
  type RepositoryMaintenanceStatus,
  tenantOf,
  type VolumeBackup,
} from '../../api/index.ts';
import {
  maintenanceJobName,
  maintenanceLabel,
  nextMaintenanceStep,
  setCondition,
  type MaintenanceObservation,
  type MaintenanceStep,
} from '../../core/index.ts';
import { kinds, objectKey, WorkQueue, writeStatus, type KubeClient, type Requeue } from '../../kube/index.ts';
import { jobOutcome } from '../backup/backup-observation.ts';
import { createMaintenanceJob, finished, forgetSet, repositoryOf } from './maintenance-objects.ts';
import { cleanUpMaintenance } from './maintenance-results.ts';
import { markOrphans } from './orphan-marks.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';
import type { OperatorMetrics } from '../metrics.ts';
import type { Log } from '../operator.ts';
import type { StartGate } from '../run/start-gate.ts';

export interface MaintenanceControllerDeps {
  client: KubeClient;
  cache: ClusterCache;
  coverage: CoverageController;
  metrics: OperatorMetrics;
  gate: StartGate;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  log: Log;
}

const active = (b: VolumeBackup) => b.status?.phase === 'Snapshotting' || b.status?.phase === 'Running';

export class MaintenanceController {
  readonly #deps: MaintenanceControllerDeps;
  readonly #queue: WorkQueue;
  #ready = false;

  constructor(deps: MaintenanceControllerDeps) {
    this.#deps = deps;
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      concurrency: 2,
      onError: (key, error) =>
        deps.log('maintenance reconcile failed', {
          maintenance: key,
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    const { cache } = deps;
    cache.maintenances.onChange((c) => {
      this.#queue.add(c.key);
      // One maintenance ending lets the next of its repository start.
      if (c.type !== 'added' && finished(c.object))
        for (const m of cache.maintenances.list()) if (!finished(m)) this.#queue.add(objectKey(m));
    });
    cache.jobs.onChange((c) => {
      const name = c.object.metadata?.labels?.[maintenanceLabel];
      if (name !== undefined) this.#queue.add(`${c.object.metadata?.namespace ?? ''}/${name}`);
    });
    cache.pods.onChange((c) => {
      const name = c.object.metadata?.labels?.[maintenanceLabel];
      if (name !== undefined) this.#queue.add(`${c.object.metadata?.namespace ?? ''}/${name}`);
    });
    // A backup that ends may be what a pending maintenance waits for.
    cache.volumeBackups.onChange((c) => {
      if (c.type !== 'added' && !active(c.object))
        for (const m of cache.maintenances.list()) if (!finished(m)) this.#queue.add(objectKey(m));
    });
    const readerEnded = (c: { type: string; object: { status?: { phase?: string } } }) => {
      if (c.type !== 'added' && c.object.status?.phase !== 'Running')
        for (const m of cache.maintenances.list()) if (!finished(m)) this.#queue.add(objectKey(m));
    };
    cache.restores.onChange(readerEnded);
    cache.downloads.onChange(readerEnded);
    cache.claims.onChange((c) => {
      if (c.type === 'deleted') this.#queue.add(orphansKey);
    });
  }

  async start(): Promise<void> {
    await this.#deps.cache.synced();
    await this.#deps.coverage.firstPass;
    this.#ready = true;
    this.#queue.add(orphansKey);
    for (const m of this.#deps.cache.maintenances.list()) this.#queue.add(objectKey(m));
  }

  stop(): void {
    this.#queue.stop();
  }

  /** The unfinished maintenance of the repository a namespace's backups go to, if any: those backups wait. */
  maintenanceFor(repository: BackupRepository, namespace: string): string | undefined {
    const tenant = tenantOf(repository.spec, namespace);
    const found = this.#deps.cache.maintenances
      .list()
      .find((m) => !finished(m) && m.spec.repository === repository.metadata.name && (m.spec.tenant ?? '') === tenant);
    return found === undefined ? undefined : objectKey(found);
  }

  async #reconcile(key: string): Promise<Requeue | undefined> {
    if (!this.#ready) return undefined;
    if (key === orphansKey) return markOrphans(this.#deps);
    const maintenance = this.#deps.cache.maintenances.get(key);
    if (maintenance === undefined) return undefined;
    const uid = maintenance.metadata.uid ?? '';
    if ((maintenance.status?.phase ?? 'Pending') !== 'Pending') this.#deps.gate.startingMaintenance.delete(uid);
    if ((maintenance.status?.phase ?? 'Pending') === 'Pending')
      return this.#deps.gate.serialize(() => this.#step(maintenance));
    return this.#step(maintenance);
  }

  async #step(maintenance: RepositoryMaintenance): Promise<Requeue | undefined> {
    const observation = this.#observe(maintenance);
    const step = nextMaintenanceStep(observation);
    const uid = maintenance.metadata.uid ?? '';
    if (step.kind === 'start') this.#deps.gate.startingMaintenance.add(uid);
    try {
      return await this.#carryOut(maintenance, step);
    } catch (error) {
      if (step.kind === 'start') this.#deps.gate.startingMaintenance.delete(uid);
      throw error;
    }
  }

  #observe(maintenance: RepositoryMaintenance): MaintenanceObservation {
    const { cache } = this.#deps;
    const spec = repositoryMaintenanceSpec.safeParse(maintenance.spec);
    const repository = repositoryOf(this.#deps.cache, maintenance);
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
        : cache.volumeBackups
            .list()
            .find(
              (b) =>
                (active(b) || this.#deps.gate.starting.has(b.metadata.uid ?? '')) &&
                (b.status?.repository ?? b.spec.policy) !== undefined &&
                this.#sameRepository(b, repository, maintenance.spec.tenant ?? ''),
            );
    const reading = repository === undefined ? undefined : this.#reader(repository, maintenance.spec.tenant ?? '');
    const first = cache.maintenances
      .list()
      .find(
        (m) =>
          m.metadata.uid !== maintenance.metadata.uid &&
          !finished(m) &&
          m.spec.repository === maintenance.spec.repository &&
          (m.spec.tenant ?? '') === (maintenance.spec.tenant ?? '') &&
          (m.status?.phase === 'Running' ||
            this.#deps.gate.startingMaintenance.has(m.metadata.uid ?? '') ||
            goesBefore(m, maintenance)),
      );
    const job = cache.jobs.get(`${maintenance.metadata.namespace}/${maintenanceJobName(maintenance)}`);
    return {
      now: this.#deps.now(),
      maintenance,
      blocker,
      backupsActive: writing === undefined ? reading : objectKey(writing),
      otherMaintenance: first === undefined ? undefined : objectKey(first),
      job:
        job === undefined
          ? undefined
          : jobOutcome(cache, maintenance.metadata.namespace, job.metadata?.name ?? '', job.status?.conditions ?? []),
    };
  }

  /** A restore or download reading this restic repository (started or starting), "ns/name". */
  #reader(repository: BackupRepository, tenant: string): string | undefined {
    const { cache, gate } = this.#deps;
    const runs = [...cache.restores.list(), ...cache.downloads.list()];
    const found = runs.find((r) => {
      const backup = r.status?.backup;
      const reading = r.status?.phase === 'Running' || gate.startingReads.has(r.metadata.uid ?? '');
      return (
        reading &&
        backup !== undefined &&
        backup.repository === repository.metadata.name &&
        tenantOf(repository.spec, backup.namespace) === tenant
      );
    });
    return found === undefined ? undefined : objectKey(found);
  }

  /** Whether a backup writes to this restic repository (a run just starting may not have its repository in status yet). */
  #sameRepository(backup: VolumeBackup, repository: BackupRepository, tenant: string): boolean {
    if (tenantOf(repository.spec, backup.metadata.namespace) !== tenant) return false;
    if (backup.status?.repository !== undefined) return backup.status.repository === repository.metadata.name;
    return true; // unknown yet: count it, waiting a moment is harmless
  }

  async #carryOut(maintenance: RepositoryMaintenance, step: MaintenanceStep): Promise<Requeue | undefined> {
    const deps = this.#deps;
    const now = deps.now();
    const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const setStatus = (
      patch: Partial<RepositoryMaintenanceStatus>,
      condition?: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string },
    ) =>
      writeStatus<RepositoryMaintenance>(
        deps.client,
        kinds.repositoryMaintenance,
        { namespace: maintenance.metadata.namespace, name: maintenance.metadata.name },
        (current) => {
          const status: RepositoryMaintenanceStatus = { ...current.status, ...patch };
          if (condition !== undefined)
            status.conditions = setCondition(
              current.status?.conditions ?? [],
              { type: 'Complete', ...condition },
              stamp,
            );
          return JSON.parse(JSON.stringify(status)) as RepositoryMaintenanceStatus;
        },
      );
    switch (step.kind) {
      case 'wait':
        if (maintenance.status?.reason !== step.reason || maintenance.status.message !== step.message)
          await setStatus(
            {
              ...(maintenance.status?.phase === undefined ? { phase: 'Pending' as const } : {}),
              reason: step.reason,
              message: step.message,
            },
            { status: 'Unknown', reason: step.reason, message: step.message },
          );
        return { requeueAfterMs: step.recheckMs };
      case 'start': {
        const forget = maintenance.spec.forget === false ? [] : forgetSet(this.#deps, maintenance);
        await setStatus({
          phase: 'Running',
          reason: 'MoverRunning',
          message: `forgetting ${forget.length} backups${maintenance.spec.prune === false ? '' : ', then pruning'}${maintenance.spec.check === undefined ? '' : ', then checking'}`,
          startTime: stamp,
          forget,
        });
        return undefined;
      }
      case 'create-job': {
        const missing = await createMaintenanceJob(this.#deps, maintenance);
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
        await cleanUpMaintenance(this.#deps, maintenance);
        return undefined;
    }
  }
}

const orphansKey = '\u0000orphans';

/** Pending maintenance of one repository runs oldest first (then by name). */
function goesBefore(a: RepositoryMaintenance, b: RepositoryMaintenance): boolean {
  const created = (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '');
  return created < 0 || (created === 0 && a.metadata.name < b.metadata.name);
}
