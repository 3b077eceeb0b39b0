// Creates the VolumeBackups that schedules call for. The history is in the
// API: the latest slot of each volume, from its VolumeBackups (spec.scheduledFor)
// and from the slot recorded on its PVC, which deleting history cannot touch.
// A slot that came due creates one run named after the slot, so a restarted
// operator finds it and neither skips nor doubles it; a run missed while the
// operator was down is caught up once, however many slots were missed.
import { annotations, runLabels, type VolumeBackup } from '../../api/index.ts';
import { dueRuns, lastScheduledSlots, scheduledBackupName, type CoverageRow, type DueRun } from '../../core/index.ts';
import { ignoreNotFound, isAlreadyExists, kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';

export interface SchedulerDeps {
  client: KubeClient;
  cache: ClusterCache;
  now: () => Date;
  log: Log;
  /** Counts passes, so a test can wait for the scheduler to have looked instead of sleeping. */
  passes: { inc: () => void };
}

export class BackupScheduler {
  readonly #deps: SchedulerDeps;
  #timer: NodeJS.Timeout | undefined;
  #rows: readonly CoverageRow[] = [];
  #running = false;
  #stopped = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  /** Called with every fresh coverage; also wakes itself when the next slot comes. */
  update(rows: readonly CoverageRow[]): void {
    this.#rows = rows;
    // On a turn of its own: coverage's pass and this one are each bounded, not one stretch of both.
    setImmediate(() => void this.#tick());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      const now = this.#deps.now();
      const { cache } = this.#deps;
      const slots = [...cache.volumeRuns()].map((r) => ({
        metadata: { namespace: r.namespace },
        spec: { pvc: r.pvc, scheduledFor: r.lastSlot },
      }));
      const lastSlots = lastScheduledSlots(slots, cache.claims.list());
      const policies = new Map(this.#deps.cache.parsedPolicies().valid.map((p) => [p.metadata.name, p.spec]));
      const { due, wakeAt } = dueRuns(this.#rows, lastSlots, policies, now);
      for (const run of due) {
        // One namespace refusing (say, terminating) must not stop the others, nor the operator.
        await this.#create(run).catch((error: unknown) =>
          this.#deps.log('could not create a scheduled backup', {
            volume: `${run.namespace}/${run.pvc}`,
            error: error instanceof Error ? error.message : String(error),
          }),
        );
      }
      this.#deps.passes.inc();
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#tick(), wakeAt.getTime() - now.getTime());
      this.#timer.unref();
    } catch (error) {
      this.#deps.log('backup scheduling failed', { error: error instanceof Error ? error.message : String(error) });
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#tick(), 30_000);
      this.#timer.unref();
    } finally {
      this.#running = false;
    }
  }

  async #create(run: DueRun): Promise<void> {
    const backup: VolumeBackup = {
      metadata: {
        name: scheduledBackupName(run.pvc, run.slot),
        namespace: run.namespace,
        labels: { [runLabels.pvc]: run.pvc.slice(0, 63), 'safehold.io/trigger': run.trigger },
      },
      spec: { pvc: run.pvc, policy: run.policy, trigger: run.trigger, scheduledFor: run.slot.toISOString() },
    };
    try {
      await this.#deps.client.create(kinds.volumeBackup, backup);
      this.#deps.log('scheduled a backup', {
        backup: `${run.namespace}/${backup.metadata.name}`,
        trigger: run.trigger,
        slot: run.slot.toISOString(),
      });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    // Then the slot on the PVC: a crash between the two leaves the run, which says the same.
    await ignoreNotFound(() =>
      this.#deps.client.mergePatch(
        kinds.persistentVolumeClaim,
        { namespace: run.namespace, name: run.pvc },
        { metadata: { annotations: { [annotations.lastScheduled]: run.slot.toISOString() } } },
      ),
    );
  }
}
