// Backups of a PVC that is gone are kept for the policy's grace period,
// counted from when Safehold first saw it gone. That moment is recorded on
// the backups themselves (state in the API, not in memory), so a restarted
// operator counts from the same time.
import { annotations } from '../../api/index.ts';
import { ignoreNotFound, kinds } from '../../kube/index.ts';
import type { MaintenanceControllerDeps as MaintenanceDeps } from './maintenance-kind.ts';

/** Marks the backups of PVCs that are gone with when that was first seen: the orphan grace period counts from here. */
export async function markOrphans(deps: Pick<MaintenanceDeps, 'cache' | 'client' | 'now'>): Promise<undefined> {
  const { cache, client } = deps;
  const stamp = deps
    .now()
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
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
