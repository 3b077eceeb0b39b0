// The snapshot half of the CSI stand-in, as snapshot-controller and
// csi-snapshotter do it together: a VolumeSnapshot of a PVC on one of our
// drivers gets the default class if it named none, a bound-protection
// finalizer, a real point-in-time copy, a VolumeSnapshotContent, and then
// readyToUse on both. Deleting it removes the copy (deletionPolicy Delete),
// the content, and last the finalizer.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import {
  isAlreadyExists,
  isNotFound,
  kinds,
  type Informer,
  type KubeClient,
  type Requeue,
} from '../../src/kube/index.ts';
import type { CreatedSnapshot, VolumeBackend } from './backend.ts';
import {
  boundProtectionFinalizer,
  defaultSnapshotClassAnnotation,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
} from './snapshot-types.ts';

export interface SnapshotterDeps {
  client: KubeClient;
  backends: Map<string, VolumeBackend>;
  claims: Informer<PersistentVolumeClaim>;
  volumes: Informer<PersistentVolume>;
  snapshots: Informer<VolumeSnapshot>;
  contents: Informer<VolumeSnapshotContent>;
  snapshotClasses: Informer<VolumeSnapshotClass>;
  log: (line: string) => void;
}

export async function reconcileSnapshot(deps: SnapshotterDeps, key: string): Promise<Requeue | undefined> {
  const snapshot = deps.snapshots.get(key);
  if (snapshot === undefined) return;
  const namespace = snapshot.metadata.namespace ?? '';
  const name = snapshot.metadata.name ?? '';
  const contentName = `snapcontent-${snapshot.metadata.uid ?? ''}`;

  if (snapshot.metadata.deletionTimestamp !== undefined) {
    if (!(snapshot.metadata.finalizers ?? []).includes(boundProtectionFinalizer)) return;
    await deleteContent(deps, contentName);
    await deps.client.mergePatch(
      kinds.volumeSnapshot,
      { namespace, name },
      {
        metadata: {
          finalizers: (snapshot.metadata.finalizers ?? []).filter((f) => f !== boundProtectionFinalizer),
          resourceVersion: snapshot.metadata.resourceVersion,
        },
      },
    );
    deps.log(`deleted snapshot ${key}`);
    return;
  }
  if (snapshot.status?.readyToUse === true) return;
  // A group's member is made and deleted with its group (group-snapshotter.ts).
  if ((snapshot.metadata.ownerReferences ?? []).some((o) => o.kind === 'VolumeGroupSnapshot')) return;

  const claimName = snapshot.spec.source.persistentVolumeClaimName;
  if (claimName === undefined) return; // pre-provisioned contents are not offered by this stand-in
  const claim = deps.claims.get(`${namespace}/${claimName}`);
  const pv = claim?.spec?.volumeName === undefined ? undefined : deps.volumes.get(claim.spec.volumeName);
  const driver = pv?.spec?.csi?.driver;
  const backend = driver === undefined ? undefined : deps.backends.get(driver);
  if (claim === undefined || pv === undefined) return { requeueAfterMs: 1000 };
  if (backend === undefined) return;

  const className = snapshot.spec.volumeSnapshotClassName ?? defaultClassFor(deps, backend.driver);
  const snapshotClass = className === undefined ? undefined : deps.snapshotClasses.get(className);
  if (snapshotClass === undefined || snapshotClass.driver !== backend.driver) {
    await setError(
      deps,
      snapshot,
      `no VolumeSnapshotClass for driver ${backend.driver}${className === undefined ? '' : ` named "${className}"`}`,
    );
    return { requeueAfterMs: 5000 };
  }
  if (
    snapshot.spec.volumeSnapshotClassName === undefined ||
    !(snapshot.metadata.finalizers ?? []).includes(boundProtectionFinalizer)
  ) {
    await deps.client.mergePatch(
      kinds.volumeSnapshot,
      { namespace, name },
      {
        metadata: {
          finalizers: [...new Set([...(snapshot.metadata.finalizers ?? []), boundProtectionFinalizer])],
          resourceVersion: snapshot.metadata.resourceVersion,
        },
        spec: { volumeSnapshotClassName: snapshotClass.metadata.name },
      },
    );
    return; // the update comes back through the informer
  }

  const handle = pv.spec?.csi?.volumeHandle ?? '';
  let taken: CreatedSnapshot;
  try {
    taken = await backend.createSnapshot(contentName, {
      volumeHandle: handle,
      attributes: pv.spec?.csi?.volumeAttributes ?? {},
    });
  } catch (error) {
    // As csi-snapshotter does: the reason is on the VolumeSnapshot for whoever waits on it.
    await setError(deps, snapshot, error instanceof Error ? error.message : String(error));
    throw error;
  }
  if (deps.contents.get(contentName) === undefined) {
    const content: VolumeSnapshotContent = {
      metadata: { name: contentName },
      spec: {
        volumeSnapshotRef: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          namespace,
          name,
          uid: snapshot.metadata.uid ?? '',
        },
        source: { volumeHandle: handle },
        driver: backend.driver,
        deletionPolicy: snapshotClass.deletionPolicy,
        volumeSnapshotClassName: snapshotClass.metadata.name ?? '',
        sourceVolumeMode: pv.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem',
      },
    };
    await deps.client.create(kinds.volumeSnapshotContent, content).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
  }
  await deps.client.mergePatch(
    kinds.volumeSnapshotContent,
    { name: contentName },
    {
      status: {
        snapshotHandle: taken.snapshotHandle,
        creationTime: taken.creationTime.getTime() * 1e6,
        readyToUse: true,
        restoreSize: taken.sizeBytes,
      },
    },
    'status',
  );
  await deps.client.mergePatch(
    kinds.volumeSnapshot,
    { namespace, name },
    {
      status: {
        boundVolumeSnapshotContentName: contentName,
        creationTime: taken.creationTime.toISOString(),
        readyToUse: true,
        restoreSize: String(Math.max(taken.sizeBytes, 0)),
        error: null,
      },
    },
    'status',
  );
  deps.log(`snapshot ${key} ready (${contentName}, ${taken.sizeBytes} bytes)`);
}

function defaultClassFor(deps: SnapshotterDeps, driver: string): string | undefined {
  return deps.snapshotClasses
    .list()
    .find((c) => c.driver === driver && c.metadata.annotations?.[defaultSnapshotClassAnnotation] === 'true')?.metadata
    .name;
}

async function deleteContent(deps: SnapshotterDeps, contentName: string): Promise<void> {
  const content = deps.contents.get(contentName);
  if (content === undefined) return;
  const backend = deps.backends.get(content.spec.driver);
  const snapshotHandle = content.status?.snapshotHandle;
  if (content.spec.deletionPolicy === 'Delete' && backend !== undefined && snapshotHandle !== undefined)
    await backend.deleteSnapshot({ snapshotHandle, sourceVolumeHandle: content.spec.source.volumeHandle ?? '' });
  try {
    await deps.client.delete(kinds.volumeSnapshotContent, { name: contentName });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

async function setError(deps: SnapshotterDeps, snapshot: VolumeSnapshot, message: string): Promise<void> {
  if (snapshot.status?.error?.message === message) return;
  await deps.client.mergePatch(
    kinds.volumeSnapshot,
    { namespace: snapshot.metadata.namespace ?? '', name: snapshot.metadata.name ?? '' },
    { status: { readyToUse: false, error: { message, time: new Date().toISOString() } } },
    'status',
  );
}
