// Which repository maintenance is due: per restic repository (one per tenant
// of a per-namespace BackupRepository) and per operation (prune, check), the
// latest slot of the repository's schedule after the last maintenance of that
// kind, or after the tenant's first backup when there was none. Like backups,
// missed slots are made up once, not once each.
import type { BackupRepositorySpec } from '../api/index.ts';
import { nextRun } from './schedule.ts';

export type MaintenanceOperation = 'prune' | 'check';

export interface MaintenanceTarget {
  repository: string;
  tenant: string;
  spec: BackupRepositorySpec;
  /** The tenant's first backup, or the repository's creation: nothing is owed before it. */
  since: Date;
  /** The latest scheduled slot already created, per operation. */
  last: Partial<Record<MaintenanceOperation, Date>>;
}

export interface DueMaintenance {
  repository: string;
  tenant: string;
  operation: MaintenanceOperation;
  slot: Date;
}

const maxSleepMs = 60_000;

export function dueMaintenance(
  targets: readonly MaintenanceTarget[],
  now: Date,
): { due: DueMaintenance[]; wakeAt: Date } {
  const due: DueMaintenance[] = [];
  let wakeAt = now.getTime() + maxSleepMs;
  for (const target of targets) {
    for (const operation of ['prune', 'check'] as const) {
      const { cron, timeZone } = target.spec.maintenance[operation];
      const schedule = { cron, timeZone, spreadWindow: '0s' };
      const key = `${target.repository}/${target.tenant}`;
      let next = nextRun(schedule, key, target.last[operation] ?? target.since);
      let latest: Date | undefined;
      for (let i = 0; i < 10_000 && next !== undefined && next.getTime() <= now.getTime(); i++) {
        latest = next;
        next = nextRun(schedule, key, next);
      }
      if (latest !== undefined)
        due.push({ repository: target.repository, tenant: target.tenant, operation, slot: latest });
      if (next !== undefined) wakeAt = Math.min(wakeAt, next.getTime());
    }
  }
  return { due, wakeAt: new Date(Math.max(wakeAt, now.getTime() + 1000)) };
}

export function maintenanceName(repository: string, tenant: string, operation: string, slot: Date): string {
  const compact = slot.toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase();
  const readable = `${repository}${tenant === '' ? '' : `-${tenant}`}`.slice(0, 30).replace(/[^a-z0-9-]/g, '-');
  return `${readable}-${operation}-${compact}`.replace(/-+/g, '-');
}

/**
 * The slice a rolling check reads next: the one after the last one read ("k/N" to "k+1/N", and
 * after N/N, 1/N again), or the first when none was read or the number of slices changed. restic
 * puts each pack in one slice by its id, so N checks in a row read every pack, new ones included.
 */
export function nextRollingSlice(last: string | undefined, slices: number): string {
  const match = /^(\d+)\/(\d+)$/.exec(last ?? '');
  const read = Number(match?.[1]);
  if (match === null || Number(match[2]) !== slices || !(read >= 1 && read <= slices)) return `1/${slices}`;
  return `${(read % slices) + 1}/${slices}`;
}
