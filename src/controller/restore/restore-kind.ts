// Runs VolumeRestores: one keyed reconcile per VolumeRestore that observes its
// world (restore-observation.ts), asks core what comes next (nextRestoreStep)
// and carries that one step out (restore-steps.ts). Starts go through the
// start gate, so a restore never starts beside a prune of its repository.
// While the mover runs, its latest progress line (read from the Pod's log
// through the API) is copied into the status.
import { type BackupRepository, type MoverSettings, runLabels, type VolumeRestore } from '../../api/index.ts';
import { nextRestoreStep } from '../../core/index.ts';
import {
  isNotFound,
  kinds,
  objectKey,
  WorkQueue,
  type KubeClient,
  type KubeObject,
  type Requeue,
} from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';
import { observeRestore, restoreJobName } from './restore-observation.ts';
import { readProgress } from '../run/mover-progress.ts';
import { carryOutRestore, updateRestoreStatus } from './restore-steps.ts';
import type { StartGate } from '../run/start-gate.ts';

export interface RestoreControllerDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  log: Log;
  gate: StartGate;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
}

export class RestoreController {
  readonly #deps: RestoreControllerDeps;
  readonly #queue: WorkQueue;
  #ready = false;

  constructor(deps: RestoreControllerDeps) {
    this.#deps = deps;
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      concurrency: 2,
      onError: (key, error) =>
        deps.log('restore reconcile failed', {
          restore: key,
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    const { cache } = deps;
    cache.restores.onChange((c) => this.#queue.add(c.key));
    const byLabel = (object: KubeObject) => {
      const name = object.metadata?.labels?.[runLabels.restore];
      const ns = object.metadata?.labels?.[runLabels.namespace] ?? object.metadata?.namespace;
      if (name !== undefined && ns !== undefined) this.#queue.add(`${ns}/${name}`);
    };
    cache.jobs.onChange((c) => byLabel(c.object));
    cache.claims.onChange((c) => byLabel(c.object));
    cache.volumes.onChange((c) => byLabel(c.object));
    cache.pods.onChange((c) => byLabel(c.object));
    // A maintenance that ends lets waiting restores start.
    cache.maintenances.onChange(() => {
      for (const r of cache.restores.list())
        if ((r.status?.phase ?? 'Pending') === 'Pending') this.#queue.add(objectKey(r));
    });
  }

  async start(): Promise<void> {
    await this.#deps.cache.synced();
    this.#ready = true;
    await this.sweep();
    for (const restore of this.#deps.cache.restores.list()) this.#queue.add(objectKey(restore));
  }

  /** Deletes restore objects in Safehold's namespace whose VolumeRestore no longer exists. */
  async sweep(): Promise<void> {
    const { cache, client, namespace } = this.#deps;
    const gone = (object: KubeObject) => {
      const name = object.metadata?.labels?.[runLabels.restore];
      const ns = object.metadata?.labels?.[runLabels.namespace];
      return name !== undefined && ns !== undefined && cache.restores.get(`${ns}/${name}`) === undefined;
    };
    const secrets = await client
      .list<KubeObject>(kinds.secret, { namespace, query: { labelSelector: runLabels.restore } })
      .catch(() => ({ items: [] as KubeObject[] }));
    const targets = [
      [kinds.job, cache.jobs.list()],
      [kinds.persistentVolumeClaim, cache.claims.list().filter((c) => c.metadata?.namespace === namespace)],
      [kinds.persistentVolume, cache.volumes.list()],
      [kinds.secret, secrets.items],
    ] as const;
    for (const [kind, objects] of targets)
      for (const object of (objects as KubeObject[]).filter(gone))
        await client
          .delete(
            kind,
            { namespace: object.metadata?.namespace, name: object.metadata?.name ?? '' },
            { propagationPolicy: 'Background' },
          )
          .catch(() => undefined);
  }

  stop(): void {
    this.#queue.stop();
  }

  async #reconcile(key: string): Promise<Requeue | undefined> {
    if (!this.#ready) return undefined;
    const restore = this.#deps.cache.restores.get(key);
    if (restore === undefined) return undefined;
    const uid = restore.metadata.uid ?? '';
    const phase = restore.status?.phase ?? 'Pending';
    if (phase !== 'Pending') this.#deps.gate.startingReads.delete(uid);
    if (phase === 'Pending') return this.#deps.gate.serialize(() => this.#step(restore));
    return this.#step(restore);
  }

  async #step(restore: VolumeRestore): Promise<Requeue | undefined> {
    const deps = this.#deps;
    const observed = observeRestore(deps, restore);
    // The claim this restore just created may not be in the cache yet: never take that for "deleted".
    if (observed.observation.target === undefined && restore.status?.targetCreated === true) {
      const live = await deps.client
        .get(kinds.persistentVolumeClaim, { namespace: restore.metadata.namespace, name: restore.spec.target.pvc })
        .catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        });
      if (live !== undefined) return { requeueAfterMs: 500 };
    }
    const step = nextRestoreStep(observed.observation);
    const uid = restore.metadata.uid ?? '';
    if (step.kind === 'start') deps.gate.startingReads.add(uid);
    try {
      if (step.kind === 'wait' && step.reason === 'MoverRunning') await this.#copyProgress(restore);
      return await carryOutRestore(deps, restore, observed, step);
    } catch (error) {
      if (step.kind === 'start') deps.gate.startingReads.delete(uid);
      throw error;
    }
  }

  async #copyProgress(restore: VolumeRestore): Promise<void> {
    const progress = await readProgress(this.#deps, this.#deps.namespace, restoreJobName(restore));
    if (progress === undefined) return;
    const old = restore.status?.progress;
    if (old?.bytesDone === progress.bytesDone && old.filesDone === progress.filesDone) return;
    await updateRestoreStatus(
      this.#deps.client,
      restore,
      {
        progress: {
          percentDone: progress.percentDone,
          filesDone: progress.filesDone,
          totalFiles: progress.totalFiles,
          bytesDone: progress.bytesDone,
          totalBytes: progress.totalBytes,
        },
      },
      undefined,
      '',
    );
  }
}
