// Creates the DumpRuns that ApplicationDumps' schedules call for, as the
// backup scheduler does for volumes: the latest slot of each dump comes from
// its runs (spec.scheduledFor) and from the slot recorded on the
// ApplicationDump, which deleting runs cannot touch; a due slot creates one
// run named after it, so a restarted operator neither skips nor doubles it,
// and a run missed while the operator was down is caught up once. Failed runs
// are deleted a day after they ended (succeeded ones are the dump's
// catalogue: retention removes them with their snapshots).
import { annotations, applicationDumpSpec, dumpLabels, type ApplicationDump, type DumpRun } from '../../api/index.ts';
import { dueSlot, scheduledBackupName } from '../../core/index.ts';
import { ignoreNotFound, isAlreadyExists, kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';
import { SchedulerPass } from '../run/scheduler-pass.ts';

export interface DumpSchedulerDeps {
  client: KubeClient;
  cache: ClusterCache;
  now: () => Date;
  log: Log;
}

const keepFailedMs = 86_400_000;

export class DumpScheduler {
  readonly #deps: DumpSchedulerDeps;
  readonly #loop: SchedulerPass;

  constructor(deps: DumpSchedulerDeps) {
    this.#deps = deps;
    this.#loop = new SchedulerPass(
      () => this.#pass(),
      () => deps.now().getTime(),
      (error) => deps.log('dump scheduling failed', { error: error instanceof Error ? error.message : String(error) }),
    );
  }

  start(): void {
    this.#deps.cache.applicationDumps.onChange(() => this.#loop.soon());
    this.#loop.soon();
  }

  stop(): void {
    this.#loop.stop();
  }

  /** One pass: each dump's due run, and failed runs past their day; returns when the next slot comes. */
  async #pass(): Promise<number> {
    let wakeAt = Number.POSITIVE_INFINITY;
    const now = this.#deps.now();
    for (const dump of this.#deps.cache.applicationDumps.list()) {
      const next = await this.#schedule(dump, now).catch((error: unknown) => {
        this.#deps.log('could not schedule a dump', {
          dump: `${dump.metadata.namespace}/${dump.metadata.name}`,
          error: error instanceof Error ? error.message : String(error),
        });
        return undefined;
      });
      if (next !== undefined) wakeAt = Math.min(wakeAt, next.getTime());
    }
    await this.#removeOldFailures(now);
    return wakeAt;
  }

  /** Creates the dump's due run, if one is; returns its next slot. */
  async #schedule(dump: ApplicationDump, now: Date): Promise<Date | undefined> {
    const parsed = applicationDumpSpec.safeParse(dump.spec);
    if (!parsed.success || parsed.data.schedule === undefined || parsed.data.suspend) return undefined;
    const ns = dump.metadata.namespace;
    const key = `${ns}/${dump.metadata.name}`;
    const slots = [
      ...this.#deps.cache.runsOfDump(key).map((r) => r.spec.scheduledFor),
      dump.metadata.annotations?.[annotations.lastScheduled],
    ]
      .map((t) => Date.parse(t ?? ''))
      .filter((t) => !Number.isNaN(t));
    const last = slots.length === 0 ? undefined : new Date(Math.max(...slots));
    const slot = dueSlot(parsed.data.schedule, key, last, now);
    if (slot.due === undefined) return slot.next;
    const run: DumpRun = {
      metadata: {
        name: scheduledBackupName(dump.metadata.name, slot.due.slot),
        namespace: ns,
        labels: { [dumpLabels.dump]: dump.metadata.name.slice(0, 63), 'safehold.io/trigger': slot.due.trigger },
      },
      spec: { dump: dump.metadata.name, trigger: slot.due.trigger, scheduledFor: slot.due.slot.toISOString() },
    };
    try {
      await this.#deps.client.create(kinds.dumpRun, run);
      this.#deps.log('scheduled a dump', { run: `${ns}/${run.metadata.name}`, trigger: slot.due.trigger });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    // Then the slot on the ApplicationDump: a crash between the two leaves the run, which says the same.
    await ignoreNotFound(() =>
      this.#deps.client.mergePatch(
        kinds.applicationDump,
        { namespace: ns, name: dump.metadata.name },
        { metadata: { annotations: { [annotations.lastScheduled]: slot.due?.slot.toISOString() } } },
      ),
    );
    return slot.next;
  }

  async #removeOldFailures(now: Date): Promise<void> {
    for (const run of this.#deps.cache.dumpRunsIn(['Failed'])) {
      const ended = Date.parse(run.status?.completionTime ?? '');
      if (Number.isNaN(ended) || now.getTime() - ended < keepFailedMs) continue;
      await ignoreNotFound(() =>
        this.#deps.client.delete(kinds.dumpRun, { namespace: run.metadata.namespace, name: run.metadata.name }),
      );
    }
  }
}
