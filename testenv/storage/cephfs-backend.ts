// Volumes as folders of the test CephFS at ceph-csi's subvolume paths,
// /volumes/csi/csi-vol-<uuid>/<uuid2>, reached through the environment's one
// ceph-fuse mount of the whole file system. A VolumeSnapshot is a CephFS
// snapshot of that folder (.snap/csi-snap-<uuid>); a claim from a snapshot is a
// copy of the snapshot's tree, as ceph-csi's subvolume clone copies. Static PVs
// (volumeAttributes staticVolume "true", rootPath) publish that folder of the
// file system. Block mode does not exist for CephFS and is refused.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, statSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { run } from '../command.ts';
import type {
  CreatedSnapshot,
  CreatedVolume,
  CreateVolumeRequest,
  Published,
  SnapshotRef,
  VolumeBackend,
  VolumeMode,
  VolumeRef,
} from './backend.ts';
import { type CephStorage, fileSystemId } from './ceph-storage.ts';
import { composeCsiId, csiUuid, uuidFor } from './csi-ids.ts';
import { isMountPoint } from './fuse-mounts.ts';

export class CephfsBackend implements VolumeBackend {
  readonly driver: string;
  readonly #storage: CephStorage;
  readonly #confPath: string;
  #fsId: Promise<number> | undefined;

  constructor(storage: CephStorage, confPath: string) {
    this.driver = storage.cephfs.driver;
    this.#storage = storage;
    this.#confPath = confPath;
  }

  async createVolume(request: CreateVolumeRequest): Promise<CreatedVolume> {
    if (request.mode === 'Block')
      throw new Error(
        `${this.driver}: volume ${request.name}: CephFS volumes are file systems, Block mode is not offered`,
      );
    const root = this.#root();
    const uuid = uuidFor(request.name);
    const subvolumeName = `csi-vol-${uuid}`;
    const subvolumePath = `/volumes/csi/${subvolumeName}/${uuidFor(`${request.name}/data`)}`;
    const data = join(root, subvolumePath);
    if (!existsSync(data)) {
      const partial = `${data}.partial`;
      await rm(partial, { recursive: true, force: true });
      mkdirSync(join(data, '..'), { recursive: true });
      if (request.fromSnapshot === undefined) {
        mkdirSync(partial, { mode: 0o777 });
        chmodSync(partial, 0o777); // as the dir backend: any Pod user may write
      } else {
        const source = join(
          this.#dataDir(request.fromSnapshot.sourceVolumeHandle),
          '.snap',
          snapshotName(request.fromSnapshot),
        );
        if (!existsSync(source))
          throw new Error(`${this.driver}: snapshot ${request.fromSnapshot.snapshotHandle} does not exist (${source})`);
        await run('cp', ['-a', '-T', source, partial], { timeoutMs: 30 * 60_000 });
      }
      renameSync(partial, data);
    }
    return {
      volumeHandle: await this.#csiId(uuid),
      volumeAttributes: {
        clusterID: this.#storage.clusterID,
        fsName: this.#storage.cephfs.fsName,
        subvolumeName,
        subvolumePath,
      },
    };
  }

  async deleteVolume(volume: VolumeRef): Promise<void> {
    if (isStatic(volume)) return; // an admin's folder: never ours to remove
    const subvolume = this.#subvolumeDir(volume.volumeHandle);
    if (!existsSync(subvolume)) return;
    // A folder with snapshots cannot be removed; its own are listed by name, inherited ones as _name_inode.
    for (const data of readdirSync(subvolume)) {
      const snapDir = join(subvolume, data, '.snap');
      if (!existsSync(snapDir)) continue;
      for (const snapshot of readdirSync(snapDir).filter((name) => !name.startsWith('_')))
        rmdirSync(join(snapDir, snapshot));
    }
    await rm(subvolume, { recursive: true, force: true });
  }

  async createSnapshot(name: string, source: VolumeRef): Promise<CreatedSnapshot> {
    if (isStatic(source))
      throw new Error(
        `${this.driver}: volume ${source.volumeHandle} is a static volume; static volumes have no driver snapshots`,
      );
    const uuid = uuidFor(name);
    const path = join(this.#dataDir(source.volumeHandle, source.attributes), '.snap', `csi-snap-${uuid}`);
    // No sync first: CephFS has its clients flush what they buffered into the snapshot.
    if (!existsSync(path)) mkdirSync(path);
    return {
      snapshotHandle: await this.#csiId(uuid),
      sizeBytes: statSync(path).size, // ceph-fuse shows a folder's size as the bytes under it (rbytes)
      creationTime: new Date(), // asked again only until the snapshot is ready, seconds later at most
    };
  }

  async deleteSnapshot(snapshot: SnapshotRef): Promise<void> {
    const subvolume = this.#subvolumeDir(snapshot.sourceVolumeHandle);
    if (!existsSync(subvolume)) return; // went with its volume
    const path = join(this.#dataDir(snapshot.sourceVolumeHandle), '.snap', snapshotName(snapshot));
    if (existsSync(path)) await rmdir(path);
  }

  /** A folder, read-only or not: the node agent binds it into the Pod read-only when asked. */
  async publish(volume: VolumeRef, mode: VolumeMode): Promise<Published> {
    if (mode === 'Block')
      throw new Error(`${this.driver}: volume ${volume.volumeHandle}: CephFS cannot be published as a block device`);
    const root = this.#root();
    let path: string;
    if (isStatic(volume)) {
      const rootPath = volume.attributes.rootPath;
      path = join(root, rootPath ?? '');
      if (rootPath === undefined || relative(root, path).startsWith('..'))
        throw new Error(
          `${this.driver}: static volume ${volume.volumeHandle}: rootPath "${rootPath ?? ''}" is missing or leaves the file system`,
        );
      await mkdir(path, { recursive: true });
    } else {
      path = this.#dataDir(volume.volumeHandle, volume.attributes);
    }
    return { kind: 'directory', path, release: () => Promise.resolve() };
  }

  /** The mounted file system's root; an Error naming the mount point if ceph-fuse is not there. */
  #root(): string {
    const { mountDir, fsName } = this.#storage.cephfs;
    if (!isMountPoint(mountDir, 'fuse.ceph-fuse'))
      throw new Error(
        `${this.driver}: CephFS ${fsName} is not mounted at ${mountDir} (the environment mounts it with ceph-fuse)`,
      );
    return mountDir;
  }

  #subvolumeDir(volumeHandle: string): string {
    return join(this.#root(), 'volumes', 'csi', `csi-vol-${csiUuid(volumeHandle, 'CephFS volume handle')}`);
  }

  /** The volume's data folder: subvolumePath when the PV has it, else the one folder in its subvolume. */
  #dataDir(volumeHandle: string, attributes: Record<string, string> = {}): string {
    if (attributes.subvolumePath !== undefined) return join(this.#root(), attributes.subvolumePath);
    const subvolume = this.#subvolumeDir(volumeHandle);
    const data = existsSync(subvolume) ? readdirSync(subvolume).find((name) => !name.endsWith('.partial')) : undefined;
    if (data === undefined) throw new Error(`${this.driver}: volume ${volumeHandle} does not exist (${subvolume})`);
    return join(subvolume, data);
  }

  #csiId(uuid: string): Promise<string> {
    this.#fsId ??= fileSystemId(this.#confPath, this.#storage.cephfs.fsName).catch((error: unknown) => {
      this.#fsId = undefined;
      throw error;
    });
    return this.#fsId.then((locationId) => composeCsiId({ clusterID: this.#storage.clusterID, locationId, uuid }));
  }
}

function isStatic(volume: VolumeRef): boolean {
  return volume.attributes.staticVolume === 'true';
}

function snapshotName(snapshot: SnapshotRef): string {
  return `csi-snap-${csiUuid(snapshot.snapshotHandle, 'CephFS snapshot handle')}`;
}
