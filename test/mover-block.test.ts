// `safehold mover` backing up and restoring a block volume the way block Jobs
// run it, against the environment's radosgw S3 and restic 0.18, with the
// volume as an image file and no allocation map (a zero scan): the image
// restic stores passes qemu-img check and equals the volume, and a restore
// writes the volume back byte for byte, onto a fresh device or over old data.
// A drill restores a chain (a full image from rbd diff of an RBD image, and an
// incremental since its snapshot) and reads the device back against it.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unverifiedCephKey } from '../testenv/ceph/cluster.ts';
import { run } from '../testenv/command.ts';
import { rbd } from '../testenv/storage/ceph-storage.ts';
import { RbdImageFiles } from '../testenv/storage/rbd-image-files.ts';
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
import { testEnv, uniqueName } from './support/cluster.ts';
import { runMoverProcess, type MoverRun } from './support/mover-process.ts';

const password = 'correct horse battery staple';
const work = mkdtempSync(join(tmpdir(), 'mover-block-'));
const size = 1024 * 2 ** 20 + 512; // not a whole number of clusters
const device = join(work, 'device.raw');
const expected = join(work, 'expected.raw');
let url = '';
let snapshotId = '';
let written = 0;

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function runMover(task: object): Promise<MoverRun> {
  return runMoverProcess({ task, work, password, env: { TMPDIR: join(work, 'tmp') } });
}

const repository = () => ({ url, region: testEnv().ceph.s3.region });

beforeAll(async () => {
  url = `s3:${testEnv().ceph.s3.endpoint}/${uniqueName('block')}`;
  mkdirSync(join(work, 'tmp'));
  await run('truncate', ['-s', String(size), device]);
  written = await writeRandom(device, [...scatteredWrites(size, 40, 7), { offset: size - 700, length: 700 }], 1);
  await copySparse(device, expected, size);
  const backup = await runMover({
    kind: 'block-backup',
    repository: repository(),
    devicePath: device,
    fileName: 'disk.qcow2',
    host: 'k8s-team-nspvc-disk',
    tags: ['pvc=disk'],
    cacheDir: join(work, 'cache'),
    extents: { source: 'zero-scan' },
  });
  if (backup.result.type !== 'summary') throw new Error(`the block backup failed: ${backup.raw}\n${backup.stderr}`);
  snapshotId = backup.result.snapshotId;
  expect(backup.result.block).toMatchObject({ fileName: 'disk.qcow2', virtualSize: size, extentsFrom: 'zero-scan' });
  // Only what holds data is stored: the written bytes, rounded out to 64 KiB clusters.
  expect(backup.result.block?.dataBytes).toBeGreaterThanOrEqual(written);
  expect(backup.result.block?.dataBytes).toBeLessThan(written + 2 * 41 * 65536);
}, 300_000);

describe('a block backup', () => {
  it('stores a QCOW2 image that qemu-img finds clean and equal to the volume', async () => {
    const image = join(work, 'stored.qcow2');
    await resticDump(url, password, snapshotId, '/disk.qcow2', image);
    const report = await qemuCheck(image);
    expect(report['check-errors']).toBe(0);
    expect(report.corruptions ?? 0).toBe(0);
    expect(report.leaks ?? 0).toBe(0);
    expect(await qemuCompare(expected, image)).toBeUndefined();
    // Sparse: the file holds the data and little else.
    expect(statSync(image).size).toBeLessThan(written + 4 * 2 ** 20 + 2 * 41 * 65536);
  });

  it('restores onto a fresh device byte for byte', async () => {
    const target = join(work, 'fresh.raw');
    await run('truncate', ['-s', String(size), target]);
    const restore = await runMover({
      kind: 'block-restore',
      repository: { ...repository(), initialize: false },
      cacheDir: join(work, 'cache'),
      snapshotId: snapshotId.slice(0, 8),
      devicePath: target,
    });
    if (restore.result.type !== 'restored') throw new Error(`the restore failed: ${restore.raw}\n${restore.stderr}`);
    expect(restore.result.block?.chain).toEqual([snapshotId]);
    expect(await differs(expected, target, size)).toBeUndefined();
  });

  it('restores over old data, zeroing what the image does not hold', async () => {
    const target = join(work, 'used.raw');
    await run('truncate', ['-s', String(size + 2 ** 20), target]);
    await writeRandom(target, scatteredWrites(size, 30, 99), 2);
    const restore = await runMover({
      kind: 'block-restore',
      repository: { ...repository(), initialize: false },
      cacheDir: join(work, 'cache'),
      snapshotId,
      devicePath: target,
      zeroUnlisted: true,
    });
    expect(restore.result.type).toBe('restored');
    expect(await differs(expected, target, size)).toBeUndefined();
  });

  it('refuses a device smaller than the image, writing nothing', async () => {
    const target = join(work, 'small.raw');
    await run('truncate', ['-s', String(size / 2 - 256), target]);
    const restore = await runMover({
      kind: 'block-restore',
      repository: { ...repository(), initialize: false },
      cacheDir: join(work, 'cache'),
      snapshotId,
      devicePath: target,
    });
    expect(restore.exitCode).toBe(1);
    expect(restore.result).toMatchObject({ type: 'error', code: 'TargetTooSmall' });
    expect(restore.result.type === 'error' ? restore.result.message : '').toContain('more than the');
    expect((await run('du', ['-k', target])).stdout.split('\t')[0]).toBe('0');
  });
});

describe('a block restore drill (verify)', () => {
  const drillSize = 256 * 2 ** 20;
  const image = uniqueName('drill');
  const files = () => new RbdImageFiles(testEnv().cephStorage.rbd.fuseDir, testEnv().ceph.confPath, pool());
  const pool = () => testEnv().cephStorage.rbd.pool;
  const ceph = () => ({ monitors: [testEnv().ceph.monHost], user: 'admin' });
  const cephCli = (args: string[]) => rbd(testEnv().ceph.confPath, args);

  afterAll(async () => {
    await files().stop(image);
    await cephCli(['snap', 'purge', `${pool()}/${image}`]).catch(() => undefined);
    await cephCli(['rm', `${pool()}/${image}`]).catch(() => undefined);
  });

  /** A block backup of the RBD image's snapshot from rbd diff, since `from` (an incremental on `parent`) if given. */
  async function backUp(snapshot: string, more: { from?: string; parent?: string } = {}): Promise<string> {
    const device = files().path(image);
    await run('sync', []);
    await cephCli(['snap', 'create', `${pool()}/${image}@${snapshot}`]);
    const backup = await runMoverProcess({
      task: {
        kind: 'block-backup',
        repository: repository(),
        devicePath: device,
        fileName: 'drill.qcow2',
        host: 'k8s-team-drill',
        tags: [],
        cacheDir: join(work, 'cache'),
        extents: {
          source: 'rbd-diff',
          ceph: ceph(),
          snapshot: { pool: pool(), image, snapshot },
          ...(more.from === undefined ? {} : { fromSnapshot: more.from }),
        },
        ...(more.parent === undefined ? {} : { parent: more.parent }),
      },
      work,
      password,
      env: { TMPDIR: join(work, 'tmp'), CEPH_USER_KEY: unverifiedCephKey },
    });
    if (backup.result.type !== 'summary') throw new Error(`the block backup failed: ${backup.raw}\n${backup.stderr}`);
    expect(backup.result.block?.extentsFrom).toBe('rbd-diff');
    expect(backup.result.block?.parent).toBe(more.parent);
    return backup.result.snapshotId;
  }

  it('reads the device back against a full image and an incremental on it, every byte of the virtual size', async () => {
    await cephCli(['create', '--size', `${drillSize}B`, '--image-feature', 'layering', `${pool()}/${image}`]);
    const device = await files().ensure(image);
    const firstWrites = scatteredWrites(drillSize, 12, 5);
    await writeRandom(device, firstWrites, 5);
    const full = await backUp('one');
    // The incremental changes data, writes zeros over some of the first, and adds more.
    await writeRandom(device, scatteredWrites(drillSize, 4, 6), 6);
    await writeZeros(device, firstWrites.slice(0, 3));
    const incremental = await backUp('two', { from: 'one', parent: full });
    const wanted = join(work, 'drill-expected.raw');
    await copySparse(device, wanted, drillSize);

    // Old data on the target, which the full image's zeros must replace.
    const target = join(work, 'drill-target.raw');
    await run('truncate', ['-s', String(drillSize), target]);
    await writeRandom(target, scatteredWrites(drillSize, 8, 7), 7);
    const restore = await runMover({
      kind: 'block-restore',
      repository: { ...repository(), initialize: false },
      cacheDir: join(work, 'cache'),
      snapshotId: incremental,
      devicePath: target,
      zeroUnlisted: true,
      verify: true,
    });
    if (restore.result.type !== 'restored') throw new Error(`the drill failed: ${restore.raw}\n${restore.stderr}`);
    expect(restore.result.block?.chain).toEqual([full, incremental]);
    expect(restore.result.verified).toEqual({ bytes: drillSize, method: 'device-compare' });
    expect(await differs(wanted, target, drillSize)).toBeUndefined();
  });
});
