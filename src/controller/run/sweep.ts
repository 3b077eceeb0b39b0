// The sweep: temporaries whose run is gone, removed at start and then every
// so often. Normally a run's own clean-up, its finalizer and garbage
// collection remove them; the sweep catches what a crash or an outage left.
// It deletes an object only if it carries a run label AND an owner (record or
// reference) naming a run that no longer exists: an object a user labelled
// by mistake has no owner and stays. It also deletes a restore's undo
// snapshot once its expiry (an annotation on it) has passed: that is the one
// object Safehold keeps on purpose past its run, for a time.
import { undoSnapshotKeys } from '../../api/index.ts';
import { isLeftover, undoSnapshotExpired, type RunKindName, type RunOwner } from '../../core/index.ts';
import { ignoreNotFound, kinds, type KubeClient, type KubeObject, type ResourceKind } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';

export interface SweepDeps {
  client: KubeClient;
  cache: ClusterCache;
  /** Safehold's namespace: run Secrets and Jobs live only there. */
  namespace: string;
  log: Log;
  now: () => Date;
}

export const defaultSweepIntervalMs = 10 * 60_000;

export class Sweeper {
  readonly #deps: SweepDeps;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(deps: SweepDeps, intervalMs = defaultSweepIntervalMs) {
    this.#deps = deps;
    this.#intervalMs = intervalMs;
  }

  /** Sweeps once `ready` resolves, then every interval. */
  async start(ready: Promise<unknown>): Promise<void> {
    await ready;
    if (this.#stopped) return;
    await this.#sweepLogged();
    this.#timer = setInterval(() => void this.#sweepLogged(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  /** Deletes every leftover and every expired undo snapshot; returns how many. */
  async sweep(): Promise<number> {
    const { cache, client } = this.#deps;
    const targets: [ResourceKind, readonly KubeObject[]][] = [
      [kinds.job, cache.jobs.list()],
      [kinds.persistentVolumeClaim, cache.claims.list()],
      [kinds.persistentVolume, cache.volumes.list()],
      [kinds.volumeSnapshot, cache.snapshots.list()],
      [kinds.volumeGroupSnapshot, cache.groupSnapshots.list()],
      [kinds.secret, cache.moverSecrets.list()],
    ];
    let removed = 0;
    for (const [kind, objects] of targets)
      for (const object of objects.filter((o) => isLeftover(o, (owner) => this.#currentUid(owner)))) {
        await ignoreNotFound(() =>
          client.delete(
            kind,
            { namespace: object.metadata?.namespace, name: object.metadata?.name ?? '' },
            { propagationPolicy: 'Background' },
          ),
        );
        removed++;
      }
    const now = this.#deps.now();
    // Never under a restore that still runs: its expiry moves to the restore's end + its keep time.
    const expired = cache.snapshots
      .list()
      .filter(
        (s) => undoSnapshotExpired(s, now) && !this.#restoreRunning(s.metadata?.annotations?.[undoSnapshotKeys.of]),
      );
    for (const snapshot of expired) {
      await ignoreNotFound(() =>
        client.delete(kinds.volumeSnapshot, {
          namespace: snapshot.metadata?.namespace,
          name: snapshot.metadata?.name ?? '',
        }),
      );
      removed++;
    }
    return removed;
  }

  async #sweepLogged(): Promise<void> {
    try {
      const removed = await this.sweep();
      if (removed > 0) this.#deps.log('swept leftovers of vanished runs and expired undo snapshots', { removed });
    } catch (error) {
      this.#deps.log('sweep failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The VolumeRestore "namespace/name" exists and has not ended. */
  #restoreRunning(key: string | undefined): boolean {
    const phase = key === undefined ? undefined : this.#deps.cache.restores.get(key)?.status?.phase;
    return phase === 'Pending' || phase === 'Running';
  }

  /** The uid of the run an owner names, as it exists now. */
  #currentUid(owner: RunOwner): string | undefined {
    const { cache } = this.#deps;
    const informers: Record<RunKindName, { get: (key: string) => KubeObject | undefined }> = {
      VolumeBackup: cache.volumeBackups,
      VolumeRestore: cache.restores,
      BackupDownload: cache.downloads,
      RepositoryMaintenance: cache.maintenances,
      DumpRun: cache.dumpRuns,
      RestoreDrill: cache.drills,
      BucketRestore: cache.bucketRestores,
    };
    return informers[owner.kind].get(`${owner.namespace}/${owner.name}`)?.metadata?.uid;
  }
}
