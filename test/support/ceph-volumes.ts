// Ceph volumes' bytes as tests reach them from outside the cluster, while no
// Pod uses the volume: an RBD volume's image as a file (the storage driver's
// rbd-fuse mount of it), a Filesystem RBD volume's ext4 mounted for a moment,
// a CephFS volume's folder in the environment's ceph-fuse mount; and the PV
// of a claim, and the images left in the pool.
import type { CSIPersistentVolumeSource, PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { join } from 'node:path';
import { kinds, type KubeClient } from '../../src/kube/index.ts';
import { rbd } from '../../testenv/storage/ceph-storage.ts';
import { loopDevices } from '../../testenv/storage/fuse-mounts.ts';
import { RbdAttachments } from '../../testenv/storage/rbd-attachments.ts';
import { imageOf } from '../../testenv/storage/rbd-backend.ts';
import { RbdImageFiles } from '../../testenv/storage/rbd-image-files.ts';
import { testEnv, waitFor } from './cluster.ts';

/** Waits for the claim to bind and returns its PV. */
export async function persistentVolumeOf(
  client: KubeClient,
  namespace: string,
  claim: string,
): Promise<PersistentVolume> {
  let volumeName = '';
  await waitFor(`PVC ${namespace}/${claim} bound`, async () => {
    const current = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace, name: claim });
    volumeName = current.spec?.volumeName ?? '';
    return current.status?.phase === 'Bound';
  });
  return client.get<PersistentVolume>(kinds.persistentVolume, { name: volumeName });
}

/** The RBD image of a PV of rbd.csi.ceph.com (volumeAttributes.imageName). */
export function rbdImageName(pv: PersistentVolume): string {
  const csi = pv.spec?.csi;
  if (csi?.driver !== testEnv().cephStorage.rbd.driver)
    throw new Error(`PV ${pv.metadata?.name ?? ''} is not an RBD volume (driver ${csi?.driver ?? 'none'})`);
  return imageOf({ volumeHandle: csi.volumeHandle, attributes: csi.volumeAttributes ?? {} });
}

/** The file holding the image's bytes: read and write it at any offset (a Block volume's device contents). */
export function rbdImageFile(pv: PersistentVolume): string {
  return imageFiles().path(rbdImageName(pv));
}

/**
 * Waits until no Pod's publication holds the RBD volume. A run that just finished may not
 * have been unpublished yet: its node plugin unmounts the ext4 and detaches the loop device
 * after the Pod ends. Taking that device meanwhile would read a device being detached (EIO),
 * and a Block volume's last writes reach the image file when its device is closed.
 */
export async function rbdImageReleased(pv: PersistentVolume): Promise<void> {
  const image = rbdImageName(pv);
  const file = imageFiles().path(image);
  await waitFor(`RBD image ${image} released by the Pods that used it`, async () =>
    (await loopDevices()).every((loop) => loop.file !== file || loop.autoclear),
  );
}

/**
 * Runs fn with the Filesystem RBD volume's ext4 mounted, read-only if asked
 * (its journal is replayed either way), and unmounts it afterwards.
 */
export async function withRbdFilesystem<T>(
  pv: PersistentVolume,
  fn: (dir: string) => Promise<T> | T,
  { readOnly = false }: { readOnly?: boolean } = {},
): Promise<T> {
  const image = rbdImageName(pv);
  const file = await imageFiles().ensure(image);
  await rbdImageReleased(pv);
  const attachments = new RbdAttachments(join(testEnv().dir, 'storage', 'rbd', 'test-mounts'));
  const published = await attachments.acquire(image, file, 'Filesystem', readOnly);
  try {
    return await fn(published.path);
  } finally {
    await published.release();
  }
}

/** The folder of a PV of cephfs.csi.ceph.com: a provisioned subvolume, or a static PV's rootPath. */
export function cephfsFolder(pv: PersistentVolume): string {
  const csi = pv.spec?.csi;
  const { cephfs } = testEnv().cephStorage;
  const path = csi?.volumeAttributes?.subvolumePath ?? csi?.volumeAttributes?.rootPath;
  if (csi?.driver !== cephfs.driver || path === undefined)
    throw new Error(`PV ${pv.metadata?.name ?? ''} is not a CephFS volume with a subvolumePath or rootPath`);
  return join(cephfs.mountDir, path);
}

export async function withCephfsFolder<T>(pv: PersistentVolume, fn: (dir: string) => Promise<T> | T): Promise<T> {
  return fn(cephfsFolder(pv));
}

/** The images in the RBD pool (`rbd ls`), and those in its trash (`rbd trash ls`). */
export async function rbdPoolImages(): Promise<{ images: string[]; trash: string[] }> {
  const env = testEnv();
  const pool = env.cephStorage.rbd.pool;
  const lines = (text: string) => text.split('\n').filter((line) => line !== '');
  const images = lines(await rbd(env.ceph.confPath, ['ls', pool]));
  const trash = lines(await rbd(env.ceph.confPath, ['trash', 'ls', pool])).map((line) => line.split(' ')[1] ?? '');
  return { images, trash };
}

/** The snapshots of an image (`rbd snap ls`), by name. */
export async function rbdSnapshotNames(image: string): Promise<string[]> {
  const env = testEnv();
  const out = await rbd(env.ceph.confPath, ['snap', 'ls', '--format', 'json', `${env.cephStorage.rbd.pool}/${image}`]);
  return (JSON.parse(out) as { name: string }[]).map((s) => s.name);
}

function imageFiles(): RbdImageFiles {
  const env = testEnv();
  return new RbdImageFiles(env.cephStorage.rbd.fuseDir, env.ceph.confPath, env.cephStorage.rbd.pool);
}

/** The CSI source of a static CephFS PV an admin writes by hand: the folder at rootPath. */
export function staticCephfsSource(handle: string, rootPath: string): CSIPersistentVolumeSource {
  const { cephfs, clusterID } = testEnv().cephStorage;
  return {
    driver: cephfs.driver,
    volumeHandle: handle,
    volumeAttributes: { staticVolume: 'true', rootPath, fsName: cephfs.fsName, clusterID },
  };
}
