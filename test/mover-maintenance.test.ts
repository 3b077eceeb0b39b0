// `safehold mover` maintaining a repository the way a maintenance Job runs it,
// against the environment's radosgw S3 and restic 0.18: snapshots recorded at
// the times the task gives, forgotten by id prefix, pruned and checked, a
// repeated run after a crash, damage a check finds, and a repository that is
// not there.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MaintenanceSummary } from '../src/api/index.ts';
import { CommandError, run } from '../testenv/command.ts';
import { testEnv, uniqueName } from './support/cluster.ts';
import { runMoverProcess, type MoverRun } from './support/mover-process.ts';

const password = 'correct horse battery staple';
const work = mkdtempSync(join(tmpdir(), 'mover-maintenance-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const s3Url = (bucket: string) => `s3:${testEnv().ceph.s3.endpoint}/${bucket}`;

/** Runs `safehold mover` with the task, as a Job would; the mover's own time zone is far from UTC. */
async function runMover(task: object): Promise<MoverRun> {
  const run = await runMoverProcess({ task, work, password, env: { TZ: 'Pacific/Chatham' } });
  // What the controller reads and what the log shows agree.
  expect(run.messages.at(-1)).toEqual(run.result);
  return run;
}

function backupTask(url: string, source: string, snapshotTime: string) {
  return {
    kind: 'backup',
    repository: { url, region: testEnv().ceph.s3.region },
    sourcePath: source,
    host: 'team-a-data',
    tags: ['safehold'],
    cacheDir: join(work, 'cache'),
    snapshotTime,
  };
}

function maintenanceTask(
  url: string,
  more: { forget?: string[]; prune?: boolean; check?: { readDataSubset?: string } },
) {
  return { kind: 'maintenance', repository: { url }, cacheDir: join(work, 'cache'), ...more };
}

function maintenanceOf(run: MoverRun): MaintenanceSummary {
  if (run.result.type !== 'maintenance') throw new Error(`the mover did not maintain the repository: ${run.raw}`);
  expect(run.exitCode).toBe(0);
  return run.result;
}

function restic(url: string, args: string[]) {
  const env = testEnv();
  return run(env.tools.restic, args, {
    env: {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: url,
      RESTIC_PASSWORD: password,
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      AWS_DEFAULT_REGION: env.ceph.s3.region,
      RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    },
    timeoutMs: 300_000,
  });
}

async function snapshots(url: string): Promise<{ id: string; time: string }[]> {
  return JSON.parse((await restic(url, ['snapshots', '--json'])).stdout) as { id: string; time: string }[];
}

/**
 * Backs up a volume once per time given, each snapshot with 1 MiB only it
 * holds next to data they all share; returns the snapshot ids in order.
 */
async function history(url: string, times: readonly string[]): Promise<string[]> {
  const source = join(work, uniqueName('volume'));
  mkdirSync(source);
  writeFileSync(join(source, 'shared.bin'), randomBytes(512 * 1024));
  const ids: string[] = [];
  for (const [n, time] of times.entries()) {
    rmSync(join(source, `only-${n - 1}.bin`), { force: true });
    writeFileSync(join(source, `only-${n}.bin`), randomBytes(1024 * 1024));
    const backup = await runMover(backupTask(url, source, time));
    if (backup.result.type !== 'summary') throw new Error(`the backup failed: ${backup.raw}`);
    ids.push(backup.result.snapshotId);
  }
  return ids;
}

describe('safehold mover maintenance', () => {
  it('records each snapshot at the time the task gives, whatever the time zone of the mover', async () => {
    const url = s3Url(uniqueName('maintain'));
    const times = ['2024-01-01T00:00:00Z', '2024-03-31T01:30:00+02:00', '2024-06-30T19:15:42.250-05:00'];
    const ids = await history(url, times);
    const stored = await snapshots(url);
    expect(stored.map((s) => s.id)).toEqual(ids);
    for (const [n, snapshot] of stored.entries()) {
      expect(snapshot.time).toMatch(/Z$/);
      expect(Date.parse(snapshot.time)).toBe(Date.parse(times[n] ?? ''));
    }
    expect(stored.map((s) => s.time)).toEqual([
      '2024-01-01T00:00:00Z',
      '2024-03-30T23:30:00Z',
      '2024-07-01T00:15:42.25Z',
    ]);
  });

  it('forgets snapshots by id prefix and prunes their data, and a repeated run finds them gone', async () => {
    const url = s3Url(uniqueName('maintain'));
    const ids = await history(url, [
      '2024-01-01T00:00:00Z',
      '2024-01-02T00:00:00Z',
      '2024-01-03T00:00:00Z',
      '2024-01-04T00:00:00Z',
    ]);
    const [first = '', second = '', third = '', fourth = ''] = ids;
    const task = maintenanceTask(url, {
      forget: [first.slice(0, 8), second.slice(0, 8)],
      prune: true,
      check: { readDataSubset: '100%' },
    });

    const done = maintenanceOf(await runMover(task));
    expect(done).toMatchObject({
      forgotten: 2,
      alreadyGone: 0,
      check: { ok: true, readDataSubset: '100%' },
      snapshots: 2,
    });
    // The two forgotten snapshots held 1 MiB each that no other snapshot has.
    expect(done.prune?.bytesFreed).toBeGreaterThan(2 * 1024 * 1024);
    expect(done.prune?.message).toMatch(/^freed \d+\.\d{3} MiB/);
    const raw = JSON.parse((await restic(url, ['stats', '--mode', 'raw-data', '--json'])).stdout) as {
      total_size: number;
    };
    expect(done.repositoryBytes).toBe(raw.total_size);

    expect((await snapshots(url)).map((s) => s.id).toSorted()).toEqual([third, fourth].toSorted());
    await restic(url, ['check', '--read-data']);

    // The controller runs the same task again when it did not see the first one end.
    const again = maintenanceOf(await runMover(task));
    expect(again).toMatchObject({ forgotten: 0, alreadyGone: 2, snapshots: 2, prune: { bytesFreed: 0 } });
    expect((await snapshots(url)).map((s) => s.id).toSorted()).toEqual([third, fourth].toSorted());
  });

  it('reports the damage a check finds in a pack file as a finding', async () => {
    // A repository in a folder: its pack files are easy to damage.
    const url = join(work, uniqueName('local-repository'));
    await history(url, ['2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z']);
    const pack = largestFile(join(url, 'data'));
    chmodSync(pack, 0o600);
    const fd = openSync(pack, 'r+');
    writeSync(fd, Buffer.alloc(64, 0x58), 0, 64, Math.floor(statSync(pack).size / 2));
    closeSync(fd);

    const run = await runMover(maintenanceTask(url, { check: { readDataSubset: '100%' } }));
    const found = maintenanceOf(run);
    expect(found).toMatchObject({
      forgotten: 0,
      alreadyGone: 0,
      check: { ok: false, readDataSubset: '100%' },
      snapshots: 2,
    });
    const packId = pack.split('/').at(-1) ?? '';
    expect(found.check?.message).toMatch(/^restic check found \d+ errors?, 1 damaged pack file: /);
    expect(found.check?.message).toContain(packId);
    expect(run.stderr).toContain(packId.slice(0, 8));
  });

  it('does not create a repository to maintain', async () => {
    const url = s3Url(uniqueName('maintain'));
    const run = await runMover(maintenanceTask(url, { prune: true, check: {} }));
    expect(run.exitCode).toBe(1);
    if (run.result.type !== 'error') throw new Error(`the mover maintained nothing: ${run.raw}`);
    expect(run.result.code).toBe('ResticFailed');
    expect(run.result.message).toBe(
      `there is no restic repository at ${url} and maintenance never creates one: check the URL (the first backup creates the repository)`,
    );
    const opened = restic(url, ['cat', 'config']);
    await expect(opened).rejects.toBeInstanceOf(CommandError);
    await expect(opened).rejects.toMatchObject({ exitCode: 10 });
  });
});

function largestFile(folder: string): string {
  const files = readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
  const largest = files.toSorted((a, b) => statSync(b).size - statSync(a).size)[0];
  if (largest === undefined) throw new Error(`no pack files in ${folder}`);
  return largest;
}
