// Creates the RepositoryMaintenance that repository schedules call for: per
// restic repository (per tenant of a per-namespace one) with backups in it,
// a forget-and-prune run at each prune slot and a check at each check slot.
// The history is in the API (spec.scheduledFor of the newest of each kind),
// and a run is named after its slot, so a restarted operator neither skips
// nor doubles one.
import {
  apiGroup,
  apiVersion,
  backupRepositoryStatus,
  type BackupRepository,
  type RepositoryMaintenance,
} from '../../api/index.ts';
import {
  dueMaintenance,
  firstGoodBackups,
  maintenanceName,
  maintenanceOwed,
  type DueMaintenance,
  type MaintenanceTarget,
  nextRollingSlice,
} from '../../core/index.ts';
import { ignoreAlreadyExists, kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { operationLabel } from './maintenance-objects.ts';
import type { Log } from '../operator.ts';

export interface MaintenanceSchedulerDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  now: () => Date;
  log: Log;
}

export class MaintenanceScheduler {
  readonly #deps: MaintenanceSchedulerDeps;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;

  constructor(deps: MaintenanceSchedulerDeps) {
    this.#deps = deps;
  }

  start(): void {
    // A repository's schedule or its history changing is a reason to look again, besides the timer.
    this.#deps.cache.repositories.onChange(() => void this.#tick());
    this.#deps.cache.maintenances.onChange((c) => {
      if (c.type === 'deleted') void this.#tick();
    });
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #targets(): MaintenanceTarget[] {
    const { cache } = this.#deps;
    // One target per restic repository (per tenant) with good backups, owed maintenance since the first of them.
    const owed = maintenanceOwed(firstGoodBackups(cache.volumeRuns()), (name) => cache.repository(name));
    const targets = new Map<string, MaintenanceTarget>();
    for (const o of owed) {
      const repository = cache.repository(o.repository);
      if (repository === undefined) continue;
      targets.set(`${o.repository}/${o.tenant}`, {
        repository: o.repository,
        tenant: o.tenant,
        spec: repository.spec,
        since: new Date(o.sinceSeconds * 1000),
        last: {},
      });
    }
    for (const m of cache.maintenances.list()) {
      const target = targets.get(`${m.spec.repository}/${m.spec.tenant ?? ''}`);
      const operation = m.metadata.labels?.[operationLabel];
      const slot = Date.parse(m.spec.scheduledFor ?? '');
      if (target === undefined || (operation !== 'prune' && operation !== 'check') || Number.isNaN(slot)) continue;
      if ((target.last[operation]?.getTime() ?? -Infinity) < slot) target.last[operation] = new Date(slot);
    }
    return [...targets.values()];
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      await this.#deps.cache.synced();
      const now = this.#deps.now();
      const { due, wakeAt } = dueMaintenance(this.#targets(), now);
      for (const run of due)
        await this.#create(run).catch((error: unknown) =>
          this.#deps.log('could not create scheduled maintenance', {
            repository: run.repository,
            tenant: run.tenant,
            error: error instanceof Error ? error.message : String(error),
          }),
        );
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#tick(), Math.min(wakeAt.getTime() - now.getTime(), 60_000));
      this.#timer.unref();
    } catch (error) {
      this.#deps.log('maintenance scheduling failed', {
        error: error instanceof Error ? error.message : String(error),
      });
      this.#timer = setTimeout(() => void this.#tick(), 30_000);
      this.#timer.unref();
    } finally {
      this.#running = false;
    }
  }

  /** What a scheduled check reads: the repository's subset, or the next slice of a rolling check. */
  #readDataSubset(repository: BackupRepository, tenant: string): string {
    const { check } = repository.spec.maintenance;
    if (check.rollingSlices === undefined) return check.readDataSubset;
    const raw = this.#deps.cache.repositories.get(repository.metadata.name);
    const health = backupRepositoryStatus.safeParse(raw !== undefined && 'status' in raw ? raw.status : {}).data;
    const last = health?.tenants?.find((t) => t.tenant === tenant)?.lastReadDataSubset;
    return nextRollingSlice(last, check.rollingSlices);
  }

  async #create(run: DueMaintenance): Promise<void> {
    const repository = this.#deps.cache.repository(run.repository);
    if (repository === undefined) return;
    const maintenance: RepositoryMaintenance = {
      metadata: {
        name: maintenanceName(run.repository, run.tenant, run.operation, run.slot),
        namespace: this.#deps.namespace,
        labels: { [operationLabel]: run.operation },
        // Deleting the repository deletes its maintenance history.
        ownerReferences: [
          {
            apiVersion: `${apiGroup}/${apiVersion}`,
            kind: 'BackupRepository',
            name: run.repository,
            uid: repository.metadata.uid ?? '',
          },
        ],
      },
      spec:
        run.operation === 'prune'
          ? {
              repository: run.repository,
              tenant: run.tenant,
              forget: true,
              prune: true,
              trigger: 'schedule',
              scheduledFor: run.slot.toISOString(),
            }
          : {
              repository: run.repository,
              tenant: run.tenant,
              forget: false,
              prune: false,
              check: { readDataSubset: this.#readDataSubset(repository, run.tenant) },
              trigger: 'schedule',
              scheduledFor: run.slot.toISOString(),
            },
    };
    await ignoreAlreadyExists(() => this.#deps.client.create(kinds.repositoryMaintenance, maintenance));
    this.#deps.log('scheduled repository maintenance', {
      maintenance: maintenance.metadata.name,
      operation: run.operation,
      slot: run.slot.toISOString(),
    });
  }
}
