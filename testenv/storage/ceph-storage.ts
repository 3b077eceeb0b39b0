// The test environment's Ceph-backed storage, shaped like ceph-csi's: names of
// drivers and classes, where the FUSE mounts live under the env directory, the
// API objects (CSIDriver, StorageClass, VolumeSnapshotClass), and the CLI calls
// both backends share. The dir backend stays the default class.
import { join } from 'node:path';
import { cephfsCsiDriver, rbdCsiDriver } from '../../src/api/index.ts';
import { ignoreAlreadyExists, kinds, type KubeClient, type KubeObject } from '../../src/kube/index.ts';
import { CommandError, run } from '../command.ts';
import { fstypeParameter } from './backend.ts';
import { cephLayout } from '../ceph/ceph-conf.ts';
import { ceph, cephEnv } from '../ceph/ceph-status.ts';
import { startFuse, unmountAllUnder } from './fuse-mounts.ts';

export interface CephStorage {
  /** The clusterID of StorageClass parameters and volume handles. */
  clusterID: string;
  rbd: {
    driver: string;
    storageClass: string;
    snapshotClass: string;
    groupSnapshotClass: string;
    pool: string;
    /** One rbd-fuse mount per image: the image's bytes are the file <fuseDir>/<image>/<image>. */
    fuseDir: string;
    /** Where the node agent mounts a Filesystem volume's ext4: <mountDir>/<image>. */
    mountDir: string;
  };
  cephfs: {
    driver: string;
    storageClass: string;
    snapshotClass: string;
    fsName: string;
    /** The whole file system, mounted by ceph-fuse: a volume is <mountDir><subvolumePath or rootPath>. */
    mountDir: string;
  };
}

/** The pool and file system are the ones testenv/ceph/cluster.ts makes. */
export function cephStorage(envDir: string): CephStorage {
  const root = join(envDir, 'storage');
  return {
    clusterID: 'test-ceph',
    rbd: {
      driver: rbdCsiDriver,
      storageClass: 'safehold-test-rbd',
      snapshotClass: 'safehold-test-rbd',
      groupSnapshotClass: 'safehold-test-rbd-group',
      pool: 'rbd',
      fuseDir: join(root, 'rbd', 'images'),
      mountDir: join(root, 'rbd', 'mounts'),
    },
    cephfs: {
      driver: cephfsCsiDriver,
      storageClass: 'safehold-test-cephfs',
      snapshotClass: 'safehold-test-cephfs',
      fsName: 'cephfs',
      mountDir: join(root, 'cephfs', 'root'),
    },
  };
}

export function cephConfPath(envDir: string): string {
  return cephLayout(join(envDir, 'ceph')).confPath;
}

/** The long-lived ceph-fuse mount of the whole file system; its pid file sits beside the mount point. */
export async function mountCephfs(storage: CephStorage, confPath: string): Promise<void> {
  const { mountDir } = storage.cephfs;
  await startFuse({
    dir: join(mountDir, '..'),
    name: 'ceph-fuse',
    command: 'ceph-fuse',
    args: ['-f', '-c', confPath, '--client_fs', storage.cephfs.fsName, mountDir],
    mountPoint: mountDir,
    env: cephEnv(confPath),
  });
}

/** Every mount the Ceph backends made under the env directory, and their FUSE daemons. */
export async function unmountCephStorage(envDir: string): Promise<void> {
  const storage = cephStorage(envDir);
  await unmountAllUnder(join(envDir, 'storage'), [storage.rbd.fuseDir, join(storage.cephfs.mountDir, '..')]);
}

/** The CSIDrivers, StorageClasses and VolumeSnapshotClasses, none of them the default. */
export async function installCephStorageObjects(client: KubeClient, storage: CephStorage): Promise<void> {
  const { clusterID, rbd, cephfs } = storage;
  for (const driver of [rbd.driver, cephfs.driver]) {
    await ignoreAlreadyExists(() =>
      client.create(kinds.csiDriver, {
        metadata: { name: driver },
        // ceph-csi's RBD driver wants attaching; nothing here plays external-attacher, so none is asked for.
        spec: { attachRequired: false, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] },
      } as KubeObject),
    );
  }
  const classes: [string, string, Record<string, string>][] = [
    [rbd.storageClass, rbd.driver, { clusterID, pool: rbd.pool, imageFeatures: 'layering', [fstypeParameter]: 'ext4' }],
    [cephfs.storageClass, cephfs.driver, { clusterID, fsName: cephfs.fsName }],
  ];
  for (const [name, provisioner, parameters] of classes) {
    await ignoreAlreadyExists(() =>
      client.create(kinds.storageClass, {
        metadata: { name },
        provisioner,
        parameters,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
      } as KubeObject),
    );
  }
  const snapshotClasses: [string, string, Record<string, string>][] = [
    [rbd.snapshotClass, rbd.driver, { clusterID, pool: rbd.pool }],
    [cephfs.snapshotClass, cephfs.driver, { clusterID, fsName: cephfs.fsName }],
  ];
  for (const [name, driver, parameters] of snapshotClasses) {
    await ignoreAlreadyExists(() =>
      client.create(kinds.volumeSnapshotClass, {
        metadata: { name },
        driver,
        deletionPolicy: 'Delete',
        parameters,
      } as KubeObject),
    );
  }
  // Only RBD offers group snapshots here (rbd-backend.ts createGroupSnapshot), as ceph-csi's RBD driver does.
  await ignoreAlreadyExists(() =>
    client.create(kinds.volumeGroupSnapshotClass, {
      metadata: { name: rbd.groupSnapshotClass },
      driver: rbd.driver,
      deletionPolicy: 'Delete',
      parameters: { clusterID, pool: rbd.pool },
    } as KubeObject),
  );
}

/** The rbd CLI against the test cluster; `rbd` exits 2 for ENOENT (see isMissing). */
export async function rbd(confPath: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('rbd', ['-c', confPath, ...args], {
    env: cephEnv(confPath),
    timeoutMs,
  });
  return stdout;
}

/** True for the CLI's "no such image / snapshot" failure (ENOENT as the exit code). */
export function isMissing(error: unknown): boolean {
  return error instanceof CommandError && error.exitCode === 2;
}

export async function poolId(confPath: string, pool: string): Promise<number> {
  const pools = JSON.parse(await ceph(confPath, ['osd', 'pool', 'ls', 'detail', '--format', 'json'])) as {
    pool_name: string;
    pool_id: number;
  }[];
  const found = pools.find((p) => p.pool_name === pool);
  if (found === undefined) throw new Error(`Ceph pool ${pool} does not exist`);
  return found.pool_id;
}

export async function fileSystemId(confPath: string, fsName: string): Promise<number> {
  const fs = JSON.parse(await ceph(confPath, ['fs', 'get', fsName, '--format', 'json'])) as { id: number };
  return fs.id;
}
