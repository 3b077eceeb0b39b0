// The group snapshot half of the CSI stand-in, as snapshot-controller and
// csi-snapshotter do it together for a VolumeGroupSnapshot: the claims its
// selector picks (bound, all on the class's driver) are snapshotted at one
// moment by the backend, recorded in a VolumeGroupSnapshotContent, and each
// gets a VolumeSnapshot and VolumeSnapshotContent of its own, named and owned
// as snapshot-controller names and owns them (snapshot-<sha256>, owned by the
// group, in-group finalizer, status.volumeGroupSnapshotName). Deleting the
// group deletes its snapshots (with the backend's copies, deletionPolicy
// Delete); a member cannot be deleted on its own.
import { createHash } from 'node:crypto';
import { matchesSelector } from '../../src/core/index.ts';
import { isAlreadyExists, isNotFound, kinds, type Informer, type Requeue } from '../../src/kube/index.ts';
import type { CreatedSnapshot } from './backend.ts';
import type { SnapshotterDeps } from './snapshotter.ts';
import {
  defaultGroupSnapshotClassAnnotation,
  groupBoundFinalizer,
  inGroupFinalizer,
  type VolumeGroupSnapshot,
  type VolumeGroupSnapshotClass,
  type VolumeGroupSnapshotContent,
  type VolumeSnapshot,
  type VolumeSnapshotContent,
} from './snapshot-types.ts';

export interface GroupSnapshotterDeps extends SnapshotterDeps {
  groupSnapshots: Informer<VolumeGroupSnapshot>;
  groupContents: Informer<VolumeGroupSnapshotContent>;
  groupClasses: Informer<VolumeGroupSnapshotClass>;
}

export async function reconcileGroupSnapshot(deps: GroupSnapshotterDeps, key: string): Promise<Requeue | undefined> {
  const group = deps.groupSnapshots.get(key);
  if (group === undefined) return;
  const namespace = group.metadata.namespace ?? '';
  const name = group.metadata.name ?? '';
  const contentName = `groupsnapcontent-${group.metadata.uid ?? ''}`;
  if (group.metadata.deletionTimestamp !== undefined) {
    if (!(group.metadata.finalizers ?? []).includes(groupBoundFinalizer)) return;
    await deleteGroup(deps, group, contentName);
    return;
  }
  if (group.status?.readyToUse === true) return;
  const selector = group.spec.source.selector;
  if (selector === undefined) return; // pre-provisioned group contents are not offered by this stand-in

  const className = group.spec.volumeGroupSnapshotClassName ?? defaultClass(deps);
  const groupClass = className === undefined ? undefined : deps.groupClasses.get(className);
  const backend = groupClass === undefined ? undefined : deps.backends.get(groupClass.driver);
  if (groupClass === undefined || backend?.createGroupSnapshot === undefined)
    return setGroupError(deps, group, `no VolumeGroupSnapshotClass named "${className ?? ''}" for a group driver`);
  const claims = deps.claims
    .list()
    .filter((c) => c.metadata?.namespace === namespace && matchesSelector(selector, c.metadata.labels));
  if (claims.length === 0) return setGroupError(deps, group, 'the selector matches no PersistentVolumeClaim');
  const volumes = claims.map((c) => deps.volumes.get(c.spec?.volumeName ?? ''));
  const unbound = claims.find((_, i) => volumes[i]?.spec?.csi === undefined);
  if (unbound !== undefined) return { requeueAfterMs: 1000 };
  const other = volumes.find((v) => v?.spec?.csi?.driver !== groupClass.driver);
  if (other !== undefined)
    return setGroupError(deps, group, `PV ${other.metadata?.name ?? ''} is not on driver ${groupClass.driver}`);
  if (!(group.metadata.finalizers ?? []).includes(groupBoundFinalizer)) {
    await deps.client.mergePatch(
      kinds.volumeGroupSnapshot,
      { namespace, name },
      {
        metadata: {
          finalizers: [...(group.metadata.finalizers ?? []), groupBoundFinalizer],
          resourceVersion: group.metadata.resourceVersion,
        },
        spec: { volumeGroupSnapshotClassName: groupClass.metadata.name },
      },
    );
    return; // the update comes back through the informer
  }

  const sources = volumes.map((v) => ({
    volumeHandle: v?.spec?.csi?.volumeHandle ?? '',
    attributes: v?.spec?.csi?.volumeAttributes ?? {},
  }));
  let taken: CreatedSnapshot[];
  try {
    taken = await backend.createGroupSnapshot(contentName, sources);
  } catch (error) {
    await setGroupError(deps, group, error instanceof Error ? error.message : String(error));
    throw error;
  }
  const creationTime = new Date(Math.min(...taken.map((t) => t.creationTime.getTime())));
  const infos = taken.map((t, i) => ({
    volumeHandle: sources[i]?.volumeHandle ?? '',
    snapshotHandle: t.snapshotHandle,
    creationTime: t.creationTime.getTime() * 1e6,
    readyToUse: true,
    restoreSize: t.sizeBytes,
  }));
  await ignoreExists(() =>
    deps.client.create(kinds.volumeGroupSnapshotContent, {
      metadata: { name: contentName, finalizers: [] },
      spec: {
        volumeGroupSnapshotRef: {
          apiVersion: 'groupsnapshot.storage.k8s.io/v1beta2',
          kind: 'VolumeGroupSnapshot',
          namespace,
          name,
          uid: group.metadata.uid ?? '',
        },
        deletionPolicy: groupClass.deletionPolicy,
        driver: groupClass.driver,
        volumeGroupSnapshotClassName: groupClass.metadata.name ?? '',
        source: { volumeHandles: sources.map((s) => s.volumeHandle) },
      },
    } satisfies VolumeGroupSnapshotContent as never),
  );
  await deps.client.mergePatch(
    kinds.volumeGroupSnapshotContent,
    { name: contentName },
    {
      status: {
        volumeGroupSnapshotHandle: contentName,
        creationTime: creationTime.toISOString(),
        readyToUse: true,
        volumeSnapshotInfoList: infos,
      },
    },
    'status',
  );
  for (const [i, info] of infos.entries()) {
    const claim = claims[i]?.metadata?.name ?? '';
    const memberName = memberObjectName('snapshot', group, info.volumeHandle);
    const memberContent = memberObjectName('snapcontent', group, info.volumeHandle);
    await ignoreExists(() =>
      deps.client.create(kinds.volumeSnapshotContent, {
        metadata: {
          name: memberContent,
          annotations: { 'groupsnapshot.storage.kubernetes.io/group-handle': contentName },
        },
        spec: {
          volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace, name: memberName },
          deletionPolicy: groupClass.deletionPolicy,
          driver: groupClass.driver,
          source: { volumeHandle: info.volumeHandle },
          sourceVolumeMode: volumes[i]?.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem',
        },
      } satisfies VolumeSnapshotContent as never),
    );
    await ignoreExists(() =>
      deps.client.create(kinds.volumeSnapshot, {
        metadata: {
          name: memberName,
          namespace,
          finalizers: [inGroupFinalizer],
          ownerReferences: [
            {
              apiVersion: 'groupsnapshot.storage.k8s.io/v1beta2',
              kind: 'VolumeGroupSnapshot',
              name,
              uid: group.metadata.uid ?? '',
            },
          ],
        },
        spec: { source: { persistentVolumeClaimName: claim } },
      } satisfies VolumeSnapshot as never),
    );
    await deps.client.mergePatch(
      kinds.volumeSnapshotContent,
      { name: memberContent },
      {
        status: {
          snapshotHandle: info.snapshotHandle,
          creationTime: info.creationTime,
          readyToUse: true,
          restoreSize: info.restoreSize,
          volumeGroupSnapshotHandle: contentName,
        },
      },
      'status',
    );
    await deps.client.mergePatch(
      kinds.volumeSnapshot,
      { namespace, name: memberName },
      {
        status: {
          boundVolumeSnapshotContentName: memberContent,
          creationTime: new Date(info.creationTime / 1e6).toISOString(),
          readyToUse: true,
          restoreSize: String(info.restoreSize),
          volumeGroupSnapshotName: name,
        },
      },
      'status',
    );
  }
  await deps.client.mergePatch(
    kinds.volumeGroupSnapshot,
    { namespace, name },
    {
      status: {
        boundVolumeGroupSnapshotContentName: contentName,
        creationTime: creationTime.toISOString(),
        readyToUse: true,
        error: null,
      },
    },
    'status',
  );
  deps.log(`group snapshot ${key} ready (${contentName}: ${claims.map((c) => c.metadata?.name).join(', ')})`);
  return undefined;
}

/** The members, their contents and the backend's copies (deletionPolicy Delete), the group content, the finalizer. */
async function deleteGroup(deps: GroupSnapshotterDeps, group: VolumeGroupSnapshot, contentName: string) {
  const namespace = group.metadata.namespace ?? '';
  const content = deps.groupContents.get(contentName);
  const backend = content === undefined ? undefined : deps.backends.get(content.spec.driver);
  for (const info of content?.status?.volumeSnapshotInfoList ?? []) {
    const memberName = memberObjectName('snapshot', group, info.volumeHandle);
    const member = deps.snapshots.get(`${namespace}/${memberName}`);
    if (member !== undefined)
      await ignoreMissing(() =>
        deps.client.mergePatch(
          kinds.volumeSnapshot,
          { namespace, name: memberName },
          { metadata: { finalizers: (member.metadata.finalizers ?? []).filter((f) => f !== inGroupFinalizer) } },
        ),
      );
    await ignoreMissing(() => deps.client.delete(kinds.volumeSnapshot, { namespace, name: memberName }));
    if (content?.spec.deletionPolicy === 'Delete' && backend !== undefined)
      await backend.deleteSnapshot({ snapshotHandle: info.snapshotHandle, sourceVolumeHandle: info.volumeHandle });
    await ignoreMissing(() =>
      deps.client.delete(kinds.volumeSnapshotContent, {
        name: memberObjectName('snapcontent', group, info.volumeHandle),
      }),
    );
  }
  await ignoreMissing(() => deps.client.delete(kinds.volumeGroupSnapshotContent, { name: contentName }));
  await ignoreMissing(() =>
    deps.client.mergePatch(
      kinds.volumeGroupSnapshot,
      { namespace, name: group.metadata.name ?? '' },
      { metadata: { finalizers: (group.metadata.finalizers ?? []).filter((f) => f !== groupBoundFinalizer) } },
    ),
  );
  deps.log(`deleted group snapshot ${namespace}/${group.metadata.name ?? ''}`);
}

/** As snapshot-controller names a group's member objects: by the group's uid and the volume. */
function memberObjectName(prefix: 'snapshot' | 'snapcontent', group: VolumeGroupSnapshot, volumeHandle: string) {
  return `${prefix}-${createHash('sha256')
    .update((group.metadata.uid ?? '') + volumeHandle)
    .digest('hex')}`;
}

function defaultClass(deps: GroupSnapshotterDeps): string | undefined {
  return deps.groupClasses.list().find((c) => c.metadata.annotations?.[defaultGroupSnapshotClassAnnotation] === 'true')
    ?.metadata.name;
}

async function setGroupError(
  deps: GroupSnapshotterDeps,
  group: VolumeGroupSnapshot,
  message: string,
): Promise<Requeue | undefined> {
  if (group.status?.error?.message !== message)
    await deps.client.mergePatch(
      kinds.volumeGroupSnapshot,
      { namespace: group.metadata.namespace ?? '', name: group.metadata.name ?? '' },
      { status: { readyToUse: false, error: { message, time: new Date().toISOString() } } },
      'status',
    );
  return { requeueAfterMs: 5000 };
}

async function ignoreExists(create: () => Promise<unknown>): Promise<void> {
  await create().catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
}

async function ignoreMissing(call: () => Promise<unknown>): Promise<void> {
  await call().catch((error: unknown) => {
    if (!isNotFound(error)) throw error;
  });
}
