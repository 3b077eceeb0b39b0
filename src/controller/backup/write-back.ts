// What a finished run leaves on the volume for people and tools: annotations
// on the PVC and its PV, and an Event on the PVC.
import type { VolumeBackup } from '../../api/index.ts';
import { ignoreNotFound, kinds, recordEvent } from '../../kube/index.ts';
import type { BackupDeps } from './backup-kind.ts';

export async function writeBack(
  deps: BackupDeps,
  backup: VolumeBackup,
  values: Record<string, string | null>,
): Promise<void> {
  const ns = backup.metadata.namespace;
  const claim = deps.cache.claims.get(`${ns}/${backup.spec.pvc}`);
  const patch = { metadata: { annotations: values } };
  await ignoreNotFound(() =>
    deps.client.mergePatch(kinds.persistentVolumeClaim, { namespace: ns, name: backup.spec.pvc }, patch),
  );
  const pv = claim?.spec?.volumeName;
  if (pv !== undefined) await ignoreNotFound(() => deps.client.mergePatch(kinds.persistentVolume, { name: pv }, patch));
}

export async function event(
  deps: BackupDeps,
  backup: VolumeBackup,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  const claim = deps.cache.claims.get(`${backup.metadata.namespace}/${backup.spec.pvc}`);
  await recordEvent(
    deps.client,
    {
      object: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        name: backup.spec.pvc,
        namespace: backup.metadata.namespace,
        uid: claim?.metadata?.uid,
      },
      type,
      reason,
      message: `${backup.metadata.name}: ${message}`,
    },
    'safehold',
    deps.now(),
  ).catch(() => undefined);
}
