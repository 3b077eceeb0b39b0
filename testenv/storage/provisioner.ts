// The provisioning half of the CSI stand-in, as external-provisioner does it:
// a PVC whose class names one of our drivers gets a volume and a PV with a
// claimRef (kube-controller-manager then binds them); a PVC with a
// VolumeSnapshot dataSource starts as a copy of that snapshot; a Released PV
// with reclaim policy Delete loses its volume and then its object.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { quantityBytes } from '../../src/core/quantity.ts';
import {
  isAlreadyExists,
  isNotFound,
  kinds,
  recordEvent,
  type Informer,
  type KubeClient,
  type Requeue,
} from '../../src/kube/index.ts';
import { fstypeParameter, type CreatedVolume, type SnapshotRef, type VolumeBackend } from './backend.ts';
import type { VolumeSnapshot, VolumeSnapshotContent } from './snapshot-types.ts';

export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';
const provisionerAnnotations = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
];

export interface ProvisionerDeps {
  client: KubeClient;
  backends: Map<string, VolumeBackend>;
  claims: Informer<PersistentVolumeClaim>;
  volumes: Informer<PersistentVolume>;
  classes: Informer<StorageClass>;
  snapshots: Informer<VolumeSnapshot>;
  contents: Informer<VolumeSnapshotContent>;
  log: (line: string) => void;
}

export async function reconcileClaim(deps: ProvisionerDeps, key: string): Promise<Requeue | undefined> {
  const claim = deps.claims.get(key);
  if (claim === undefined || claim.spec?.volumeName !== undefined || claim.metadata?.deletionTimestamp !== undefined)
    return;
  const annotations = claim.metadata?.annotations ?? {};
  const driver = provisionerAnnotations.map((a) => annotations[a]).find((v) => v !== undefined);
  const backend = driver === undefined ? undefined : deps.backends.get(driver);
  if (backend === undefined) return;
  const className = claim.spec?.storageClassName ?? '';
  const storageClass = deps.classes.get(className);
  if (storageClass === undefined) return { requeueAfterMs: 1000 };
  if (
    storageClass.volumeBindingMode === 'WaitForFirstConsumer' &&
    annotations['volume.kubernetes.io/selected-node'] === undefined
  )
    return;

  const pvName = `pvc-${claim.metadata?.uid ?? ''}`;
  if (deps.volumes.get(pvName) !== undefined) return;
  const mode = claim.spec?.volumeMode ?? 'Filesystem';
  const request = claim.spec?.resources?.requests?.storage ?? '1Gi';
  const source = snapshotSource(deps, claim, backend.driver);
  if (source.kind === 'pending') return { requeueAfterMs: 500 };
  const fromSnapshot = source.kind === 'snapshot' ? source.snapshot : undefined;

  let volume: CreatedVolume;
  try {
    volume = await backend.createVolume({
      name: pvName,
      sizeBytes: quantityBytes(request),
      mode: mode === 'Block' ? 'Block' : 'Filesystem',
      parameters: storageClass.parameters ?? {},
      ...(fromSnapshot === undefined ? {} : { fromSnapshot }),
    });
  } catch (error) {
    // As external-provisioner does, so that whoever waits on the claim can read why.
    await recordEvent(
      deps.client,
      {
        object: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', ...claimRef(claim) },
        type: 'Warning',
        reason: 'ProvisioningFailed',
        message: error instanceof Error ? error.message : String(error),
      },
      backend.driver,
    ).catch(() => undefined);
    throw error;
  }
  const fsType = mode === 'Block' ? undefined : storageClass.parameters?.[fstypeParameter];
  const pv: PersistentVolume = {
    metadata: { name: pvName, annotations: { [provisionedByAnnotation]: backend.driver } },
    spec: {
      capacity: { storage: request },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      volumeMode: mode,
      persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
      storageClassName: className,
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata?.namespace ?? '',
        name: claim.metadata?.name ?? '',
        uid: claim.metadata?.uid ?? '',
      },
      csi: {
        driver: backend.driver,
        volumeHandle: volume.volumeHandle,
        ...(fsType === undefined ? {} : { fsType }),
        ...(volume.volumeAttributes === undefined ? {} : { volumeAttributes: volume.volumeAttributes }),
      },
    },
  };
  try {
    await deps.client.create(kinds.persistentVolume, pv);
    const from = fromSnapshot === undefined ? '' : ` from snapshot ${fromSnapshot.snapshotHandle}`;
    deps.log(`provisioned ${pvName} (${volume.volumeHandle}) for ${key}${from}`);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

type ClaimSource = { kind: 'empty' } | { kind: 'pending' } | { kind: 'snapshot'; snapshot: SnapshotRef };

/** What a claim starts from: nothing, or a snapshot of this driver (pending until it is ready). */
function snapshotSource(deps: ProvisionerDeps, claim: PersistentVolumeClaim, driver: string): ClaimSource {
  const ref = claim.spec?.dataSourceRef ?? claim.spec?.dataSource;
  if (ref?.kind !== 'VolumeSnapshot') return { kind: 'empty' };
  const snapshot = deps.snapshots.get(`${claim.metadata?.namespace ?? ''}/${ref.name}`);
  const contentName = snapshot?.status?.boundVolumeSnapshotContentName;
  const content = contentName === undefined ? undefined : deps.contents.get(contentName);
  const snapshotHandle = content?.status?.snapshotHandle;
  const sourceVolumeHandle = content?.spec.source.volumeHandle;
  if (snapshot?.status?.readyToUse !== true || snapshotHandle === undefined || sourceVolumeHandle === undefined)
    return { kind: 'pending' };
  if (content?.spec.driver !== driver) return { kind: 'pending' }; // another driver's snapshot: never provisioned here
  return { kind: 'snapshot', snapshot: { snapshotHandle, sourceVolumeHandle } };
}

function claimRef(claim: PersistentVolumeClaim) {
  return { namespace: claim.metadata?.namespace, name: claim.metadata?.name ?? '', uid: claim.metadata?.uid };
}

export async function reconcileVolume(deps: ProvisionerDeps, name: string): Promise<void> {
  const pv = deps.volumes.get(name);
  if (pv === undefined || pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete')
    return;
  const driver = pv.metadata?.annotations?.[provisionedByAnnotation];
  const backend = driver === undefined ? undefined : deps.backends.get(driver);
  const handle = pv.spec.csi?.volumeHandle;
  if (backend === undefined || handle === undefined) return;
  await backend.deleteVolume({ volumeHandle: handle, attributes: pv.spec.csi?.volumeAttributes ?? {} });
  try {
    await deps.client.delete(kinds.persistentVolume, { name });
    deps.log(`deleted released volume ${name}`);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
