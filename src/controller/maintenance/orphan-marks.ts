// Backups of a PVC that is gone are kept for the policy's grace period,
// counted from when Safehold first saw it gone. That moment is recorded on
// the volume's history and its runs (state in the API, not in memory), so a restarted
// operator counts from the same time. Marked once ready, then for each PVC
// that is deleted.
import { annotations, timestamp } from '../../api/index.ts';
import { ignoreNotFound, kinds, WorkQueue, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';

export interface OrphanMarkDeps {
  cache: ClusterCache;
  client: KubeClient;
  now: () => Date;
  log: Log;
}

/**
 * Marks the backups of `volumes` ("namespace/pvc") whose PVC is gone with when that was first
 * seen: the orphan grace period counts from here. Costs those volumes' runs, not the history.
 */
export async function markOrphans(deps: Omit<OrphanMarkDeps, 'log'>, volumes: Iterable<string>): Promise<undefined> {
  const { cache, client } = deps;
  const stamp = timestamp(deps.now());
  for (const volume of volumes) {
    if (cache.claims.get(volume) !== undefined) continue;
    const slash = volume.indexOf('/');
    const history = cache.histories.get(volume);
    if (history !== undefined && history.metadata.annotations?.[annotations.orphanedAt] === undefined)
      await ignoreNotFound(() =>
        client.mergePatch(
          kinds.volumeHistory,
          { namespace: history.metadata.namespace, name: history.metadata.name },
          { metadata: { annotations: { [annotations.orphanedAt]: stamp } } },
        ),
      );
    for (const backup of cache.runsOf(volume.slice(0, slash), volume.slice(slash + 1))) {
      if (backup.status?.phase !== 'Succeeded') continue;
      if (backup.metadata.annotations?.[annotations.orphanedAt] !== undefined) continue;
      await ignoreNotFound(() =>
        client.mergePatch(
          kinds.volumeBackup,
          { namespace: backup.metadata.namespace, name: backup.metadata.name },
          { metadata: { annotations: { [annotations.orphanedAt]: stamp } } },
        ),
      );
    }
  }
  return undefined;
}

/** One entry of work per PVC that goes; once ready, every volume with runs is looked at (PVCs deleted while down). */
export class OrphanMarker {
  readonly #queue: WorkQueue;
  #ready = false;

  constructor(deps: OrphanMarkDeps) {
    this.#queue = new WorkQueue(
      (volume) => {
        if (!this.#ready) return Promise.resolve(undefined);
        const volumes =
          volume === everyVolume ? [...deps.cache.volumeRuns()].map((r) => `${r.namespace}/${r.pvc}`) : [volume];
        return markOrphans(deps, volumes);
      },
      {
        concurrency: 1,
        onError: (volume, error) =>
          deps.log('marking orphaned backups failed', {
            volume,
            error: error instanceof Error ? error.message : String(error),
          }),
      },
    );
    deps.cache.claims.onChange((c) => {
      if (c.type === 'deleted') this.#queue.add(c.key);
    });
  }

  async start(ready: Promise<unknown>): Promise<void> {
    await ready;
    this.#ready = true;
    this.#queue.add(everyVolume);
  }

  stop(): void {
    this.#queue.stop();
  }
}

/** The queue key of the pass over every volume; no PVC key has no slash. */
const everyVolume = 'every volume';
