// The mover's tasks run through the engine interface alone: each one here
// against a stub engine that records what it is asked and keeps its snapshots
// in memory. A block volume goes in as a QCOW2 stream and comes back out onto
// another device bit for bit, with no restic anywhere.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackupSummary, BackupTask, MaintenanceTask, MoverProgress } from '../api/index.ts';
import { runBackup } from './backup.ts';
import { runBlockBackup } from './block-backup.ts';
import { runBlockRestore } from './block-restore.ts';
import type { Repository, SnapshotInfo } from './engine.ts';
import { moverError, type Failure } from './failure.ts';
import { streamImage } from './image-stream.ts';
import { runMaintenance } from './maintenance.ts';

const root = mkdtempSync(join(tmpdir(), 'mover-engine-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const progressAt = (percentDone: number): MoverProgress => ({
  type: 'progress',
  percentDone,
  filesDone: 0,
  totalFiles: 0,
  bytesDone: 0,
  totalBytes: 0,
  secondsElapsed: 0,
});

function summaryOf(snapshotId: string): BackupSummary {
  return {
    type: 'summary',
    snapshotId,
    filesNew: 1,
    filesChanged: 0,
    filesUnmodified: 0,
    dirsNew: 0,
    dirsChanged: 0,
    bytesAdded: 0,
    bytesProcessed: 0,
    filesProcessed: 1,
    durationSeconds: 0,
  };
}

const unused = (what: string) => () => Promise.reject(new Error(`the stub engine has no ${what}`));

/** An engine that records each call by name and keeps snapshots (and a stream's bytes) in memory. */
function stubEngine(options: { snapshots?: string[]; prepare?: Failure } = {}) {
  const calls: [string, ...unknown[]][] = [];
  const snapshots = new Map<string, SnapshotInfo & { bytes?: Buffer }>(
    (options.snapshots ?? []).map((id) => [id, { id, paths: ['/data'], tags: [] }]),
  );
  const keep = (info: Omit<SnapshotInfo, 'id'>, bytes?: Buffer) => {
    const id = (snapshots.size + 1).toString(16).padStart(64, 'a');
    snapshots.set(id, { id, ...info, ...(bytes === undefined ? {} : { bytes }) });
    return id;
  };
  const repository: Repository = {
    prepare: (given) => {
      calls.push(['prepare', given]);
      return Promise.resolve(options.prepare);
    },
    backupFolder: (backup, progress) => {
      calls.push(['backupFolder', backup]);
      for (const percent of [0, 50, 100]) progress.report(progressAt(percent));
      progress.done();
      const id = keep({ paths: [backup.path], tags: [...backup.tags] });
      return Promise.resolve({ ok: true, value: summaryOf(id) });
    },
    backupStream: async (backup, progress) => {
      calls.push(['backupStream', backup]);
      // The command is this program's image stream; the stub runs it in-process.
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          chunks.push(chunk);
          done();
        },
      });
      await streamImage(backup.command.at(-1) ?? '', sink);
      progress.done();
      const id = keep({ paths: [`/${backup.fileName}`], tags: [...backup.tags] }, Buffer.concat(chunks));
      return { ok: true, value: summaryOf(id) };
    },
    findSnapshot: (id, given) => {
      calls.push(['findSnapshot', id, given]);
      const found = [...snapshots.values()].find((snapshot) => snapshot.id.startsWith(id));
      return Promise.resolve({ ok: true, value: found });
    },
    latestSnapshot: () => Promise.reject(new Error('the fake engine keeps no hosts')),
    dumpStream: async (snapshotId, path, consume) => {
      calls.push(['dumpStream', snapshotId, path]);
      const bytes = snapshots.get(snapshotId)?.bytes ?? Buffer.alloc(0);
      return { ok: true, value: await consume(Readable.from([bytes])) };
    },
    snapshotIds: () => {
      calls.push(['snapshotIds']);
      return Promise.resolve({ ok: true, value: [...snapshots.keys()] });
    },
    forget: (ids) => {
      calls.push(['forget', ids]);
      for (const id of ids) snapshots.delete(id);
      return Promise.resolve({ ok: true, value: undefined });
    },
    prune: () => {
      calls.push(['prune']);
      return Promise.resolve({ ok: true, value: { bytesFreed: 7, message: 'freed 7 B' } });
    },
    check: (readDataSubset) => {
      calls.push(['check', readDataSubset]);
      return Promise.resolve({ ok: true, value: { ok: true, message: 'no errors were found' } });
    },
    size: () => Promise.resolve(1234),
    restore: unused('restore'),
    restoresFolderItself: () => false,
    ls: unused('ls'),
    linkTargets: unused('linkTargets'),
    dumpFile: unused('dumpFile'),
  };
  return { repository, calls, snapshots };
}

const backupTask: BackupTask = {
  kind: 'backup',
  repository: { engine: 'restic' as const, url: 'stub:', initialize: true },
  sourcePath: root,
  host: 'team-a-data',
  tags: ['daily'],
  cacheDir: '/cache',
  compression: 'auto',
  verifyBeforeUpload: true,
  changeDetection: 'mtime-size',
  snapshotTime: '2024-03-31T01:30:00.25+02:00',
};

describe('the mover through the engine interface', () => {
  it('backs a folder up: the repository prepared, the snapshot named, the progress throttled', async () => {
    const stub = stubEngine();
    const printed: MoverProgress[] = [];
    const result = await runBackup(backupTask, {
      repository: stub.repository,
      log: () => undefined,
      progress: (p) => printed.push(p),
      warn: () => undefined,
      nowMs: () => 0,
      progressIntervalMs: 1_000,
    });
    expect(stub.calls).toEqual([
      ['prepare', { create: true, onFirstUse: true }],
      [
        'backupFolder',
        {
          path: root,
          host: 'team-a-data',
          compression: 'fast',
          verifyBeforeUpload: true,
          tags: ['daily'],
          time: '2024-03-30 23:30:00.25',
          changeDetection: 'mtime-size',
        },
      ],
    ]);
    expect(printed.map((p) => p.percentDone)).toEqual([0, 100]);
    expect(result).toMatchObject({ type: 'summary', filesNew: 1 });
  });

  it('stops at what the engine says, and reports it as the protocol names it', async () => {
    const locked: Failure = { type: 'error', code: 'EngineFailed', message: 'the stub is broken' };
    const stub = stubEngine({ prepare: locked });
    const result = await runBackup(backupTask, {
      repository: stub.repository,
      log: () => undefined,
      progress: () => undefined,
      warn: () => undefined,
      nowMs: () => 0,
      progressIntervalMs: 1_000,
    });
    expect(result).toBe(locked);
    expect(stub.calls.map(([name]) => name)).toEqual(['prepare']);
    expect(moverError(locked)).toEqual({ type: 'error', code: 'ResticFailed', message: 'the stub is broken' });
  });

  it('carries out a forget plan: present snapshots by full id, the gone ones counted, then prune and check', async () => {
    const a = 'e7b0031c13fe81d77cf2d43e1444d071771c665744ced9c1faf071a16a27a6ef';
    const b = 'f7d250a99a42d19c70fdd9ab87ea47019a094469090229c537e065998d662972';
    const stub = stubEngine({ snapshots: [a, b] });
    const task: MaintenanceTask = {
      kind: 'maintenance',
      repository: { engine: 'restic' as const, url: 'stub:', initialize: true },
      cacheDir: '/cache',
      forget: ['e7b0031c', '0123abcd'],
      prune: true,
      check: { readDataSubset: '5%' },
    };
    const log: string[] = [];
    const result = await runMaintenance(task, { repository: stub.repository, nowMs: () => 0, log: (t) => log.push(t) });
    expect(stub.calls).toEqual([
      ['prepare', { create: false, notCreated: expect.stringContaining('maintenance never creates one') as string }],
      ['snapshotIds'],
      ['forget', [a]],
      ['prune'],
      ['check', '5%'],
      ['snapshotIds'],
    ]);
    expect(result).toEqual({
      type: 'maintenance',
      forgotten: 1,
      alreadyGone: 1,
      prune: { bytesFreed: 7, message: 'freed 7 B' },
      check: { ok: true, message: 'no errors were found' },
      snapshots: 1,
      repositoryBytes: 1234,
      durationSeconds: 0,
    });
    expect(log[0]).toBe('forgetting 1 snapshots (e7b0031c); already gone: 0123abcd');
  });

  it('streams a block volume in as QCOW2 and writes it back onto another device, bit for bit', async () => {
    const size = 4 * 2 ** 20;
    const volume = Buffer.alloc(size);
    volume.write('the first cluster', 0);
    volume.fill(0x5a, 3 * 2 ** 20, 3 * 2 ** 20 + 1000);
    const device = join(root, 'device');
    writeFileSync(device, volume);
    const stub = stubEngine();
    const backedUp = await runBlockBackup(
      {
        kind: 'block-backup',
        repository: { engine: 'restic' as const, url: 'stub:', initialize: true },
        devicePath: device,
        fileName: 'disk.qcow2',
        host: 'team-a-disk',
        tags: ['daily'],
        cacheDir: '/cache',
        compression: 'auto',
        verifyBeforeUpload: true,
        extents: { source: 'zero-scan' },
      },
      {
        repository: stub.repository,
        progress: () => undefined,
        log: () => undefined,
        warn: () => undefined,
        nowMs: () => 0,
        progressIntervalMs: 1_000,
        tempDir: root,
        imageStreamCommand: (plan) => ['image-stream', plan],
        rbd: () => Promise.reject(new Error('no Ceph here')),
      },
    );
    if (backedUp.type !== 'summary') throw new Error(backedUp.message);
    expect(backedUp.block).toMatchObject({ fileName: 'disk.qcow2', virtualSize: size, extentsFrom: 'zero-scan' });
    expect(stub.calls[1]).toEqual([
      'backupStream',
      {
        host: 'team-a-disk',
        compression: 'fast',
        verifyBeforeUpload: true,
        tags: ['daily', 'format=qcow2'],
        fileName: 'disk.qcow2',
        command: ['image-stream', expect.stringMatching(/plan\.json$/) as string],
      },
    ]);

    const target = join(root, 'target');
    writeFileSync(target, Buffer.alloc(size, 0xff));
    const restored = await runBlockRestore(
      {
        kind: 'block-restore',
        repository: { engine: 'restic' as const, url: 'stub:', initialize: false },
        cacheDir: '/cache',
        snapshotId: backedUp.snapshotId.slice(0, 8),
        devicePath: target,
        zeroUnlisted: true,
        verify: true,
      },
      { repository: stub.repository, nowMs: () => 0, log: () => undefined },
    );
    expect(restored).toMatchObject({
      type: 'restored',
      block: { chain: [backedUp.snapshotId], virtualSize: size },
      verified: { bytes: size, method: 'device-compare' },
    });
    // The image once to write it, once more to compare the device with it.
    expect(stub.calls.slice(2)).toEqual([
      ['prepare', { create: false }],
      ['findSnapshot', backedUp.snapshotId.slice(0, 8), { named: true }],
      ['dumpStream', backedUp.snapshotId, '/disk.qcow2'],
      ['dumpStream', backedUp.snapshotId, '/disk.qcow2'],
    ]);
    expect(readFileSync(target).equals(volume)).toBe(true);
  });
});
