// Which scheduled runs are due: per protected volume, the slots its policy's
// schedule (with the volume's spread offset) put after its last run. One due
// run per volume, the latest slot; earlier missed slots are not run twice.
import { createHash } from 'node:crypto';
import { annotations, type BackupPolicySpec } from '../api/index.ts';
import type { CoverageRow } from './coverage.ts';
import { nextRun } from './schedule.ts';

/** A slot within this long after its time runs as 'schedule'; later, as a 'catch-up'. */
const onTimeMs = 10 * 60_000;
const maxSleepMs = 60_000;

export interface DueRun {
  namespace: string;
  pvc: string;
  policy: string;
  slot: Date;
  trigger: 'schedule' | 'catch-up';
}

/**
 * The latest schedule slot of each volume ("namespace/pvc"): from its runs (spec.scheduledFor) and
 * from the slot recorded on its PVC when the run was created. Retention and maintenance delete
 * runs; the PVC's record stays, so a slot whose run was deleted is never run again.
 */
export function lastScheduledSlots(
  backups: readonly { metadata: { namespace: string }; spec: { pvc: string; scheduledFor?: string | undefined } }[],
  claims: readonly { metadata?: { namespace?: string; name?: string; annotations?: Record<string, string> } }[],
): Map<string, Date> {
  const last = new Map<string, Date>();
  const note = (key: string, time: string | undefined) => {
    const slot = time === undefined ? Number.NaN : Date.parse(time);
    if (!Number.isNaN(slot) && (last.get(key)?.getTime() ?? -Infinity) < slot) last.set(key, new Date(slot));
  };
  for (const backup of backups) note(`${backup.metadata.namespace}/${backup.spec.pvc}`, backup.spec.scheduledFor);
  for (const claim of claims)
    note(
      `${claim.metadata?.namespace ?? ''}/${claim.metadata?.name ?? ''}`,
      claim.metadata?.annotations?.[annotations.lastScheduled],
    );
  return last;
}

/** Pure: which runs are due now, and when to look again. */
export function dueRuns(
  rows: readonly CoverageRow[],
  lastSlots: ReadonlyMap<string, Date>,
  policies: ReadonlyMap<string, Pick<BackupPolicySpec, 'schedule'>>,
  now: Date,
): { due: DueRun[]; wakeAt: Date } {
  const due: DueRun[] = [];
  let wakeAt = now.getTime() + maxSleepMs;
  for (const row of rows) {
    if (row.decision.state !== 'protected' || row.phase !== 'Bound') continue;
    const policy = policies.get(row.decision.policy);
    if (policy === undefined) continue;
    const key = `${row.namespace}/${row.name}`;
    const slot = dueSlot(policy.schedule, key, lastSlots.get(key), now);
    if (slot.next !== undefined) wakeAt = Math.min(wakeAt, slot.next.getTime());
    if (slot.due !== undefined)
      due.push({ namespace: row.namespace, pvc: row.name, policy: row.decision.policy, ...slot.due });
  }
  return { due, wakeAt: new Date(Math.max(wakeAt, now.getTime() + 1000)) };
}

/**
 * One schedule's due slot for a key ("namespace/name") whose latest slot was `last`: the latest
 * slot at or before now, if any came since (one run makes up for missed ones), and the next slot
 * after now. A key with no history starts at its next slot: it is not owed a run from the past.
 */
export function dueSlot(
  schedule: BackupPolicySpec['schedule'],
  key: string,
  last: Date | undefined,
  now: Date,
): { due: { slot: Date; trigger: 'schedule' | 'catch-up' } | undefined; next: Date | undefined } {
  let next = nextRun(schedule, key, last ?? now);
  if (next === undefined || next.getTime() > now.getTime()) return { due: undefined, next };
  const first = next;
  let latest = next;
  for (let i = 0; i < 10_000 && next !== undefined && next.getTime() <= now.getTime(); i++) {
    latest = next;
    next = nextRun(schedule, key, next);
  }
  // On time and nothing skipped: the regular run. Otherwise one run makes up for what was missed.
  const trigger = latest === first && now.getTime() - latest.getTime() <= onTimeMs ? 'schedule' : 'catch-up';
  return { due: { slot: latest, trigger }, next };
}

/**
 * The slot of a volume's schedule that a backup taken now with another
 * volume's scheduled backup (one workload's volumes captured together) stands
 * for, so the volume is not backed up a second time at its own slot: the
 * latest slot already due when one is (it makes up for it, as a catch-up
 * would), else the next one. The volume's cadence then follows the group's:
 * once per slot of the schedule, whichever volume of the workload comes first.
 */
export function memberSlot(
  schedule: BackupPolicySpec['schedule'],
  key: string,
  last: Date | undefined,
  now: Date,
): Date | undefined {
  const slot = dueSlot(schedule, key, last, now);
  return slot.due?.slot ?? slot.next;
}

export function scheduledBackupName(pvc: string, slot: Date): string {
  const hash = createHash('sha256').update(pvc).digest('hex').slice(0, 6);
  const compact = slot.toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase();
  return `${pvc.slice(0, 40).replace(/[^a-z0-9-]/g, '-')}-${hash}-${compact}`;
}
