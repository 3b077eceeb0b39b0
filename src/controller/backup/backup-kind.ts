// Runs VolumeBackups: one keyed reconcile per VolumeBackup that observes its
// world (backup-observation.ts), asks core what comes next (nextRunStep) and
// carries that one step out (backup-steps.ts). Changes to the run's own
// objects (snapshot, clone, Job, mover Pod) bring it back.
import { type BackupRepository, type MoverSettings, runLabels, type VolumeBackup } from '../../api/index.ts';
import { nextRunStep } from '../../core/index.ts';
import {
  kinds,
  objectKey,
  WorkQueue,
  type KubeClient,
  type KubeObject,
  type Requeue,
  type ResourceKind,
} from '../../kube/index.ts';
import { observeRun, runKeyOf } from './backup-observation.ts';
import { carryOut } from './backup-steps.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';
import type { OperatorMetrics } from '../metrics.ts';
import type { Log } from '../operator.ts';
import type { StartGate } from '../run/start-gate.ts';

export interface BackupControllerDeps {
  client: KubeClient;
  /** Safehold's namespace: movers, their credentials and volume aliases live here. */
  namespace: string;
  cache: ClusterCache;
  coverage: CoverageController;
  metrics: OperatorMetrics;
  now: () => Date;
  log: Log;
  mover: MoverSettings;
  maxConcurrentMovers: number;
  /** The unfinished maintenance of the repository a namespace's backups go to, if any. */
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  /** Shared with repository maintenance: starts are decided one at a time. */
  gate: StartGate;
}

export class BackupController {
  readonly #deps: BackupControllerDeps;
  readonly #queue: WorkQueue;
  /** Nothing is decided before the caches are full and coverage has had its first pass. */
  #ready = false;

  constructor(deps: BackupControllerDeps) {
    this.#deps = deps;
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      concurrency: 4,
      onError: (key, error) =>
        deps.log('backup reconcile failed', {
          backup: key,
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    const { cache } = deps;
    cache.volumeBackups.onChange((c) => this.#queue.add(c.key));
    const byRunLabel = (object: KubeObject) => {
      const key = runKeyOf(object);
      if (key !== undefined) this.#queue.add(key);
    };
    cache.snapshots.onChange((c) => byRunLabel(c.object));
    cache.jobs.onChange((c) => byRunLabel(c.object));
    cache.claims.onChange((c) => byRunLabel(c.object));
    cache.volumes.onChange((c) => byRunLabel(c.object));
    cache.pods.onChange((c) => byRunLabel(c.object));
    // A finished run frees the volume and a mover slot: look at the waiting ones again.
    cache.volumeBackups.onChange((c) => {
      if (c.type !== 'added' && isOver(c.object))
        for (const b of cache.volumeBackups.list()) if (!isOver(b)) this.#queue.add(objectKey(b));
    });
  }

  async start(): Promise<void> {
    await Promise.all(this.#deps.cache.all().map((i) => i.synced()));
    await this.#deps.coverage.firstPass;
    this.#ready = true;
    await this.sweep();
    // Every run is looked at again: one interrupted by a crash continues (or cleans up) from what the API shows.
    for (const backup of this.#deps.cache.volumeBackups.list()) this.#queue.add(objectKey(backup));
  }

  /** Deletes temporary objects whose run no longer exists (garbage collection normally does; this catches the rest). */
  async sweep(): Promise<number> {
    const { cache, client, namespace } = this.#deps;
    let removed = 0;
    const orphaned = (object: KubeObject) => {
      if (object.metadata?.labels?.['safehold.io/kept'] === 'true') return false;
      const key = runKeyOf(object);
      return key !== undefined && cache.volumeBackups.get(key) === undefined;
    };
    const secrets = await client
      .list<KubeObject>(kinds.secret, { namespace, query: { labelSelector: runLabels.run } })
      .catch(() => ({ items: [] as KubeObject[] }));
    const targets: [ResourceKind, KubeObject[]][] = [
      [kinds.job, cache.jobs.list()],
      [kinds.persistentVolumeClaim, cache.claims.list()],
      [kinds.persistentVolume, cache.volumes.list()],
      [kinds.volumeSnapshot, cache.snapshots.list()],
      [kinds.secret, secrets.items],
    ];
    for (const [kind, objects] of targets) {
      for (const object of objects.filter(orphaned)) {
        await client
          .delete(
            kind,
            { namespace: object.metadata?.namespace, name: object.metadata?.name ?? '' },
            { propagationPolicy: 'Background' },
          )
          .catch(() => undefined);
        removed++;
      }
    }
    if (removed > 0) this.#deps.log('swept leftovers of vanished runs', { removed });
    return removed;
  }

  stop(): void {
    this.#queue.stop();
  }

  async #reconcile(key: string): Promise<Requeue | undefined> {
    if (!this.#ready) return undefined; // start() queues every run once ready
    const backup = this.#deps.cache.volumeBackups.get(key);
    if (backup === undefined) return undefined;
    const uid = backup.metadata.uid ?? '';
    if (this.#deps.gate.starting.has(uid) && backup.status?.phase !== undefined && backup.status.phase !== 'Pending')
      this.#deps.gate.starting.delete(uid);
    if ((backup.status?.phase ?? 'Pending') === 'Pending') {
      // Observe and start under one lock, so two runs never both take the last slot.
      return this.#deps.gate.serialize(() => this.#step(backup));
    }
    return this.#step(backup);
  }

  async #step(backup: VolumeBackup): Promise<Requeue | undefined> {
    const deps = { ...this.#deps, starting: this.#deps.gate.starting };
    const observed = observeRun(deps, backup, deps.now());
    const step = nextRunStep(observed.observation);
    if (step.kind === 'start') this.#deps.gate.starting.add(backup.metadata.uid ?? '');
    try {
      const requeue = await carryOut(deps, backup, observed, step);
      // A start that asks to come back later did not start (a Secret is missing).
      if (step.kind === 'start' && requeue !== undefined) this.#deps.gate.starting.delete(backup.metadata.uid ?? '');
      return requeue;
    } catch (error) {
      if (step.kind === 'start') this.#deps.gate.starting.delete(backup.metadata.uid ?? '');
      throw error;
    }
  }
}

function isOver(backup: VolumeBackup): boolean {
  return backup.status?.phase === 'Succeeded' || backup.status?.phase === 'Failed';
}
