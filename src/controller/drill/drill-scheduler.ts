// Creates the RestoreDrills that policies' drill schedules call for. At each
// slot of a policy's drill cron, the volumes it protects that were proven
// longest ago are drilled (drillPicks); the slot is recorded on the policy
// (safehold.io/last-drill-slot), and each drill is named after its volume and
// slot, so a restarted operator neither skips nor doubles a run. A volume
// whose last drill failed gets a drill of its newest good backup as soon as
// that is another backup than the one that failed (a repaired repository
// turns it green without waiting for the schedule). Finished drills are
// deleted a week after they end: the verdict stays on the PVC and the
// VolumeBackup.
import { apiGroup, apiVersion, durationMs, type BackupPolicy, type RestoreDrill } from '../../api/index.ts';
import {
  chooseBackup,
  drillPicks,
  dueSlot,
  nextRun,
  mayOweRedrill,
  redrillName,
  redrills,
  scheduledBackupName,
  windowShortfall,
  type CoverageRow,
  type DrillCandidate,
} from '../../core/index.ts';
import { ignoreNotFound, isAlreadyExists, kinds, recordEvent, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';
import { SchedulerPass } from '../run/scheduler-pass.ts';
import { drillFinished } from './drill-observation.ts';

export interface DrillSchedulerDeps {
  client: KubeClient;
  cache: ClusterCache;
  coverage: { rows(): readonly CoverageRow[]; onRecomputed(listener: () => void): void };
  now: () => Date;
  log: Log;
}

/** On a BackupPolicy: the latest drill slot drills were created for. */
export const lastDrillSlotAnnotation = 'safehold.io/last-drill-slot';
const keepFinishedMs = 7 * 86_400_000;

export class DrillScheduler {
  readonly #deps: DrillSchedulerDeps;
  readonly #loop: SchedulerPass;

  constructor(deps: DrillSchedulerDeps) {
    this.#deps = deps;
    this.#loop = new SchedulerPass(
      () => this.#pass(),
      () => deps.now().getTime(),
      (error) =>
        deps.log('restore drill scheduling failed', { error: error instanceof Error ? error.message : String(error) }),
    );
  }

  start(): void {
    this.#deps.cache.policies.onChange(() => this.#loop.soon());
    this.#deps.coverage.onRecomputed(() => this.#loop.soon());
    this.#deps.cache.drills.onChange((c) => {
      if (c.type !== 'added' && drillFinished(c.object)) this.#loop.soon();
    });
    this.#loop.soon();
  }

  stop(): void {
    this.#loop.stop();
  }

  /** One pass: each drill policy's due slot, the re-drills, old drills; returns when the next slot comes. */
  async #pass(): Promise<number> {
    let wakeAt = Number.POSITIVE_INFINITY;
    const now = this.#deps.now();
    const rows = this.#deps.coverage.rows();
    for (const policy of this.#deps.cache.parsedPolicies().valid) {
      if (policy.spec.drill === undefined) continue;
      const next = await this.#schedule(policy, rows, now).catch((error: unknown) => {
        this.#deps.log('could not schedule restore drills', {
          policy: policy.metadata.name,
          error: error instanceof Error ? error.message : String(error),
        });
        return undefined;
      });
      if (next !== undefined) wakeAt = Math.min(wakeAt, next.getTime());
    }
    await this.#redrill(rows);
    await this.#removeOld(now);
    return wakeAt;
  }

  /** The volumes a policy protects, as drill candidates; the newest good backup looked up only where asked. */
  #candidates(rows: readonly CoverageRow[], policy: string | undefined, lookUp: boolean): DrillCandidate[] {
    const { cache } = this.#deps;
    return rows.flatMap((row) => {
      if (row.decision.state !== 'protected' || (policy !== undefined && row.decision.policy !== policy)) return [];
      const key = `${row.namespace}/${row.name}`;
      const drilling = cache.drillsOf(key).some((d) => !drillFinished(d));
      const latest = lookUp
        ? chooseBackup(cache.backupsOf(row.namespace, row.name), {
            namespace: row.namespace,
            pvc: row.name,
            backup: 'latest',
            asOf: undefined,
          })
        : undefined;
      return [
        {
          namespace: row.namespace,
          pvc: row.name,
          verification: row.verification,
          backedUp: row.lastBackup !== undefined,
          latestBackup: latest?.ok === true ? latest.backup.name : undefined,
          drilling,
        },
      ];
    });
  }

  /** Creates the drills of the policy's due slot, if one is; returns its next slot. */
  async #schedule(policy: BackupPolicy, rows: readonly CoverageRow[], now: Date): Promise<Date | undefined> {
    const drill = policy.spec.drill;
    if (drill === undefined) return undefined;
    const schedule = { cron: drill.cron, timeZone: drill.timeZone, spreadWindow: '0s' };
    const key = `drill:${policy.metadata.name}`;
    // The parsed policy keeps only its spec: the recorded slot is on the object as the cache has it.
    const raw = this.#deps.cache.policies.get(policy.metadata.name);
    const recorded = Date.parse(raw?.metadata?.annotations?.[lastDrillSlotAnnotation] ?? '');
    const last = Number.isNaN(recorded) ? undefined : new Date(recorded);
    const slot = dueSlot(schedule, key, last, now);
    if (slot.due === undefined) {
      // A policy that never drilled starts at its next slot; the slot is recorded so that a restart does not skip it.
      if (last === undefined && slot.next !== undefined) await this.#recordSlot(policy, new Date(now.getTime()));
      return slot.next;
    }
    const due = slot.due.slot;
    const windowMs = durationMs(drill.window);
    const candidates = this.#candidates(rows, policy.metadata.name, false);
    const picks = drillPicks(candidates, { volumes: drill.volumes, windowMs }, now, slot.next?.getTime());
    for (const pick of picks) await this.#create(pick, scheduledBackupName(`${pick.pvc}-drill`, due), 'schedule');
    const interval =
      slot.next === undefined ? undefined : (nextRun(schedule, key, slot.next)?.getTime() ?? 0) - slot.next.getTime();
    const shortfall = windowShortfall(candidates.length, { ...drill, windowMs }, interval);
    if (shortfall !== undefined) await this.#warn(policy, shortfall, now);
    this.#deps.log('scheduled restore drills', {
      policy: policy.metadata.name,
      slot: due.toISOString(),
      drills: picks.length,
    });
    await this.#recordSlot(policy, due);
    return slot.next;
  }

  async #recordSlot(policy: BackupPolicy, slot: Date): Promise<void> {
    await ignoreNotFound(() =>
      this.#deps.client.mergePatch(
        kinds.backupPolicy,
        { name: policy.metadata.name },
        { metadata: { annotations: { [lastDrillSlotAnnotation]: slot.toISOString() } } },
      ),
    );
  }

  /** A volume whose last drill failed has its newest good backup drilled once that is another backup. */
  async #redrill(rows: readonly CoverageRow[]): Promise<void> {
    const failed = rows.filter((r) => mayOweRedrill(r.verification, r.lastBackup));
    if (failed.length === 0) return;
    for (const pick of redrills(this.#candidates(failed, undefined, true))) {
      await this.#create(pick, redrillName(pick.pvc, pick.latestBackup ?? ''), 'schedule', pick.latestBackup);
    }
  }

  async #create(pick: DrillCandidate, name: string, trigger: 'schedule', backup = 'latest'): Promise<void> {
    const drill: RestoreDrill = {
      metadata: { name, namespace: pick.namespace, labels: { 'safehold.io/trigger': trigger } },
      spec: { source: { pvc: pick.pvc }, backup, trigger },
    };
    try {
      await this.#deps.client.create(kinds.restoreDrill, drill);
      this.#deps.log('created a restore drill', { drill: `${pick.namespace}/${name}`, backup });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }

  async #warn(policy: BackupPolicy, message: string, now: Date): Promise<void> {
    await recordEvent(
      this.#deps.client,
      {
        object: {
          apiVersion: `${apiGroup}/${apiVersion}`,
          kind: 'BackupPolicy',
          name: policy.metadata.name,
          uid: this.#deps.cache.policies.get(policy.metadata.name)?.metadata?.uid,
        },
        type: 'Warning',
        reason: 'DrillWindowUnreachable',
        message,
      },
      'safehold',
      now,
    ).catch(() => undefined);
  }

  async #removeOld(now: Date): Promise<void> {
    for (const drill of this.#deps.cache.drillsIn(['Succeeded', 'Failed'])) {
      const ended = Date.parse(drill.status?.completionTime ?? '');
      if (Number.isNaN(ended) || now.getTime() - ended < keepFinishedMs) continue;
      await ignoreNotFound(() =>
        this.#deps.client.delete(kinds.restoreDrill, {
          namespace: drill.metadata.namespace,
          name: drill.metadata.name,
        }),
      );
    }
  }
}
