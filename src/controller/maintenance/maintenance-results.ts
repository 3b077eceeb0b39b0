// What a finished maintenance run leaves behind: the catalogue follows the
// repository (forgotten snapshots leave their volumes' histories, runs that
// failed long ago are deleted), the BackupRepository's status records each
// tenant's health, metrics and an Event tell the rest, and older finished
// runs of the same kind are deleted.
import {
  type BackupRepository,
  type BackupRepositoryStatus,
  type RepositoryMaintenance,
  type TenantHealth,
  type VolumeBackup,
  snapshotIdOf,
} from '../../api/index.ts';
import { catalogueDeletions, setCondition } from '../../core/index.ts';
import { ignoreNotFound, kinds, recordEvent, writeStatus } from '../../kube/index.ts';
import { recordVerdict } from '../drill/verdict-record.ts';
import { cleanedUp, isCleanedUp, writeRunStatus } from '../run/run-status.ts';
import type { MaintenanceDeps } from './maintenance-kind.ts';
import { backupsInScope, dumpsInScope, finished, operationLabel, repositoryOf } from './maintenance-objects.ts';

/** Finished maintenance objects kept per repository, tenant and operation. */
const keepFinished = 3;

export async function cleanUpMaintenance(deps: MaintenanceDeps, maintenance: RepositoryMaintenance): Promise<void> {
  if (isCleanedUp(maintenance)) return;
  const repository = repositoryOf(deps.cache, maintenance);
  const succeeded = maintenance.status?.phase === 'Succeeded' || maintenance.status?.reason === 'CheckFailed';
  let deleted = 0;
  if (repository !== undefined && succeeded) {
    // The catalogue follows the repository: forgotten snapshots leave their volumes' histories (and lose
    // their run objects); runs that failed long ago are deleted.
    const backups = backupsInScope(deps.cache, maintenance, repository);
    const byVolume = new Map<string, string[]>();
    for (const backup of catalogueDeletions(backups, maintenance.status?.forget ?? [], deps.now())) {
      const id = snapshotIdOf(backup.status);
      if (backup.status?.phase === 'Succeeded' && id !== undefined) {
        const volume = `${backup.metadata.namespace}/${backup.spec.pvc}`;
        byVolume.set(volume, [...(byVolume.get(volume) ?? []), id]);
      } else {
        await ignoreNotFound(() =>
          deps.client.delete(kinds.volumeBackup, { namespace: backup.metadata.namespace, name: backup.metadata.name }),
        );
      }
      deleted++;
    }
    await deps.histories.forget(byVolume);
    // A forgotten dump's run goes with its snapshot: the runs are the dump's catalogue.
    const forgotten = new Set(maintenance.status?.forget ?? []);
    for (const run of dumpsInScope(deps.cache, maintenance, repository))
      if (forgotten.has(run.status?.snapshotId ?? '')) {
        await ignoreNotFound(() =>
          deps.client.delete(kinds.dumpRun, { namespace: run.metadata.namespace, name: run.metadata.name }),
        );
        deleted++;
      }
    await recordHealth(deps, maintenance, repository);
    await markDamaged(deps, maintenance, backups);
  }
  publish(deps, maintenance);
  await recordEvent(
    deps.client,
    {
      object: {
        apiVersion: 'safehold.io/v1alpha1',
        kind: 'RepositoryMaintenance',
        name: maintenance.metadata.name,
        namespace: maintenance.metadata.namespace,
        uid: maintenance.metadata.uid,
      },
      type: maintenance.status?.phase === 'Succeeded' ? 'Normal' : 'Warning',
      reason: maintenance.status?.reason ?? 'Finished',
      message: maintenance.status?.message ?? '',
    },
    'safehold',
    deps.now(),
  ).catch(() => undefined);
  // Older finished maintenance of the same repository, tenant and operation goes.
  const siblings = deps.cache.maintenances
    .list()
    .filter(
      (m) =>
        finished(m) &&
        m.spec.repository === maintenance.spec.repository &&
        (m.spec.tenant ?? '') === (maintenance.spec.tenant ?? '') &&
        m.metadata.labels?.[operationLabel] === maintenance.metadata.labels?.[operationLabel],
    )
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  for (const old of siblings.slice(keepFinished))
    await ignoreNotFound(() =>
      deps.client.delete(kinds.repositoryMaintenance, { namespace: old.metadata.namespace, name: old.metadata.name }),
    );
  await writeRunStatus(
    deps.client,
    kinds.repositoryMaintenance,
    maintenance,
    {},
    cleanedUp(`removed ${deleted} forgotten backups and long-failed runs from the catalogue`, 'CatalogueUpdated'),
    deps.now(),
  );
}

/**
 * The backups with data in a pack the check found damaged fail their proof: each VolumeBackup says so, and
 * each volume's PVC names its newest such backup, so the volume is red until a drill of a newer backup passes.
 */
async function markDamaged(
  deps: MaintenanceDeps,
  maintenance: RepositoryMaintenance,
  backups: readonly VolumeBackup[],
): Promise<void> {
  const damage = maintenance.status?.damage;
  if (damage === undefined || damage.snapshots.length === 0) return;
  const affected = backups.filter((b) => {
    const id = snapshotIdOf(b.status) ?? '';
    return b.status?.phase === 'Succeeded' && id !== '' && damage.snapshots.some((s) => id.startsWith(s));
  });
  const newest = new Map<string, VolumeBackup>();
  for (const backup of affected) {
    const key = `${backup.metadata.namespace}/${backup.spec.pvc}`;
    const seen = newest.get(key);
    if (seen === undefined || (seen.status?.snapshotTime ?? '') < (backup.status?.snapshotTime ?? ''))
      newest.set(key, backup);
  }
  const time = maintenance.status?.completionTime ?? deps.now().toISOString();
  const packs = damage.packs.join(', ');
  for (const backup of affected) {
    const claim = newest.get(`${backup.metadata.namespace}/${backup.spec.pvc}`) === backup;
    await recordVerdict(
      deps.client,
      { namespace: backup.metadata.namespace, pvc: backup.spec.pvc, backup: backup.metadata.name },
      {
        time,
        drill: `check:${maintenance.metadata.name}`,
        verdict: 'Failed',
        message: `DamagedPack: restic check (RepositoryMaintenance ${maintenance.metadata.name}) found pack ${packs} damaged; backup ${backup.metadata.name} has data in it`,
      },
      claim,
    );
  }
}

async function recordHealth(
  deps: MaintenanceDeps,
  maintenance: RepositoryMaintenance,
  repository: BackupRepository,
): Promise<void> {
  const status = maintenance.status ?? {};
  const stamp = status.completionTime;
  const tenant = maintenance.spec.tenant ?? '';
  await writeStatus<{ metadata: { name: string }; status?: BackupRepositoryStatus }>(
    deps.client,
    kinds.backupRepository,
    { name: repository.metadata.name },
    (current) => {
      const tenants = [...(current.status?.tenants ?? [])];
      const index = tenants.findIndex((t) => t.tenant === tenant);
      const entry: TenantHealth = { ...(index >= 0 ? tenants[index] : undefined), tenant };
      if ((status.forget?.length ?? 0) > 0 || maintenance.spec.forget !== false) entry.lastForgetTime = stamp;
      if (maintenance.spec.prune !== false) entry.lastPruneTime = stamp;
      if (maintenance.spec.check !== undefined) {
        entry.lastCheckTime = stamp;
        entry.checkOk = status.checkOk;
        entry.checkMessage = status.checkMessage?.slice(0, 1024);
        // A check that ran to its end read its slice: a rolling check goes on from the next one.
        const read = maintenance.spec.check.readDataSubset;
        if (status.checkOk !== undefined && read !== undefined) entry.lastReadDataSubset = read;
      }
      if (status.snapshots !== undefined) entry.snapshots = status.snapshots;
      if (status.repositoryBytes !== undefined) entry.bytes = status.repositoryBytes;
      if (index >= 0) tenants[index] = entry;
      else tenants.push(entry);
      tenants.sort((a, b) => a.tenant.localeCompare(b.tenant));
      const failing = tenants.filter((t) => t.checkOk === false).map((t) => t.tenant || '(shared)');
      const conditions = setCondition(
        current.status?.conditions ?? [],
        failing.length === 0
          ? {
              type: 'Healthy',
              status: 'True',
              reason: 'ChecksClean',
              message: 'the last check of every repository was clean',
            }
          : {
              type: 'Healthy',
              status: 'False',
              reason: 'CheckFailed',
              message: `restic check found errors: ${failing.join(', ')}`,
            },
        stamp ?? new Date().toISOString(),
      );
      return JSON.parse(JSON.stringify({ ...current.status, tenants, conditions })) as BackupRepositoryStatus;
    },
  );
}

function publish(deps: MaintenanceDeps, maintenance: RepositoryMaintenance): void {
  const status = maintenance.status ?? {};
  const labels = { repository: maintenance.spec.repository, tenant: maintenance.spec.tenant ?? '' };
  const m = deps.metrics;
  const at = Date.parse(status.completionTime ?? '') / 1000;
  m.maintenanceRuns.inc({ ...labels, result: status.reason ?? 'Unknown' });
  if (status.phase === 'Succeeded' || status.reason === 'CheckFailed') {
    if (maintenance.spec.prune !== false) m.lastPrune.set(labels, at);
    if (status.forgotten !== undefined) m.forgotten.inc(labels, status.forgotten);
    if (status.snapshots !== undefined) m.repositorySnapshots.set(labels, status.snapshots);
    if (status.repositoryBytes !== undefined) m.repositoryBytes.set(labels, status.repositoryBytes);
    if (status.checkOk !== undefined) {
      m.lastCheck.set(labels, at);
      m.checkOk.set(labels, status.checkOk ? 1 : 0);
    }
  }
}
