// Runs RepositoryMaintenance: waits until no backup writes to the repository
// (and makes new backups wait, see maintenanceFor), fixes the forget set from
// the retention plan when it starts, runs one mover Job in Safehold's
// namespace, then deletes the VolumeBackups of forgotten snapshots and
// records the repository's health in its status and in metrics. Starts are
// decided under the same gate as backup starts, so neither side can slip in
// while the other decides.
import {
  annotations,
  repositoryMaintenanceSpec,
  repositoryUrl,
  tenantOf,
  type BackupRepository,
  type BackupRepositoryStatus,
  type MaintenanceTask,
  type RepositoryMaintenance,
  type RepositoryMaintenanceStatus,
  type TenantHealth,
  type VolumeBackup,
} from '../api/index.ts';
import {
  maintenanceJobName,
  maintenanceLabel,
  moverCacheDir,
  moverJob,
  nextMaintenanceStep,
  planRetention,
  setCondition,
  type MaintenanceObservation,
  type MaintenanceStep,
} from '../core/index.ts';
import {
  ignoreNotFound,
  kinds,
  objectKey,
  recordEvent,
  WorkQueue,
  writeStatus,
  type KubeClient,
  type Requeue,
} from '../kube/index.ts';
import { parseResult } from './backup-observation.ts';
import type { ClusterCache } from './cluster-cache.ts';
import type { CoverageController } from './coverage-controller.ts';
import type { OperatorMetrics } from './metrics.ts';
import type { Log } from './operator.ts';
import { createCredentialsSecret, repositoryCredentials } from './repository-credentials.ts';
import type { StartGate } from './start-gate.ts';

export interface MaintenanceControllerDeps {
  client: KubeClient;
  cache: ClusterCache;
  coverage: CoverageController;
  metrics: OperatorMetrics;
  gate: StartGate;
  namespace: string;
  moverImage: string;
  now: () => Date;
  log: Log;
}

/** At most this many snapshots are forgotten per run (the task travels in an environment variable); the rest next time. */
const maxForgetPerRun = 500;
/** Finished maintenance objects kept per repository, tenant and operation. */
const keepFinished = 3;
/** Failed backup runs older than this are deleted by maintenance. */
const failedRunAgeMs = 7 * 86_400_000;

const active = (b: VolumeBackup) => b.status?.phase === 'Snapshotting' || b.status?.phase === 'Running';
const finished = (m: RepositoryMaintenance) => m.status?.phase === 'Succeeded' || m.status?.phase === 'Failed';

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
    cache.maintenances.onChange((c) => this.#queue.add(c.key));
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
    if (key === orphansKey) return this.#markOrphans();
    const maintenance = this.#deps.cache.maintenances.get(key);
    if (maintenance === undefined) return undefined;
    if ((maintenance.status?.phase ?? 'Pending') === 'Pending')
      return this.#deps.gate.serialize(() => this.#step(maintenance));
    return this.#step(maintenance);
  }

  async #step(maintenance: RepositoryMaintenance): Promise<Requeue | undefined> {
    const observation = this.#observe(maintenance);
    const step = nextMaintenanceStep(observation);
    return this.#carryOut(maintenance, step);
  }

  #repository(maintenance: RepositoryMaintenance): BackupRepository | undefined {
    return this.#deps.cache.repository(maintenance.spec.repository);
  }

  /** The Succeeded and Failed VolumeBackups whose data is in this maintenance's restic repository. */
  #backupsInScope(maintenance: RepositoryMaintenance, repository: BackupRepository): VolumeBackup[] {
    const tenant = maintenance.spec.tenant ?? '';
    return this.#deps.cache.volumeBackups
      .list()
      .filter(
        (b) =>
          b.status?.repository === repository.metadata.name &&
          tenantOf(repository.spec, b.metadata.namespace) === tenant,
      );
  }

  #observe(maintenance: RepositoryMaintenance): MaintenanceObservation {
    const { cache } = this.#deps;
    const spec = repositoryMaintenanceSpec.safeParse(maintenance.spec);
    const repository = this.#repository(maintenance);
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
    const job = cache.jobs.get(`${maintenance.metadata.namespace}/${maintenanceJobName(maintenance)}`);
    return {
      now: this.#deps.now(),
      maintenance,
      blocker,
      backupsActive: writing === undefined ? undefined : objectKey(writing),
      job: job === undefined ? undefined : this.#jobOutcome(maintenance, job.status?.conditions ?? []),
    };
  }

  /** Whether a backup writes to this restic repository (a run just starting may not have its repository in status yet). */
  #sameRepository(backup: VolumeBackup, repository: BackupRepository, tenant: string): boolean {
    if (tenantOf(repository.spec, backup.metadata.namespace) !== tenant) return false;
    if (backup.status?.repository !== undefined) return backup.status.repository === repository.metadata.name;
    return true; // unknown yet: count it, waiting a moment is harmless
  }

  #jobOutcome(maintenance: RepositoryMaintenance, conditions: { type: string; status: string; message?: string }[]) {
    const jobName = maintenanceJobName(maintenance);
    const done = conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
    const pod = this.#deps.cache.pods
      .list()
      .find(
        (p) =>
          p.metadata?.namespace === maintenance.metadata.namespace &&
          p.metadata.labels?.['batch.kubernetes.io/job-name'] === jobName,
      );
    const terminated = pod?.status?.containerStatuses?.find((c) => c.name === 'mover')?.state?.terminated;
    return {
      finished: done || terminated !== undefined,
      result: parseResult(terminated?.message),
      failureMessage: failed?.message ?? terminated?.reason,
    };
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
            { phase: maintenance.status?.phase ?? 'Pending', reason: step.reason, message: step.message },
            { status: 'Unknown', reason: step.reason, message: step.message },
          );
        return { requeueAfterMs: step.recheckMs };
      case 'start': {
        const forget = maintenance.spec.forget === false ? [] : this.#forgetSet(maintenance);
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
        const missing = await this.#createJob(maintenance);
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
        await this.#cleanUp(maintenance);
        return undefined;
    }
  }

  /** The restic snapshots retention drops in this repository now: the plan's drops, oldest first, bounded. */
  #forgetSet(maintenance: RepositoryMaintenance): string[] {
    const repository = this.#repository(maintenance);
    if (repository === undefined) return [];
    const { cache, coverage } = this.#deps;
    const plans = planRetention({
      backups: this.#backupsInScope(maintenance, repository),
      policies: cache.parsedPolicies().valid,
      protectingPolicy: (key) => {
        const decision = coverage.row(key)?.decision;
        return decision?.state === 'protected' ? decision.policy : undefined;
      },
      claimExists: (key) => cache.claims.get(key) !== undefined,
      now: this.#deps.now(),
    });
    return plans
      .flatMap((plan) => plan.verdicts.filter((v) => !v.keep).map((v) => v.entry))
      .sort((a, b) => a.time.getTime() - b.time.getTime())
      .slice(0, maxForgetPerRun)
      .map((entry) => entry.id);
  }

  /** Creates the credentials Secret and the Job; returns what is missing, if anything. */
  async #createJob(maintenance: RepositoryMaintenance): Promise<string | undefined> {
    const deps = this.#deps;
    const repository = this.#repository(maintenance);
    if (repository === undefined) return `BackupRepository ${maintenance.spec.repository} not found`;
    const tenant = maintenance.spec.tenant ?? '';
    const credentials = await repositoryCredentials(deps.client, deps.namespace, repository, tenant);
    if ('missing' in credentials) return credentials.missing;
    const name = maintenanceJobName(maintenance);
    const labels = { [maintenanceLabel]: maintenance.metadata.name, 'app.kubernetes.io/component': 'mover' };
    const owner = {
      apiVersion: 'safehold.io/v1alpha1',
      kind: 'RepositoryMaintenance',
      name: maintenance.metadata.name,
      uid: maintenance.metadata.uid ?? '',
      controller: true,
      blockOwnerDeletion: true,
    };
    await createCredentialsSecret(
      deps.client,
      { name: `${name}-creds`, namespace: maintenance.metadata.namespace, labels, ownerReferences: [owner] },
      credentials.data,
    );
    const task: MaintenanceTask = {
      kind: 'maintenance',
      repository: {
        url: repositoryUrl(repository.spec, tenant === '' ? '' : tenant),
        region: repository.spec.s3.region,
        initialize: false,
      },
      cacheDir: moverCacheDir,
      forget: maintenance.status?.forget ?? [],
      prune: maintenance.spec.prune !== false,
      ...(maintenance.spec.check === undefined ? {} : { check: maintenance.spec.check }),
    };
    const job = moverJob({
      name,
      namespace: maintenance.metadata.namespace,
      labels,
      ownerReferences: [owner],
      image: deps.moverImage,
      task,
      secretName: `${name}-creds`,
      deadlineSeconds: 12 * 3600,
    });
    await deps.client.create(kinds.job, job).catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    });
    return undefined;
  }

  async #cleanUp(maintenance: RepositoryMaintenance): Promise<void> {
    if (maintenance.status?.conditions?.some((c) => c.type === 'CleanedUp' && c.status === 'True') === true) return;
    const deps = this.#deps;
    const repository = this.#repository(maintenance);
    const succeeded = maintenance.status?.phase === 'Succeeded' || maintenance.status?.reason === 'CheckFailed';
    let deleted = 0;
    if (repository !== undefined && succeeded) {
      // The catalogue follows the repository: forgotten snapshots lose their VolumeBackups.
      const forgotten = maintenance.status?.forget ?? [];
      const now = deps.now().getTime();
      for (const backup of this.#backupsInScope(maintenance, repository)) {
        const id = backup.status?.resticSnapshotId;
        const gone = id !== undefined && forgotten.some((f) => id.startsWith(f) || f.startsWith(id));
        const staleFailure =
          backup.status?.phase === 'Failed' && now - Date.parse(backup.status.completionTime ?? '') > failedRunAgeMs;
        if (!gone && !staleFailure) continue;
        await ignoreNotFound(() =>
          deps.client.delete(kinds.volumeBackup, { namespace: backup.metadata.namespace, name: backup.metadata.name }),
        );
        deleted++;
      }
      await this.#recordHealth(maintenance, repository);
    }
    this.#publish(maintenance);
    await recordEvent(
      deps.client,
      {
        object: {
          apiVersion: 'safehold.io/v1alpha1',
          kind: 'RepositoryMaintenance',
          name: maintenance.metadata.name,
          namespace: maintenance.metadata.namespace,
          uid: maintenance.metadata.uid,
        },
        type: maintenance.status?.phase === 'Succeeded' ? 'Normal' : 'Warning',
        reason: maintenance.status?.reason ?? 'Finished',
        message: maintenance.status?.message ?? '',
      },
      'safehold',
      deps.now(),
    ).catch(() => undefined);
    // Older finished maintenance of the same repository, tenant and operation goes.
    const siblings = deps.cache.maintenances
      .list()
      .filter(
        (m) =>
          finished(m) &&
          m.spec.repository === maintenance.spec.repository &&
          (m.spec.tenant ?? '') === (maintenance.spec.tenant ?? '') &&
          m.metadata.labels?.[operationLabel] === maintenance.metadata.labels?.[operationLabel],
      )
      .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
    for (const old of siblings.slice(keepFinished))
      await ignoreNotFound(() =>
        deps.client.delete(kinds.repositoryMaintenance, { namespace: old.metadata.namespace, name: old.metadata.name }),
      );
    await writeStatus<RepositoryMaintenance>(
      deps.client,
      kinds.repositoryMaintenance,
      { namespace: maintenance.metadata.namespace, name: maintenance.metadata.name },
      (current) => ({
        ...current.status,
        conditions: setCondition(
          current.status?.conditions ?? [],
          {
            type: 'CleanedUp',
            status: 'True',
            reason: 'CatalogueUpdated',
            message: `deleted ${deleted} VolumeBackups of forgotten or long-failed runs`,
          },
          deps
            .now()
            .toISOString()
            .replace(/\.\d{3}Z$/, 'Z'),
        ),
      }),
    );
  }

  async #recordHealth(maintenance: RepositoryMaintenance, repository: BackupRepository): Promise<void> {
    const status = maintenance.status ?? {};
    const stamp = status.completionTime;
    const tenant = maintenance.spec.tenant ?? '';
    await writeStatus<{ metadata: { name: string }; status?: BackupRepositoryStatus }>(
      this.#deps.client,
      kinds.backupRepository,
      { name: repository.metadata.name },
      (current) => {
        const tenants = [...(current.status?.tenants ?? [])];
        const index = tenants.findIndex((t) => t.tenant === tenant);
        const entry: TenantHealth = { ...(index >= 0 ? tenants[index] : undefined), tenant };
        if ((status.forget?.length ?? 0) > 0 || maintenance.spec.forget !== false) entry.lastForgetTime = stamp;
        if (maintenance.spec.prune !== false) entry.lastPruneTime = stamp;
        if (maintenance.spec.check !== undefined) {
          entry.lastCheckTime = stamp;
          entry.checkOk = status.checkOk;
          entry.checkMessage = status.checkMessage?.slice(0, 1024);
        }
        if (status.snapshots !== undefined) entry.snapshots = status.snapshots;
        if (status.repositoryBytes !== undefined) entry.bytes = status.repositoryBytes;
        if (index >= 0) tenants[index] = entry;
        else tenants.push(entry);
        tenants.sort((a, b) => a.tenant.localeCompare(b.tenant));
        const failing = tenants.filter((t) => t.checkOk === false).map((t) => t.tenant || '(shared)');
        const conditions = setCondition(
          current.status?.conditions ?? [],
          failing.length === 0
            ? {
                type: 'Healthy',
                status: 'True',
                reason: 'ChecksClean',
                message: 'the last check of every repository was clean',
              }
            : {
                type: 'Healthy',
                status: 'False',
                reason: 'CheckFailed',
                message: `restic check found errors: ${failing.join(', ')}`,
              },
          stamp ?? new Date().toISOString(),
        );
        return JSON.parse(JSON.stringify({ ...current.status, tenants, conditions })) as BackupRepositoryStatus;
      },
    );
  }

  #publish(maintenance: RepositoryMaintenance): void {
    const status = maintenance.status ?? {};
    const labels = { repository: maintenance.spec.repository, tenant: maintenance.spec.tenant ?? '' };
    const m = this.#deps.metrics;
    const at = Date.parse(status.completionTime ?? '') / 1000;
    m.maintenanceRuns.inc({ ...labels, result: status.reason ?? 'Unknown' });
    if (status.phase === 'Succeeded' || status.reason === 'CheckFailed') {
      if (maintenance.spec.prune !== false) m.lastPrune.set(labels, at);
      if (status.forgotten !== undefined) m.forgotten.inc(labels, status.forgotten);
      if (status.snapshots !== undefined) m.repositorySnapshots.set(labels, status.snapshots);
      if (status.repositoryBytes !== undefined) m.repositoryBytes.set(labels, status.repositoryBytes);
      if (status.checkOk !== undefined) {
        m.lastCheck.set(labels, at);
        m.checkOk.set(labels, status.checkOk ? 1 : 0);
      }
    }
  }

  /** Marks the backups of PVCs that are gone with when that was first seen: the orphan grace period counts from here. */
  async #markOrphans(): Promise<undefined> {
    const { cache, client } = this.#deps;
    const stamp = this.#deps
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    for (const backup of cache.volumeBackups.list()) {
      if (backup.status?.phase !== 'Succeeded') continue;
      if (backup.metadata.annotations?.[annotations.orphanedAt] !== undefined) continue;
      if (cache.claims.get(`${backup.metadata.namespace}/${backup.spec.pvc}`) !== undefined) continue;
      await ignoreNotFound(() =>
        client.mergePatch(
          kinds.volumeBackup,
          { namespace: backup.metadata.namespace, name: backup.metadata.name },
          { metadata: { annotations: { [annotations.orphanedAt]: stamp } } },
        ),
      );
    }
    return undefined;
  }
}

const orphansKey = '\u0000orphans';
export const operationLabel = 'safehold.io/operation';
