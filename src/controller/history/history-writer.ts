// Records each volume's finished backups in its VolumeHistory, and keeps that
// catalogue in step with the repository: what maintenance forgets leaves it.
// One volume at a time through a keyed queue, so a recording and a forgetting
// never race for the same history. Once a run's backup is recorded the run
// object is only a record: it is deleted when it is older than keepRunsFor.
// At start every volume with finished runs is looked at: VolumeBackups an
// older Safehold kept as its catalogue are recorded, then go the same way.
import { runLabels, type VolumeBackup, type VolumeHistory } from '../../api/index.ts';
import { historyPass, recordedAnnotation } from '../../core/index.ts';
import { ignoreNotFound, isAlreadyExists, isConflict, kinds, WorkQueue, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';

export interface HistoryDeps {
  cache: ClusterCache;
  client: KubeClient;
  now: () => Date;
  log: Log;
  /** How long a recorded run's VolumeBackup stays (for `kubectl get`, its events and `safehold backup --wait`). */
  keepRunsForMs: number;
}

/** One request at a time: recording is background work and must leave the rate limit to the runs. */
const concurrency = 1;

export class HistoryWriter {
  readonly #deps: HistoryDeps;
  readonly #queue: WorkQueue;
  /** Per volume, the restic snapshots maintenance forgot that may still have a run object or a history line. */
  readonly #forgetting = new Map<string, Set<string>>();
  /** Per volume, who waits for its next pass to end (maintenance, after asking to forget). */
  readonly #waiters = new Map<string, (() => void)[]>();
  #ready = false;

  constructor(deps: HistoryDeps) {
    this.#deps = deps;
    this.#queue = new WorkQueue((volume) => this.#pass(volume), {
      concurrency,
      onError: (volume, error) =>
        deps.log('recording backups failed', { volume, error: error instanceof Error ? error.message : String(error) }),
    });
    deps.cache.volumeBackups.onChange((c) => {
      const volume = `${c.object.metadata.namespace}/${c.object.spec.pvc}`;
      if (c.type === 'deleted') {
        if (this.#forgetting.has(volume)) this.#queue.add(volume);
      } else if (c.object.status?.phase === 'Succeeded' && !recorded(c.object)) this.#queue.add(volume);
    });
  }

  /** Once the caches are synced: every volume with finished runs (the upgrade from VolumeBackups as the catalogue). */
  async start(ready: Promise<unknown>): Promise<void> {
    await ready;
    this.#ready = true;
    const volumes = new Set<string>();
    for (const run of this.#deps.cache.backupsIn(['Succeeded']))
      volumes.add(`${run.metadata.namespace}/${run.spec.pvc}`);
    for (const volume of volumes) this.#queue.add(volume);
  }

  stop(): void {
    this.#queue.stop();
    for (const waiters of this.#waiters.values()) for (const resolve of waiters) resolve();
    this.#waiters.clear();
  }

  /**
   * Drops these restic snapshots ("namespace/pvc" to ids) from the volumes' histories and deletes
   * their run objects; resolves when each volume has had its pass.
   */
  async forget(byVolume: ReadonlyMap<string, readonly string[]>): Promise<void> {
    const passes: Promise<void>[] = [];
    for (const [volume, ids] of byVolume) {
      if (ids.length === 0) continue;
      const set = this.#forgetting.get(volume) ?? new Set<string>();
      for (const id of ids) set.add(id);
      this.#forgetting.set(volume, set);
      passes.push(new Promise((resolve) => this.#waiters.set(volume, [...(this.#waiters.get(volume) ?? []), resolve])));
      this.#queue.add(volume);
    }
    await Promise.all(passes);
  }

  async #pass(volume: string): Promise<{ requeueAfterMs: number } | undefined> {
    const waiters = this.#waiters.get(volume) ?? [];
    this.#waiters.delete(volume);
    try {
      return this.#ready ? await this.#record(volume) : undefined;
    } finally {
      for (const resolve of waiters) resolve();
    }
  }

  async #record(volume: string): Promise<{ requeueAfterMs: number } | undefined> {
    const { cache, client, now, keepRunsForMs } = this.#deps;
    const slash = volume.indexOf('/');
    const [namespace, pvc] = [volume.slice(0, slash), volume.slice(slash + 1)];
    const history = cache.history(volume);
    const pass = historyPass({
      namespace,
      pvc,
      history,
      runs: cache.runsOf(namespace, pvc),
      forgotten: [...(this.#forgetting.get(volume) ?? [])],
      now: now(),
      keepRunsForMs,
    });
    if (pass.write !== undefined) await writeHistory(client, namespace, pvc, history, pass.write);
    // The history holds them now: forgotten snapshots lose their run objects, recorded runs become records.
    for (const name of pass.remove) await ignoreNotFound(() => client.delete(kinds.volumeBackup, { namespace, name }));
    for (const name of pass.mark)
      await ignoreNotFound(() =>
        client.mergePatch(
          kinds.volumeBackup,
          { namespace, name },
          { metadata: { annotations: { [recordedAnnotation]: 'true' } } },
        ),
      );
    // Forgotten ids are remembered until neither a run object nor the history has them.
    if (pass.forgettingDone) this.#forgetting.delete(volume);
    return pass.againAfterMs === undefined ? undefined : { requeueAfterMs: pass.againAfterMs };
  }
}

function recorded(run: VolumeBackup): boolean {
  return run.metadata.annotations?.[recordedAnnotation] !== undefined;
}

/** Creates the history, or replaces it whole; a conflict (a stale cache) is thrown, and the pass runs again. */
async function writeHistory(
  client: KubeClient,
  namespace: string,
  pvc: string,
  history: VolumeHistory | undefined,
  status: NonNullable<VolumeHistory['status']>,
): Promise<void> {
  // One write either way: a history has no status subresource, only the operator writes it.
  try {
    if (history === undefined)
      await client.create<VolumeHistory>(kinds.volumeHistory, {
        metadata: { namespace, name: pvc, labels: { [runLabels.pvc]: pvc.slice(0, 63) } },
        spec: { pvc },
        status,
      });
    else await client.replace(kinds.volumeHistory, { ...history, status });
  } catch (error) {
    if (isConflict(error) || isAlreadyExists(error))
      throw new Error(`VolumeHistory ${namespace}/${pvc} changed meanwhile: recording again`, { cause: error });
    throw error;
  }
}
