// `safehold mover` backing up and restoring a block volume the way block Jobs
// run it, against the environment's radosgw S3 and restic 0.18, with the
// volume as an image file and no allocation map (a zero scan): the image
// restic stores passes qemu-img check and equals the volume, and a restore
// writes the volume back byte for byte, onto a fresh device or over old data.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../testenv/command.ts';
import {
  copySparse,
  differs,
  qemuCheck,
  qemuCompare,
  resticDump,
  scatteredWrites,
  writeRandom,
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
