// Ceph volumes backed up and restored through the operator, on the real Ceph
// cluster behind ceph-csi-shaped StorageClasses: an RBD block volume with
// random data at scattered offsets (rbd diff, then an incremental chain of
// three QCOW2 images, each restored byte for byte and judged by qemu-img),
// an RBD ext4 volume and a CephFS volume restored file for file, a static
// CephFS PV backed up from a CephFS snapshot (cephfs-snapshot), and a block
// volume on storage without an allocation map (a zero scan).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolume } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeBackup, VolumeRestore } from '../src/api/index.ts';
import { generatedKeyName } from '../src/controller/run/repository-credentials.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { run } from '../testenv/command.ts';
import {
  copySparse,
  differs,
  qemuCheck,
  qemuCompare,
  resticDump,
  scatteredWrites,
  writeRandom,
  writeZeros,
} from './support/block-image.ts';
import {
  cephfsFolder,
  persistentVolumeOf,
  rbdImageFile,
  withCephfsFolder,
  withRbdFilesystem,
  staticCephfsSource,
} from './support/ceph-volumes.ts';
import {
  boundVolumePath,
  clientAs,
  createNamespace,
  deleteNamespace,
  testEnv,
  uniqueName,
  waitFor,
  bindStaticVolume,
} from './support/cluster.ts';
import {
  backUpNow,
  installWithRepository,
  runOperatorHere,
  waitForRun,
  type OperatorHere,
} from './support/safehold.ts';
import { compareTrees, mutateTree, writeRichTree } from './support/tree.ts';

const system = 'safehold-system';
const GiB = 2 ** 30;

describe('Ceph volumes', () => {
  let client: KubeClient;
  const id = uniqueName('ceph');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'ceph-backup-'));
  let operator: OperatorHere | undefined;
  let ns = '';

  const claim = async (name: string, storageClassName: string, mode: 'Filesystem' | 'Block', size = '1Gi') => {
    await client.create(kinds.persistentVolumeClaim, {
      metadata: { name, namespace: ns },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: size } },
        storageClassName,
        volumeMode: mode,
      },
    } as KubeObject);
    return persistentVolumeOf(client, ns, name);
  };
  const restore = async (name: string, spec: Record<string, unknown>): Promise<VolumeRestore> => {
    await client.create(kinds.volumeRestore, { metadata: { name, namespace: ns }, spec } as KubeObject);
    return waitForRun<VolumeRestore>(client, kinds.volumeRestore, ns, name, {
      until: (done) => done.status?.conditions?.some((c) => c.type === 'CleanedUp') === true,
    });
  };
  const repositoryUrl = () => `s3:${testEnv().ceph.s3.endpoint}/${bucket}/tenants/${ns}`;
  /** The key Safehold generated for the namespace's repository. */
  const dump = async (id: string, target: string, path = '/disk.qcow2') => {
    const key = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
      namespace: system,
      name: generatedKeyName(repoName, ns),
    });
    const password = Buffer.from(key.data?.password ?? '', 'base64').toString();
    await resticDump(repositoryUrl(), password, id, path, target);
  };

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket, repository: repoName, ceph: true });
    ns = await createNamespace(client, 'ceph');
    await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
    const selector = { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } };
    const common = {
      selector,
      repository: { name: repoName },
      schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
      // Retried as a user's policy would be (the default is 6): a passing journey proves the
      // bytes, and a run that fails every try still reports its message at once.
      retry: { limit: 2, deadline: '15m' },
    };
    await client.create(kinds.backupPolicy, {
      metadata: { name: `policy-${id}` },
      spec: { ...common, priority: 900, keepSnapshots: 3 },
    } as KubeObject);
    // Static CephFS volumes, from a CephFS snapshot of their folder.
    await client.create(kinds.backupPolicy, {
      metadata: { name: `static-${id}` },
      spec: {
        ...common,
        selector: { ...selector, pvcSelector: { matchLabels: { 'safehold.test/static': 'true' } } },
        priority: 950,
        method: 'cephfs-snapshot',
      },
    } as KubeObject);
    operator = await runOperatorHere(system, id);
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of [`policy-${id}`, `static-${id}`])
      await client.delete(kinds.backupPolicy, { name }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    if (ns !== '') await deleteNamespace(client, ns);
    rmSync(work, { recursive: true, force: true });
  });

  describe('an RBD block volume', () => {
    const size = GiB;
    const expected = [1, 2, 3].map((n) => join(work, `disk-${n}.raw`));
    const backups: VolumeBackup[] = [];
    let pv: PersistentVolume | undefined;

    it('is backed up from rbd diff: only what is written is read and stored, and qemu-img finds the image clean', async () => {
      pv = await claim('disk', testEnv().cephStorage.rbd.storageClass, 'Block');
      const device = rbdImageFile(pv);
      const written = await writeRandom(device, scatteredWrites(size, 24, 1), 1);
      await copySparse(device, expected[0] ?? '', size);
      const first = await backUpNow(client, ns, 'disk', 'disk-1');
      backups.push(first);
      const block = first.status?.block;
      expect(block?.scanBecause).toBeUndefined();
      expect(block).toMatchObject({ file: 'disk.qcow2', virtualSize: size, extentsFrom: 'rbd-diff', chainLength: 1 });
      expect(block?.parent).toBeUndefined();
      // rbd diff reports whole 4 MiB objects: what is read is what is allocated, far below the volume's size.
      expect(block?.dataBytes).toBeGreaterThanOrEqual(written);
      expect(block?.bytesRead).toBeLessThan(size / 4);
      const image = join(work, 'check-1.qcow2');
      await dump(first.status?.snapshotId ?? '', image);
      expect((await qemuCheck(image))['check-errors']).toBe(0);
      expect(await qemuCompare(expected[0] ?? '', image)).toBeUndefined();
    });

    it('is backed up incrementally against its kept snapshot, as a chain of three QCOW2 images', async () => {
      const device = rbdImageFile(pv as PersistentVolume);
      for (const n of [2, 3]) {
        await writeRandom(device, scatteredWrites(size, 4, n * 10), n);
        await writeZeros(device, scatteredWrites(size, 24, 1).slice(n, n + 2)); // some of the first data goes
        await copySparse(device, expected[n - 1] ?? '', size);
        const backup = await backUpNow(client, ns, 'disk', `disk-${n}`);
        const parent = backups.at(-1)?.status?.snapshotId;
        backups.push(backup);
        expect(backup.status?.block).toMatchObject({ extentsFrom: 'rbd-diff', parent, chainLength: n });
        expect(backup.status?.block?.fullBecause).toBeUndefined();
        // Only the changed objects are read.
        expect(backup.status?.block?.bytesRead).toBeLessThan(8 * 4 * 2 ** 20 + 1);
      }
      // The chain as files named as the overlays expect their backing files: qemu-img opens it whole.
      const chain = join(work, 'chain');
      mkdirSync(chain);
      const ids = backups.map((b) => b.status?.snapshotId ?? '');
      const names = [
        `disk-${ids[0]?.slice(0, 8) ?? ''}.qcow2`,
        `disk-${ids[1]?.slice(0, 8) ?? ''}.qcow2`,
        'disk.qcow2',
      ];
      for (const [index, name] of names.entries()) {
        await dump(ids[index] ?? '', join(chain, name));
        expect((await qemuCheck(join(chain, name)))['check-errors']).toBe(0);
      }
      expect(await qemuCompare(expected[2] ?? '', join(chain, 'disk.qcow2'))).toBeUndefined();
      expect(await qemuCompare(expected[1] ?? '', join(chain, names[1] ?? ''))).toBeUndefined();
    });

    it('restores each backup of the chain to a new block PVC, equal byte for byte', async () => {
      // The volume is overwritten first: restores come from the repository, not from the volume.
      await writeRandom(rbdImageFile(pv as PersistentVolume), scatteredWrites(size, 16, 77), 77);
      for (const n of [1, 3]) {
        const done = await restore(`disk-back-${n}`, {
          source: { pvc: 'disk' },
          backup: `disk-${n}`,
          useSnapshot: false,
          target: { pvc: `disk-back-${n}` },
        });
        expect(done.status?.method).toBe('repository');
        const restored = await persistentVolumeOf(client, ns, `disk-back-${n}`);
        expect(restored.spec?.volumeMode).toBe('Block');
        expect(await differs(expected[n - 1] ?? '', rbdImageFile(restored), size)).toBeUndefined();
      }
    });

    it('restores the middle of the chain over the volume itself, zeroing what the backup did not hold', async () => {
      await restore('disk-in-place', {
        source: { pvc: 'disk' },
        backup: 'disk-2',
        target: { pvc: 'disk', existing: true },
      });
      expect(await differs(expected[1] ?? '', rbdImageFile(pv as PersistentVolume), size)).toBeUndefined();
    });

    it('writes a full image again, saying why, once the base snapshot is gone', async () => {
      await client.delete(kinds.volumeSnapshot, { namespace: ns, name: 'disk-3' });
      await waitFor('VolumeSnapshot disk-3 gone', async () => {
        const left = await client.list(kinds.volumeSnapshot, { namespace: ns });
        return !left.items.some((s) => s.metadata?.name === 'disk-3');
      });
      const fourth = await backUpNow(client, ns, 'disk', 'disk-4');
      expect(fourth.status?.block).toMatchObject({ extentsFrom: 'rbd-diff', chainLength: 1 });
      expect(fourth.status?.block?.parent).toBeUndefined();
      expect(fourth.status?.block?.fullBecause).toContain('VolumeSnapshot of the last backup disk-3 is gone');
      const image = join(work, 'check-4.qcow2');
      await dump(fourth.status?.snapshotId ?? '', image);
      expect((await qemuCheck(image))['check-errors']).toBe(0);
      expect(await qemuCompare(expected[1] ?? '', image)).toBeUndefined();
    });
  });

  it('backs up and restores an RBD ext4 volume file for file', async () => {
    const pv = await claim('rbd-fs', testEnv().cephStorage.rbd.storageClass, 'Filesystem', '2Gi');
    const reference = join(work, 'rbd-fs-first');
    await withRbdFilesystem(pv, async (dir) => {
      // Before the rich tree, which sets every folder's time last; with a time of whole seconds, as its files have.
      const sameSize = join(dir, 'same-size.bin');
      writeFileSync(sameSize, Buffer.alloc(64 * 1024, 'a'));
      utimesSync(sameSize, 1_780_000_000, 1_780_000_000);
      writeRichTree(dir);
      await run('cp', ['-a', '--sparse=always', dir, reference]);
    });
    const first = await backUpNow(client, ns, 'rbd-fs', 'rbd-fs-1');
    expect(first.status?.method).toBe('snapshot');
    expect(first.status?.changeDetection?.reason).toContain('RBD clone');
    await withRbdFilesystem(pv, (dir) => mutateTree(dir));
    await restore('rbd-fs-back', {
      source: { pvc: 'rbd-fs' },
      backup: 'rbd-fs-1',
      useSnapshot: false,
      target: { pvc: 'rbd-fs-back' },
    });
    const restored = await persistentVolumeOf(client, ns, 'rbd-fs-back');
    const problems = await withRbdFilesystem(restored, (dir) => compareTrees(reference, dir), { readOnly: true });
    expect(problems).toEqual([]);

    // The RBD clone keeps inode numbers and ctimes: the next backup skips what did not change, and
    // still reads a file rewritten in place with the same size and mtime.
    await withRbdFilesystem(pv, (dir) => {
      const path = join(dir, 'same-size.bin');
      const { mtime } = statSync(path);
      writeFileSync(path, Buffer.alloc(64 * 1024, 'b'));
      utimesSync(path, mtime, mtime);
    });
    const second = await backUpNow(client, ns, 'rbd-fs', 'rbd-fs-2');
    expect(second.status?.files?.unmodified).toBeGreaterThan(0);
    const rewritten = join(work, 'same-size-2.bin');
    await dump(second.status?.snapshotId ?? '', rewritten, '/data/same-size.bin');
    expect(readFileSync(rewritten).subarray(0, 4).toString()).toBe('bbbb');
  });

  it('backs up and restores a CephFS volume file for file', async () => {
    const pv = await claim('shared', testEnv().cephStorage.cephfs.storageClass, 'Filesystem', '2Gi');
    const reference = join(work, 'cephfs-first');
    await withCephfsFolder(pv, async (dir) => {
      writeRichTree(dir);
      await run('cp', ['-a', '--sparse=always', dir, reference]);
    });
    const first = await backUpNow(client, ns, 'shared', 'shared-1');
    // A CephFS snapshot's clone is a copy: the full check reads every file, and the status says so.
    expect(first.status?.changeDetection).toMatchObject({ mode: 'full' });
    expect(first.status?.changeDetection?.reason).toContain("CephFS snapshot's clone is a copy");
    await withCephfsFolder(pv, (dir) => mutateTree(dir));
    await restore('shared-back', {
      source: { pvc: 'shared' },
      backup: 'shared-1',
      useSnapshot: false,
      target: { pvc: 'shared-back' },
    });
    const restored = await persistentVolumeOf(client, ns, 'shared-back');
    expect(await withCephfsFolder(restored, (dir) => compareTrees(reference, dir))).toEqual([]);
  });

  it('backs up a static CephFS volume from a CephFS snapshot of its folder, and restores it', async () => {
    const rootPath = `/static/${id}`;
    const pvName = `static-${id}`;
    const pv = await bindStaticVolume(
      client,
      ns,
      { name: 'static', labels: { 'safehold.test/static': 'true' } },
      { name: pvName, csi: staticCephfsSource(pvName, rootPath), accessModes: ['ReadWriteMany'], size: '1Gi' },
    );
    const folder = cephfsFolder(pv);
    mkdirSync(folder, { recursive: true });
    const reference = join(work, 'static-first');
    writeRichTree(folder);
    await run('cp', ['-a', '--sparse=always', folder, reference]);
    const first = await backUpNow(client, ns, 'static', 'static-1');
    expect(first.status?.method).toBe('cephfs-snapshot');
    expect(first.status?.changeDetection?.reason).toContain('a CephFS snapshot keeps inode numbers');
    expect(first.status?.snapshotPath).toBe('/data/.snap/safehold-backup');
    // The snapshot lived only as long as the backup.
    expect(existsSync(join(folder, '.snap', 'safehold-backup'))).toBe(false);
    writeFileSync(join(folder, 'after.txt'), 'written after the backup\n');
    await restore('static-back', {
      source: { pvc: 'static' },
      backup: 'static-1',
      target: { pvc: 'static-back', storageClassName: testEnv().cephStorage.cephfs.storageClass },
    });
    const restored = await persistentVolumeOf(client, ns, 'static-back');
    expect(await withCephfsFolder(restored, (dir) => compareTrees(reference, dir))).toEqual([]);
  });

  it('backs up a block volume on storage without an allocation map by scanning it for data', async () => {
    const size = GiB / 2;
    await client.create(kinds.persistentVolumeClaim, {
      metadata: { name: 'plain-disk', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '512Mi' } }, volumeMode: 'Block' },
    } as KubeObject);
    const device = await boundVolumePath(client, ns, 'plain-disk');
    const written = await writeRandom(device, scatteredWrites(size, 12, 5), 5);
    const expected = join(work, 'plain-disk.raw');
    await copySparse(device, expected, size);
    const backup = await backUpNow(client, ns, 'plain-disk', 'plain-disk-1');
    expect(backup.status?.block).toMatchObject({ extentsFrom: 'zero-scan', virtualSize: size });
    expect(backup.status?.block?.dataBytes).toBeLessThan(written + 13 * 2 * 65536);
    const image = join(work, 'plain-disk.qcow2');
    await dump(backup.status?.snapshotId ?? '', image, '/plain-disk.qcow2');
    expect((await qemuCheck(image))['check-errors']).toBe(0);
    expect(await qemuCompare(expected, image)).toBeUndefined();
    await writeRandom(device, scatteredWrites(size, 12, 6), 6);
    await restore('plain-disk-back', {
      source: { pvc: 'plain-disk' },
      useSnapshot: false,
      target: { pvc: 'plain-disk-back' },
    });
    expect(await differs(expected, await boundVolumePath(client, ns, 'plain-disk-back'), size)).toBeUndefined();
  });
});
