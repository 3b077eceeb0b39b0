// The bucket-backup task with an in-memory bucket and a stub engine that
// looks at the staged folder when asked to back it up: what is read, what is
// staged as a placeholder, which parent the engine is given, and every doubt
// that reads everything. The same task against restic and radosgw:
// test/bucket-backup.test.ts.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketBackupTask, type BackupSummary } from '../api/index.ts';
import { manifestLines, objectFile, objectTime, type ManifestObject } from '../core/index.ts';
import { bucketStage, runBucketBackup } from './bucket-backup.ts';
import type { FolderBackup, Repository, SnapshotEntry } from './engine.ts';
import type { Failure } from './failure.ts';
import type { BucketClient, Downloaded } from './s3-bucket.ts';

const root = mkdtempSync(join(tmpdir(), 'bucket-backup-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Stored {
  body: string;
  lastModified: string;
}
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** A bucket in memory; `corrupt` keys arrive with other bytes than their ETag says. */
function memoryBucket(objects: Map<string, Stored>, corrupt = new Set<string>()): BucketClient & { reads: string[] } {
  const reads: string[] = [];
  return {
    name: 'photos',
    reads,
    // eslint-disable-next-line @typescript-eslint/require-await
    async *pages(prefix) {
      const listed = [...objects]
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, o]) => ({ key, size: o.body.length, etag: md5(o.body), lastModified: o.lastModified }));
      for (let i = 0; i < listed.length; i += 2) yield listed.slice(i, i + 2);
    },
    download: (key, file) => {
      reads.push(key);
      const stored = objects.get(key);
      if (stored === undefined) return Promise.resolve(undefined);
      const body = corrupt.has(key) ? stored.body.replace(/./, '#') : stored.body;
      writeFileSync(file, body);
      const got: Downloaded = {
        bytes: body.length,
        md5: md5(body),
        contentLength: stored.body.length,
        etag: md5(stored.body),
        lastModified: new Date(Math.floor(Date.parse(stored.lastModified) / 1000) * 1000).toISOString(),
        contentType: 'text/plain',
        metadata: { owner: 'ops' },
        headers: {},
      };
      return Promise.resolve(got);
    },
    upload: () => Promise.reject(new Error('a backup writes nothing')),
    remove: () => Promise.reject(new Error('a backup deletes nothing')),
  };
}

interface Previous {
  id: string;
  manifest: string | Failure;
  files: SnapshotEntry[];
}

const unused = (what: string) => () => Promise.reject(new Error(`the stub engine has no ${what}`));

/** An engine with at most one earlier snapshot; backupFolder looks at the staged files. */
function stubEngine(previous: Previous | undefined, unmodified?: number) {
  const backups: { backup: FolderBackup; staged: Map<string, { size: number; blocks: number; body: string }> }[] = [];
  const forgotten: string[] = [];
  const repository: Repository = {
    prepare: () => Promise.resolve(undefined),
    latestSnapshot: () =>
      Promise.resolve({
        ok: true,
        value: previous === undefined ? undefined : { id: previous.id, paths: [], tags: [] },
      }),
    dumpStream: async (_, __, consume) => {
      if (previous === undefined) throw new Error('no snapshot to dump from');
      if (typeof previous.manifest !== 'string') return { ok: false, error: previous.manifest };
      return { ok: true, value: await consume(Readable.from([Buffer.from(previous.manifest)])) };
    },
    ls: () => Promise.resolve({ ok: true, value: { snapshotId: previous?.id ?? '', entries: previous?.files ?? [] } }),
    backupFolder: (backup, progress) => {
      const staged = new Map<string, { size: number; blocks: number; body: string }>();
      const walk = (folder: string, relative: string) => {
        for (const name of readdirSync(folder).sort()) {
          const path = join(folder, name);
          const info = statSync(path);
          if (info.isDirectory()) walk(path, `${relative}${name}/`);
          else
            staged.set(`${relative}${name}`, {
              size: info.size,
              blocks: info.blocks,
              body: readFileSync(path, 'utf8'),
            });
        }
      };
      walk(backup.path, '');
      backups.push({ backup, staged });
      progress.done();
      const summary: BackupSummary = {
        type: 'summary',
        snapshotId: 'b'.repeat(64),
        filesNew: 0,
        filesChanged: 0,
        filesUnmodified: unmodified ?? staged.size,
        dirsNew: 0,
        dirsChanged: 0,
        bytesAdded: 0,
        bytesProcessed: 0,
        filesProcessed: staged.size,
        durationSeconds: 0,
      };
      return Promise.resolve({ ok: true, value: summary });
    },
    forget: (ids) => {
      forgotten.push(...ids);
      return Promise.resolve({ ok: true, value: undefined });
    },
    backupStream: unused('backupStream'),
    restore: unused('restore'),
    restoresFolderItself: () => false,
    linkTargets: unused('linkTargets'),
    dumpFile: unused('dumpFile'),
    findSnapshot: unused('findSnapshot'),
    snapshotIds: unused('snapshotIds'),
    prune: unused('prune'),
    check: unused('check'),
    size: unused('size'),
  };
  return { repository, backups, forgotten };
}

const task = bucketBackupTask.parse({
  kind: 'bucket-backup',
  repository: { url: '/srv/restic' },
  bucket: { endpoint: 'http://rgw:7480', name: 'photos' },
  host: 'rgw-photos',
  tags: [],
  cacheDir: '/cache',
});

let runs = 0;
async function backup(client: BucketClient, engine: ReturnType<typeof stubEngine>) {
  const tempDir = join(root, `run-${++runs}`);
  const warnings: string[] = [];
  const result = await runBucketBackup(task, {
    repository: engine.repository,
    progress: () => undefined,
    log: () => undefined,
    warn: (line) => warnings.push(line),
    nowMs: () => 0,
    progressIntervalMs: 1000,
    tempDir,
    bucket: () => client,
  });
  return { result, warnings, stage: bucketStage(tempDir, 'photos') };
}

const objects = () =>
  new Map<string, Stored>([
    ['a.txt', { body: 'alpha', lastModified: '2026-03-01T10:00:00.000Z' }],
    ['dir/b.txt', { body: 'bravo!', lastModified: '2026-03-01T10:00:01.000Z' }],
    ['dir/', { body: '', lastModified: '2026-03-01T10:00:02.000Z' }],
  ]);

/** The earlier snapshot as a run of this task would have left it, at the stage of `stage`. */
function previousOf(bucket: Map<string, Stored>, stage: string, change?: (lines: string[]) => string[]): Previous {
  const lines: ManifestObject[] = [...bucket].map(([key, o]) => ({
    key,
    file: objectFile(key),
    size: o.body.length,
    etag: md5(o.body),
    lastModified: o.lastModified,
    contentType: 'text/plain',
    metadata: { owner: 'ops' },
  }));
  const text = [...manifestLines({ bucket: 'photos', prefix: '' }, lines)];
  const files = lines.map((line) => {
    const time = objectTime(line.lastModified, line.etag);
    const seconds = (time?.ns ?? 0n) / 1_000_000_000n;
    const nanos = String((time?.ns ?? 0n) % 1_000_000_000n).padStart(9, '0');
    const mtime = `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${nanos}Z`;
    return { path: `${stage}/${line.file}`, type: 'file', size: line.size, mtime };
  });
  return { id: 'a'.repeat(64), manifest: (change?.(text) ?? text).join(''), files };
}

describe('runBucketBackup', () => {
  it('reads every object without an earlier snapshot, and has the engine read every file', async () => {
    const client = memoryBucket(objects());
    const engine = stubEngine(undefined);
    const { result } = await backup(client, engine);
    expect(result).toMatchObject({ bucket: { objects: 3, bytes: 11, read: 3, readBytes: 11 } });
    expect(client.reads.sort()).toEqual(['a.txt', 'dir/', 'dir/b.txt']);
    const [made] = engine.backups;
    expect(made?.backup).toMatchObject({ changeDetection: 'mtime-size', parent: { kind: 'none' } });
    expect(made?.staged.get('objects/dir%D/b.txt')?.body).toBe('bravo!');
    expect(made?.staged.get('objects/dir%D/%')?.size).toBe(0);
    expect(made?.staged.get('manifest.jsonl')?.body).toContain('"key":"dir/b.txt"');
  });

  it('reads nothing the earlier snapshot holds alike: sparse placeholders, and that snapshot as the parent', async () => {
    const bucket = objects();
    bucket.set('new.txt', { body: 'new', lastModified: '2026-03-02T00:00:00.000Z' });
    const previous = previousOf(objects(), bucketStage(join(root, `run-${runs + 1}`), 'photos'));
    const client = memoryBucket(bucket);
    const engine = stubEngine(previous);
    const { result, warnings } = await backup(client, engine);
    expect(warnings).toEqual([]);
    expect(result).toMatchObject({ bucket: { objects: 4, read: 1, readBytes: 3 } });
    expect(client.reads).toEqual(['new.txt']);
    const [made] = engine.backups;
    expect(made?.backup.parent).toEqual({ kind: 'snapshot', id: previous.id });
    expect(made?.staged.get('objects/dir%D/b.txt')).toMatchObject({ size: 6, blocks: 0 });
  });

  it.each<[string, (stage: string) => Previous]>([
    ['its manifest cannot be read', (stage) => ({ ...previousOf(objects(), stage), manifest: failure })],
    ['its manifest lacks the trailer', (stage) => previousOf(objects(), stage, (lines) => lines.slice(0, -1))],
    ['its files have other mtimes', (stage) => ({ ...previousOf(objects(), stage), files: [] })],
  ])('reads every object again when the earlier snapshot is in doubt: %s', async (_, make) => {
    const client = memoryBucket(objects());
    const { result } = await backup(client, stubEngine(make(bucketStage(join(root, `run-${runs + 1}`), 'photos'))));
    expect(result).toMatchObject({ bucket: { read: 3 } });
  });

  it('forgets the snapshot and fails when the engine read a placeholder', async () => {
    const previous = previousOf(objects(), bucketStage(join(root, `run-${runs + 1}`), 'photos'));
    const engine = stubEngine(previous, 1);
    const { result } = await backup(memoryBucket(objects()), engine);
    expect(result).toMatchObject({ type: 'error', code: 'EngineFailed' });
    expect(engine.forgotten).toEqual(['b'.repeat(64)]);
  });

  it('stores nothing when a body arrives other than its ETag says', async () => {
    const engine = stubEngine(undefined);
    const { result, stage } = await backup(memoryBucket(objects(), new Set(['dir/b.txt'])), engine);
    expect(result).toMatchObject({ type: 'error', code: 'DumpFailed' });
    expect((result as Failure).message).toMatch(/"dir\/b.txt" in bucket photos: the body arrived with MD5/);
    expect(engine.backups).toEqual([]);
    expect(() => statSync(stage)).toThrow();
  });
});

const failure: Failure = { type: 'error', code: 'EngineFailed', message: 'path not found' };
