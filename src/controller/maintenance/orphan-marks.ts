// Backups of a PVC that is gone are kept for the policy's grace period,
// counted from when Safehold first saw it gone. That moment is recorded on
// the backups themselves (state in the API, not in memory), so a restarted
// operator counts from the same time. Marked once ready, then whenever a PVC
// is deleted.
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

/** Marks the backups of PVCs that are gone with when that was first seen: the orphan grace period counts from here. */
export async function markOrphans(deps: Omit<OrphanMarkDeps, 'log'>): Promise<undefined> {
  const { cache, client } = deps;
  const stamp = timestamp(deps.now());
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

/** One entry of work, however many PVCs go at once. */
export class OrphanMarker {
  readonly #queue: WorkQueue;
  #ready = false;

  constructor(deps: OrphanMarkDeps) {
    this.#queue = new WorkQueue(() => (this.#ready ? markOrphans(deps) : Promise.resolve(undefined)), {
      concurrency: 1,
      onError: (_key, error) =>
        deps.log('marking orphaned backups failed', { error: error instanceof Error ? error.message : String(error) }),
    });
    deps.cache.claims.onChange((c) => {
      if (c.type === 'deleted') this.#queue.add('orphans');
    });
  }

  async start(ready: Promise<unknown>): Promise<void> {
    await ready;
    this.#ready = true;
    this.#queue.add('orphans');
  }

  stop(): void {
    this.#queue.stop();
  }
}
