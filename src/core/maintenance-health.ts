// What the maintenance-overdue alert reads beside each repository's last
// prune and check (from its status): how far apart its prune and check runs
// are, and since when a tenant owes maintenance at all (its first good
// backup, not before the repository existed), for a tenant never maintained.
// Like the backup alerts (ADR 0014), all of it comes from API objects.
import { tenantOf, type BackupRepository, type VolumeBackup } from '../api/index.ts';
import type { MaintenanceOperation } from './maintenance-schedule.ts';
import { scheduleIntervalSeconds } from './volume-health.ts';

export interface MaintenanceInterval {
  repository: string;
  operation: MaintenanceOperation;
  seconds: number;
}

/** The longest gap between runs of each repository's prune and check schedules (see scheduleIntervalSeconds). */
export function maintenanceIntervals(
  repositories: readonly Pick<BackupRepository, 'metadata' | 'spec'>[],
  now: Date,
): MaintenanceInterval[] {
  return repositories.flatMap((repository) =>
    (['prune', 'check'] as const).flatMap((operation) => {
      const { cron, timeZone } = repository.spec.maintenance[operation];
      const seconds = scheduleIntervalSeconds({ cron, timeZone, spreadWindow: '0s' }, now);
      return seconds === undefined ? [] : [{ repository: repository.metadata.name, operation, seconds }];
    }),
  );
}

export interface MaintenanceOwed {
  repository: string;
  tenant: string;
  /** Unix seconds: the tenant's first good backup, or the repository's creation if later. */
  sinceSeconds: number;
}

/** Per restic repository with good backups in it, since when it owes a prune and a check. */
export function maintenanceOwed(
  backups: readonly {
    metadata: { namespace: string };
    status?: Pick<NonNullable<VolumeBackup['status']>, 'phase' | 'repository' | 'completionTime'>;
  }[],
  repository: (name: string) => Pick<BackupRepository, 'metadata' | 'spec'> | undefined,
): MaintenanceOwed[] {
  const owed = new Map<string, MaintenanceOwed>();
  for (const backup of backups) {
    if (backup.status?.phase !== 'Succeeded' || backup.status.repository === undefined) continue;
    const repo = repository(backup.status.repository);
    const done = Date.parse(backup.status.completionTime ?? '');
    if (repo === undefined || Number.isNaN(done)) continue;
    const tenant = tenantOf(repo.spec, backup.metadata.namespace);
    const created = Date.parse(repo.metadata.creationTimestamp ?? '');
    const since = Math.max(done, Number.isNaN(created) ? 0 : created) / 1000;
    const key = `${repo.metadata.name}/${tenant}`;
    const seen = owed.get(key);
    if (seen === undefined || since < seen.sinceSeconds)
      owed.set(key, { repository: repo.metadata.name, tenant, sinceSeconds: since });
  }
  return [...owed.values()].sort(
    (a, b) => a.repository.localeCompare(b.repository) || a.tenant.localeCompare(b.tenant),
  );
}
