// The environment's Ceph storage behaves like ceph-csi's drivers, seen through
// the API: RBD and CephFS claims get PVs in ceph-csi's shape backed by real
// images and folders, Pods write to them, snapshots are real RBD and CephFS
// snapshots that restore their moment, static CephFS PVs publish their folder
// (with working .snap), and deleting claims and snapshots removes what they had.
import type { Event } from 'kubernetes-types/core/v1.js';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound, kinds, type KubeClient } from '../src/kube/index.ts';
import type { VolumeSnapshot, VolumeSnapshotContent } from '../testenv/storage/snapshot-types.ts';
import {
  cephfsFolder,
  persistentVolumeOf,
  rbdImageFile,
  rbdImageName,
  rbdPoolImages,
  rbdSnapshotNames,
  withCephfsFolder,
  withRbdFilesystem,
  staticCephfsSource,
} from './support/ceph-volumes.ts';
import {
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  runJob,
  terminated,
  testEnv,
  waitFor,
  bindStaticVolume,
} from './support/cluster.ts';

const csiId = /^0001-0009-test-ceph-[0-9a-f]{16}-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

describe('Ceph storage shaped like ceph-csi', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = clientAs('admin');
    ns = await createNamespace(client, 'ceph');
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
    client.close();
  });

  /** Runs `script` in a Pod with the claim at /data; returns its termination message. */
  async function inPod(job: string, claim: string, script: string): Promise<string> {
    const run = await runJob(
      client,
      ns,
      job,
      {
        command: ['sh', '-c', `{ ${script}\n} > /dev/termination-log`],
        volumeMounts: [{ name: 'v', mountPath: '/data' }],
      },
      [{ name: 'v', persistentVolumeClaim: { claimName: claim } }],
    );
    expect(terminated(run.pods[0])?.exitCode, `Job ${job}: ${terminated(run.pods[0])?.message ?? ''}`).toBe(0);
    // Even a finished Pod keeps its claims from being deleted (pvc-protection), so it goes now.
    await client.delete(kinds.job, { namespace: ns, name: job }, { propagationPolicy: 'Background' });
    return terminated(run.pods[0])?.message ?? '';
  }

  async function snapshot(name: string, claim: string, className: string): Promise<VolumeSnapshotContent> {
    await client.create(kinds.volumeSnapshot, {
      metadata: { name, namespace: ns },
      spec: { source: { persistentVolumeClaimName: claim }, volumeSnapshotClassName: className },
    });
    let contentName = '';
    await waitFor(`VolumeSnapshot ${ns}/${name} readyToUse`, async () => {
      const s = await client.get<VolumeSnapshot>(kinds.volumeSnapshot, { namespace: ns, name });
      contentName = s.status?.boundVolumeSnapshotContentName ?? '';
      return s.status?.readyToUse === true;
    });
    return client.get<VolumeSnapshotContent>(kinds.volumeSnapshotContent, { name: contentName });
  }

  async function deleteAndWait(kind: 'claim' | 'snapshot', name: string): Promise<void> {
    const k = kind === 'claim' ? kinds.persistentVolumeClaim : kinds.volumeSnapshot;
    await client.delete(k, { namespace: ns, name });
    await waitFor(`${kind} ${ns}/${name} gone`, () =>
      client.get(k, { namespace: ns, name }).then(
        () => false,
        (error: unknown) => isNotFound(error),
      ),
    );
  }

  it('RBD Filesystem: an ext4 image a Pod writes to, a snapshot that restores its moment, cleaned up on delete', async () => {
    const { rbd } = testEnv().cephStorage;
    await createClaim(client, ns, 'rbd-data', { storageClass: rbd.storageClass, size: '256Mi' });
    const pv = await persistentVolumeOf(client, ns, 'rbd-data');
    const uuid = csiId.exec(pv.spec?.csi?.volumeHandle ?? '')?.[1] ?? 'no uuid';
    expect(pv.spec?.csi).toMatchObject({
      driver: 'rbd.csi.ceph.com',
      fsType: 'ext4',
      volumeAttributes: {
        clusterID: 'test-ceph',
        pool: 'rbd',
        imageName: `csi-vol-${uuid}`,
        imageFeatures: 'layering',
        'csi.storage.k8s.io/fstype': 'ext4',
      },
    });
    expect(await inPod('rbd-write-1', 'rbd-data', 'printf "version 1" > /data/state.txt && cat /data/state.txt')).toBe(
      'version 1',
    );

    const content = await snapshot('rbd-before', 'rbd-data', rbd.snapshotClass);
    const snapUuid = csiId.exec(content.status?.snapshotHandle ?? '')?.[1] ?? 'no uuid';
    expect(content.spec.source.volumeHandle).toBe(pv.spec?.csi?.volumeHandle);
    expect(await rbdSnapshotNames(`csi-vol-${uuid}`)).toContain(`csi-snap-${snapUuid}`);
    await inPod('rbd-write-2', 'rbd-data', 'printf "version 2" > /data/state.txt && touch /data/later.txt');

    await createClaim(client, ns, 'rbd-restored', {
      storageClass: rbd.storageClass,
      size: '512Mi',
      fromSnapshot: 'rbd-before',
    });
    const restoredPv = await persistentVolumeOf(client, ns, 'rbd-restored');
    const seen = await inPod(
      'rbd-read',
      'rbd-restored',
      'printf "%s|%s|%s" "$(cat /data/state.txt)" "$(ls /data/later.txt 2>&1 >/dev/null | wc -l)" "$(df -k /data | awk \'NR==2 {print $2}\')"',
    );
    const [text, missing, kib] = seen.split('|');
    expect([text, missing]).toEqual(['version 1', '1']);
    expect(Number(kib)).toBeGreaterThan(400 * 1024); // the ext4 grew with the larger claim
    expect(await withRbdFilesystem(restoredPv, (dir) => readFileSync(join(dir, 'state.txt'), 'utf8'))).toBe(
      'version 1',
    );

    // The source goes first, while its snapshot has a clone: the image waits in the trash for it.
    const images = [rbdImageName(pv), rbdImageName(restoredPv)];
    await deleteAndWait('claim', 'rbd-data');
    await waitFor(
      'the source image out of the pool',
      async () => !(await rbdPoolImages()).images.includes(images[0] ?? ''),
    );
    await deleteAndWait('snapshot', 'rbd-before');
    await deleteAndWait('claim', 'rbd-restored');
    await waitFor('both images gone, trash included', async () => {
      const { images: left, trash } = await rbdPoolImages();
      return images.every((image) => !left.includes(image) && !trash.includes(image));
    });
  });

  it('RBD Block: the image is a device in a Pod, its bytes are the image file', async () => {
    const { rbd } = testEnv().cephStorage;
    await createClaim(client, ns, 'rbd-disk', { storageClass: rbd.storageClass, mode: 'Block', size: '64Mi' });
    const pv = await persistentVolumeOf(client, ns, 'rbd-disk');
    expect(pv.spec?.csi?.volumeAttributes).not.toHaveProperty(['csi.storage.k8s.io/fstype']);
    const outside = randomBytes(4096);
    const file = await open(rbdImageFile(pv), 'r+');
    await file.write(outside, 0, outside.length, 8 * 2 ** 20);
    await file.close();

    const run = await runJob(
      client,
      ns,
      'rbd-block',
      {
        command: [
          'sh',
          '-c',
          'printf safehold-rbd-block | dd of=/dev/xvda bs=1 seek=1048576 conv=notrunc,fsync 2>/dev/null && ' +
            'printf "%s|%s" "$(blockdev --getsize64 /dev/xvda)" "$(dd if=/dev/xvda bs=4096 skip=2048 count=1 2>/dev/null | sha256sum | cut -c1-64)" > /dev/termination-log',
        ],
        volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }],
      },
      [{ name: 'disk', persistentVolumeClaim: { claimName: 'rbd-disk' } }],
    );
    expect(terminated(run.pods[0])).toMatchObject({
      exitCode: 0,
      message: `${64 * 2 ** 20}|${createHash('sha256').update(outside).digest('hex')}`,
    });
    const back = Buffer.alloc(18);
    const reader = await open(rbdImageFile(pv), 'r');
    await reader.read(back, 0, back.length, 1048576);
    await reader.close();
    expect(back.toString()).toBe('safehold-rbd-block');
  });

  it('CephFS: a subvolume folder a Pod writes to, a snapshot that restores its moment, cleaned up on delete', async () => {
    const { cephfs } = testEnv().cephStorage;
    await createClaim(client, ns, 'fs-data', { storageClass: cephfs.storageClass });
    const pv = await persistentVolumeOf(client, ns, 'fs-data');
    const uuid = csiId.exec(pv.spec?.csi?.volumeHandle ?? '')?.[1] ?? 'no uuid';
    expect(pv.spec?.csi).toMatchObject({
      driver: 'cephfs.csi.ceph.com',
      volumeAttributes: { clusterID: 'test-ceph', fsName: 'cephfs', subvolumeName: `csi-vol-${uuid}` },
    });
    expect(pv.spec?.csi?.volumeAttributes?.subvolumePath).toMatch(
      new RegExp(`^/volumes/csi/csi-vol-${uuid}/[0-9a-f-]{36}$`),
    );
    await inPod('fs-write-1', 'fs-data', 'printf "version 1" > /data/state.txt');
    expect(await withCephfsFolder(pv, (dir) => readFileSync(join(dir, 'state.txt'), 'utf8'))).toBe('version 1');

    const content = await snapshot('fs-before', 'fs-data', cephfs.snapshotClass);
    const snapUuid = csiId.exec(content.status?.snapshotHandle ?? '')?.[1] ?? 'no uuid';
    expect(existsSync(join(cephfsFolder(pv), '.snap', `csi-snap-${snapUuid}`, 'state.txt'))).toBe(true);
    await inPod('fs-write-2', 'fs-data', 'printf "version 2" > /data/state.txt && touch /data/later.txt');

    await createClaim(client, ns, 'fs-restored', { storageClass: cephfs.storageClass, fromSnapshot: 'fs-before' });
    const restoredPv = await persistentVolumeOf(client, ns, 'fs-restored');
    expect(
      await inPod('fs-read', 'fs-restored', 'printf "%s|%s" "$(cat /data/state.txt)" "$(ls /data/ | tr "\\n" " ")"'),
    ).toBe('version 1|state.txt ');

    const folders = [cephfsFolder(pv), cephfsFolder(restoredPv)];
    await deleteAndWait('snapshot', 'fs-before');
    await deleteAndWait('claim', 'fs-data');
    await deleteAndWait('claim', 'fs-restored');
    await waitFor('both subvolumes gone', () => folders.every((folder) => !existsSync(join(folder, '..'))));
  });

  it('CephFS refuses Block claims, saying why on the claim', async () => {
    const { cephfs } = testEnv().cephStorage;
    await createClaim(client, ns, 'fs-block', { storageClass: cephfs.storageClass, mode: 'Block' });
    await waitFor('a ProvisioningFailed event on the claim', async () => {
      const events = await client.list<Event>(kinds.event, { namespace: ns });
      return events.items.some(
        (e) =>
          e.involvedObject.name === 'fs-block' &&
          e.reason === 'ProvisioningFailed' &&
          (e.message ?? '').includes('Block mode is not offered'),
      );
    });
  });

  it('a static CephFS PV is the folder at its rootPath, and a Pod can make and remove snapshots in it', async () => {
    const { cephfs } = testEnv().cephStorage;
    const rootPath = `/static/${ns}`;
    const pvName = `static-${ns}`;
    try {
      const pv = await bindStaticVolume(
        client,
        ns,
        { name: 'static' },
        { name: pvName, csi: staticCephfsSource(pvName, rootPath), accessModes: ['ReadWriteMany'], size: '1Gi' },
      );
      const seen = await inPod(
        'static-snap',
        'static',
        'echo hello > /data/hello && mkdir /data/.snap/x && cat /data/.snap/x/hello && rmdir /data/.snap/x && ls /data/.snap | wc -l',
      );
      expect(seen.split('\n').map((line) => line.trim())).toEqual(['hello', '0', '']);
      expect(readFileSync(join(cephfs.mountDir, rootPath, 'hello'), 'utf8')).toBe('hello\n');
      expect(cephfsFolder(pv)).toBe(join(cephfs.mountDir, rootPath));
    } finally {
      await deleteAndWait('claim', 'static').catch(() => undefined);
      await client.delete(kinds.persistentVolume, { name: pvName }).catch(() => undefined);
      rmSync(join(cephfs.mountDir, rootPath), { recursive: true, force: true });
    }
  });
});
