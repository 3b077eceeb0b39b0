// Volumes as RBD images of the test cluster, the way ceph-csi's RBD driver
// names and keeps them: image <pool>/csi-vol-<uuid> (features: layering),
// volumeHandle 0001-0009-test-ceph-<pool id>-<uuid>; a VolumeSnapshot is an RBD
// snapshot on the volume's own image, csi-snap-<uuid of the snapshot handle>;
// a claim from a snapshot is an RBD clone (format 2) of it. Filesystem volumes
// carry an ext4 made at creation. A group snapshot quiesces its volumes' file
// systems and snapshots each image between freeze and thaw. The bytes are reached through rbd-fuse
// (rbd-image-files.ts) and shown to Pods by rbd-attachments.ts.
import { join } from 'node:path';
import { CommandError, run } from '../command.ts';
import {
  fstypeParameter,
  type CreatedSnapshot,
  type CreatedVolume,
  type CreateVolumeRequest,
  type Published,
  type SnapshotRef,
  type VolumeBackend,
  type VolumeMode,
  type VolumeRef,
} from './backend.ts';
import { type CephStorage, isMissing, poolId, rbd } from './ceph-storage.ts';
import { composeCsiId, csiUuid, uuidFor } from './csi-ids.ts';
import { loopDevices } from './fuse-mounts.ts';
import { RbdAttachments } from './rbd-attachments.ts';
import { growExtFilesystem, hasExtFilesystem, RbdImageFiles } from './rbd-image-files.ts';

interface ImageInfo {
  size: number;
}

interface SnapshotInfo {
  name: string;
  size: number;
  timestamp: string;
}

export class RbdBackend implements VolumeBackend {
  readonly driver: string;
  readonly files: RbdImageFiles;
  readonly #storage: CephStorage;
  readonly #confPath: string;
  readonly #attachments: RbdAttachments;
  #poolId: Promise<number> | undefined;

  constructor(storage: CephStorage, confPath: string) {
    this.driver = storage.rbd.driver;
    this.#storage = storage;
    this.#confPath = confPath;
    this.files = new RbdImageFiles(storage.rbd.fuseDir, confPath, storage.rbd.pool);
    this.#attachments = new RbdAttachments(storage.rbd.mountDir);
  }

  async createVolume(request: CreateVolumeRequest): Promise<CreatedVolume> {
    const { pool } = this.#storage.rbd;
    if ((request.parameters.pool ?? pool) !== pool)
      throw new Error(
        `${this.driver}: volume ${request.name}: only pool "${pool}" is served, not "${request.parameters.pool}"`,
      );
    const uuid = uuidFor(request.name);
    const image = `csi-vol-${uuid}`;
    const features = request.parameters.imageFeatures ?? 'layering';
    const source = request.fromSnapshot === undefined ? undefined : snapshotLocation(request.fromSnapshot);
    let info = await this.#info(image);
    if (info === undefined) {
      if (source === undefined) {
        await this.#rbd(['create', '--size', `${request.sizeBytes}B`, '--image-feature', features, `${pool}/${image}`]);
      } else {
        // Format 2: the snapshot needs no protection, and may be deleted while the clone lives.
        await this.#rbd([
          'clone',
          '--rbd-default-clone-format',
          '2',
          `${pool}/${source.image}@${source.snapshot}`,
          `${pool}/${image}`,
        ]);
      }
      info = await this.#info(image);
      if (info === undefined)
        throw new Error(`${this.driver}: image ${pool}/${image} vanished right after its creation`);
    }
    if (info.size < request.sizeBytes)
      await this.#rbd(['resize', '--size', `${request.sizeBytes}B`, `${pool}/${image}`]);
    const file = await this.files.ensure(image);
    const fstype = request.parameters[fstypeParameter] ?? 'ext4';
    if (request.mode === 'Filesystem' && source !== undefined && hasExtFilesystem(file)) await growExtFilesystem(file);
    if (request.mode === 'Filesystem' && source === undefined && !hasExtFilesystem(file)) {
      if (fstype !== 'ext4') throw new Error(`${this.driver}: volume ${request.name}: fstype ${fstype} is not offered`);
      // Lazy init and no discard: mkfs writes a few MiB through rbd-fuse instead of the whole image.
      await run('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', file]);
    }
    return {
      volumeHandle: await this.#csiId(uuid),
      volumeAttributes: {
        clusterID: this.#storage.clusterID,
        pool,
        imageName: image,
        imageFeatures: features,
        ...(request.mode === 'Filesystem' ? { [fstypeParameter]: fstype } : {}),
      },
    };
  }

  async deleteVolume(volume: VolumeRef): Promise<void> {
    const image = imageOf(volume);
    const spec = `${this.#storage.rbd.pool}/${image}`;
    // As ceph-csi refuses to delete an image with watchers: published volumes stay (retried later).
    // A device left only to detach itself is a released one pinned by some Pod's mount namespace.
    const file = this.files.path(image);
    const busy = (await loopDevices()).find((loop) => loop.file === file && !loop.autoclear);
    if (busy !== undefined)
      throw new Error(`${this.driver}: image ${spec} is in use (${busy.name}); not deleting it yet`);
    await this.files.stop(image); // closes the image in rbd-fuse: `rbd rm` refuses images with watchers
    try {
      // Snapshots with clones go to the image's snapshot trash and leave with their last clone.
      await this.#rbd(['snap', 'purge', spec]);
      await this.#rbd(['rm', spec]);
    } catch (error) {
      if (isMissing(error)) {
        // gone already
      } else if (error instanceof CommandError && /linked clones/.test(error.stderr)) {
        // A parent whose snapshots still have clones: to the trash, purged once they are gone.
        await this.#rbd(['trash', 'mv', spec]);
      } else {
        throw error;
      }
    }
    await this.#purgeTrash();
  }

  async createSnapshot(name: string, source: VolumeRef): Promise<CreatedSnapshot> {
    // Writes that completed before this call reach the image first: sync flushes a
    // mounted ext4 through its loop device into rbd-fuse, which writes through to the
    // OSDs (rbd cache = false). That is crash consistency, as CSI snapshots give: the
    // ext4 may need its journal replayed (rbd-attachments.ts does, read-only too).
    return this.#snapshotImage(uuidFor(name), source, () => run('sync', []));
  }

  /**
   * The volumes at one moment, as `rbd group snap create` takes them: every writer is
   * quiesced first (rbd-nbd's quiesce hook freezes the file system on the device; here
   * fsfreeze of each mounted ext4, which flushes it and holds new writes), then every
   * image is snapshotted, then the writers go on. A write that completed before a later
   * one started is in the group whenever the later one is.
   */
  async createGroupSnapshot(name: string, sources: VolumeRef[]): Promise<CreatedSnapshot[]> {
    const mounts: string[] = [];
    for (const source of sources) {
      const mount = join(this.#storage.rbd.mountDir, imageOf(source));
      if (await isMountPoint(mount)) mounts.push(mount);
    }
    const frozen: string[] = [];
    try {
      for (const mount of mounts) {
        await run('fsfreeze', ['--freeze', mount]);
        frozen.push(mount);
      }
      const taken: CreatedSnapshot[] = [];
      for (const source of sources)
        taken.push(await this.#snapshotImage(uuidFor(`${name}/${source.volumeHandle}`), source, async () => {}));
      return taken;
    } finally {
      for (const mount of frozen) await run('fsfreeze', ['--unfreeze', mount]);
    }
  }

  async #snapshotImage(uuid: string, source: VolumeRef, flush: () => Promise<unknown>): Promise<CreatedSnapshot> {
    const image = imageOf(source);
    const snapshot = `csi-snap-${uuid}`;
    let found = (await this.#snapshots(image)).find((s) => s.name === snapshot);
    if (found === undefined) {
      await flush();
      await this.#rbd(['snap', 'create', `${this.#storage.rbd.pool}/${image}@${snapshot}`]);
      found = (await this.#snapshots(image)).find((s) => s.name === snapshot);
      if (found === undefined)
        throw new Error(`${this.driver}: snapshot ${image}@${snapshot} vanished right after its creation`);
    }
    const taken = new Date(found.timestamp);
    return {
      snapshotHandle: await this.#csiId(uuid),
      sizeBytes: found.size,
      creationTime: Number.isNaN(taken.getTime()) ? new Date() : taken,
    };
  }

  async deleteSnapshot(snapshot: SnapshotRef): Promise<void> {
    const { image, snapshot: name } = snapshotLocation(snapshot);
    try {
      await this.#rbd(['snap', 'rm', `${this.#storage.rbd.pool}/${image}@${name}`]);
    } catch (error) {
      if (!isMissing(error)) throw error; // gone already, or with its image
    }
  }

  async publish(volume: VolumeRef, mode: VolumeMode, readOnly: boolean): Promise<Published> {
    const image = imageOf(volume);
    const file = await this.files.ensure(image);
    return this.#attachments.acquire(image, file, mode, readOnly);
  }

  async #info(image: string): Promise<ImageInfo | undefined> {
    try {
      return JSON.parse(
        await this.#rbd(['info', '--format', 'json', `${this.#storage.rbd.pool}/${image}`]),
      ) as ImageInfo;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async #snapshots(image: string): Promise<SnapshotInfo[]> {
    try {
      return JSON.parse(
        await this.#rbd(['snap', 'ls', '--format', 'json', `${this.#storage.rbd.pool}/${image}`]),
      ) as SnapshotInfo[];
    } catch (error) {
      if (isMissing(error))
        throw new Error(`${this.driver}: image ${this.#storage.rbd.pool}/${image} does not exist`, { cause: error });
      throw error;
    }
  }

  /** Best effort: images left in the trash by deleteVolume go once their clones have gone. */
  async #purgeTrash(): Promise<void> {
    await this.#rbd(['trash', 'purge', this.#storage.rbd.pool]).catch(() => undefined);
  }

  #csiId(uuid: string): Promise<string> {
    this.#poolId ??= poolId(this.#confPath, this.#storage.rbd.pool).catch((error: unknown) => {
      this.#poolId = undefined;
      throw error;
    });
    return this.#poolId.then((locationId) => composeCsiId({ clusterID: this.#storage.clusterID, locationId, uuid }));
  }

  #rbd(args: string[]): Promise<string> {
    return rbd(this.#confPath, args);
  }
}

/** The image of a volume: from its attributes as ceph-csi keeps them, else from its handle's uuid. */
export function imageOf(volume: VolumeRef): string {
  return volume.attributes.imageName ?? `csi-vol-${csiUuid(volume.volumeHandle, 'RBD volume handle')}`;
}

/** Where a VolumeSnapshotContent's snapshot is: csi-snap-<handle uuid> on the source volume's image. */
export function snapshotLocation(snapshot: SnapshotRef): { image: string; snapshot: string } {
  return {
    image: `csi-vol-${csiUuid(snapshot.sourceVolumeHandle, 'RBD volume handle')}`,
    snapshot: `csi-snap-${csiUuid(snapshot.snapshotHandle, 'RBD snapshot handle')}`,
  };
}

async function isMountPoint(path: string): Promise<boolean> {
  return run('mountpoint', ['-q', path]).then(
    () => true,
    () => false,
  );
}
