// `safehold mover` restoring and downloading the way restore and download
// Jobs run it, against the environment's radosgw S3 and restic 0.18: a volume
// full of awkward files backed up, changed and backed up again; the first
// backup restored whole (into an empty folder and over a used one), in part,
// and read for a listing or one file, uploaded to a stand-in for a presigned
// S3 PUT URL.
import {
  readFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listingEntry, type DownloadSummary, type ListingEntry, type RestoreSummary } from '../src/api/index.ts';
import { run } from '../testenv/command.ts';
import { testEnv, uniqueName } from './support/cluster.ts';
import { runMoverProcess, type MoverRun } from './support/mover-process.ts';
import { damageObject, repositoryObjects } from './support/s3-objects.ts';
import {
  allocatedBytes,
  compareTrees,
  mutateTree,
  otherOwner,
  richPaths,
  sparseFile,
  writeRichTree,
} from './support/tree.ts';

const password = 'correct horse battery staple';
const work = mkdtempSync(join(tmpdir(), 'mover-restore-'));
const volume = join(work, 'volume');
/** The volume as the first backup saw it (cp -a, before mutateTree). */
const expected = join(work, 'expected');
let url = '';
let first = '';
let second = '';

afterAll(() => rmSync(work, { recursive: true, force: true }));

async function runMover(task: object, uploadUrl?: string): Promise<MoverRun> {
  const run = await runMoverProcess({
    task,
    work,
    password,
    env: { TMPDIR: join(work, 'tmp') },
    ...(uploadUrl === undefined ? {} : { uploadUrl }),
  });
  // What the controller reads and what the log shows agree.
  expect(run.messages.at(-1)).toEqual(run.result);
  return run;
}

const repository = () => ({ url, region: testEnv().ceph.s3.region });
const cacheDir = () => join(work, 'cache');

async function backup(): Promise<string> {
  const run = await runMover({
    kind: 'backup',
    repository: repository(),
    sourcePath: volume,
    host: 'team-a-data',
    tags: [],
    cacheDir: cacheDir(),
  });
  if (run.result.type !== 'summary') throw new Error(`the backup failed: ${run.raw}`);
  counted.set(run.result.snapshotId, { files: run.result.filesProcessed, bytes: run.result.bytesProcessed });
  return run.result.snapshotId;
}

/** What each backup counted (files and bytes processed), by snapshot id: what a drill compares with. */
const counted = new Map<string, { files: number; bytes: number }>();

function restoreTask(targetPath: string, more: { paths?: string[]; deleteExtra?: boolean; snapshotId?: string } = {}) {
  return {
    kind: 'restore',
    repository: repository(),
    cacheDir: cacheDir(),
    source: { snapshotId: more.snapshotId ?? first.slice(0, 8), snapshotPath: volume },
    targetPath,
    ...(more.paths === undefined ? {} : { paths: more.paths }),
    ...(more.deleteExtra === undefined ? {} : { deleteExtra: more.deleteExtra }),
  };
}

function downloadTask(path: string, what: 'listing' | 'file', depth?: number) {
  return {
    kind: 'download',
    repository: repository(),
    cacheDir: cacheDir(),
    source: { snapshotId: first, snapshotPath: volume },
    path,
    what,
    ...(depth === undefined ? {} : { depth }),
  };
}

function restoredOf(run: MoverRun): RestoreSummary {
  if (run.result.type !== 'restored') throw new Error(`the mover did not restore: ${run.raw}\n${run.stderr}`);
  expect(run.exitCode).toBe(0);
  return run.result;
}

function errorOf(run: MoverRun) {
  expect(run.exitCode).toBe(1);
  if (run.result.type !== 'error') throw new Error(`the mover succeeded: ${run.raw}`);
  return run.result;
}

/**
 * An empty target as restore Jobs mount it: named like the folder the backup read, in a folder
 * of its own (so the engine restores the volume root's metadata itself); `as` names it otherwise.
 */
function emptyFolder(name: string, as = basename(volume)): string {
  const folder = join(work, uniqueName(name), as);
  mkdirSync(folder, { recursive: true });
  return folder;
}

/** A target holding the volume as it is now (after the second backup), plus a file neither backup has. */
async function usedFolder(name: string): Promise<string> {
  const folder = join(work, uniqueName(name), basename(volume));
  mkdirSync(dirname(folder));
  await run('cp', ['-a', volume, folder]);
  writeFileSync(join(folder, 'junk.txt'), 'never backed up\n');
  return folder;
}

/** Every path under a folder, relative to it, folders with a trailing slash. */
function pathsUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const relative = join(entry.parentPath, entry.name).slice(root.length);
      return entry.isDirectory() ? `${relative}/` : relative;
    })
    .sort();
}

beforeAll(async () => {
  url = `s3:${testEnv().ceph.s3.endpoint}/${uniqueName('restore')}`;
  mkdirSync(join(work, 'tmp'));
  writeRichTree(volume);
  await run('cp', ['-a', volume, expected]);
  first = await backup();
  mutateTree(volume);
  second = await backup();
});

describe('safehold mover restore', () => {
  it('restores the first backup into an empty folder as it was: modes, owners, times, links, holes', async () => {
    const target = emptyFolder('empty-target');
    const run = await runMover(restoreTask(target));
    const summary = restoredOf(run);
    // As the task named it: the first backup's id, in short.
    expect(summary.snapshotId).toBe(first.slice(0, 8));
    expect(second).not.toBe(first);
    expect(summary.filesRestored).toBeGreaterThan(2500);
    expect(summary.totalBytes).toBeGreaterThan(sparseFile.size);
    expect(summary.filesDeleted).toBeUndefined();
    expect(run.messages.filter((m) => m.type === 'progress').at(-1)).toMatchObject({ percentDone: 100 });

    expect(compareTrees(expected, target)).toEqual([]);
    expect(statSync(join(target, sparseFile.path)).size).toBe(sparseFile.size);
    // Holes stay holes: what it takes on disk is about the data written into it, not its size.
    expect(allocatedBytes(join(target, sparseFile.path))).toBeLessThan(4 * sparseFile.dataBytes);
    expect(statSync(join(target, 'private/secret.key'))).toMatchObject({ uid: otherOwner.uid, mode: 0o100600 });
  });

  it("gives a target of another name the root's owner, mode and times as well", async () => {
    const target = emptyFolder('other-name', 'elsewhere');
    const summary = restoredOf(await runMover(restoreTask(target)));
    expect(summary.snapshotId).toBe(first);
    expect(compareTrees(expected, target)).toEqual([]);
  });

  it('restores only the paths asked for, glob characters in names taken literally', async () => {
    const target = emptyFolder('paths-target');
    const run = await runMover(restoreTask(target, { paths: [richPaths.folder, richPaths.file, richPaths.globName] }));
    restoredOf(run);
    const restored = pathsUnder(target).filter((path) => !path.endsWith('/'));
    const wanted = [
      ...pathsUnder(join(expected, richPaths.folder)).map((path) => `${richPaths.folder}${path}`),
      richPaths.file,
      richPaths.globName,
    ].filter((path) => !path.endsWith('/'));
    expect(restored).toEqual(wanted.sort());
    expect(compareTrees(join(expected, richPaths.folder), join(target, richPaths.folder))).toEqual([]);
    expect(readFileSync(join(target, richPaths.file))).toEqual(readFileSync(join(expected, richPaths.file)));
  });

  it('makes a used folder equal to the backup with deleteExtra, and nothing beside it', async () => {
    const target = await usedFolder('used-delete');
    const beside = join(dirname(target), 'beside.txt');
    writeFileSync(beside, 'not in the volume\n');
    const summary = restoredOf(await runMover(restoreTask(target, { deleteExtra: true })));
    expect(compareTrees(expected, target)).toEqual([]);
    expect(readFileSync(beside, 'utf8')).toBe('not in the volume\n');
    // junk.txt, docs/new and what is in it, docs/d0/s0/extra.txt.
    expect(summary.filesDeleted).toBeGreaterThanOrEqual(4);
    // What was unchanged since the backup is left as it is.
    expect(summary.filesSkipped).toBeGreaterThan(2000);
  });

  it('leaves files the backup does not have without deleteExtra, and restores the rest', async () => {
    const target = await usedFolder('used-keep');
    restoredOf(await runMover(restoreTask(target)));
    expect(compareTrees(expected, target)).toEqual([
      '/docs/d0/s0/extra.txt: only in b',
      '/docs/new: only in b',
      '/junk.txt: only in b',
    ]);
  });

  it('says the snapshot is not in the repository', async () => {
    const target = emptyFolder('no-snapshot');
    const error = errorOf(await runMover(restoreTask(target, { snapshotId: 'deadbeefdeadbeef' })));
    expect(error.code).toBe('SnapshotNotFound');
    expect(error.message).toContain('deadbeefdeadbeef');
    expect(readdirSync(target)).toEqual([]);
  });

  it('restores nothing when a path is not in the backup, and names it', async () => {
    const target = emptyFolder('no-path');
    const error = errorOf(await runMover(restoreTask(target, { paths: [richPaths.folder, '/no/such/file'] })));
    expect(error.code).toBe('PathNotFound');
    expect(error.message).toContain('/no/such/file');
    expect(error.message).not.toContain(richPaths.folder);
    expect(readdirSync(target)).toEqual([]);
  });

  it('gives up on an endpoint nothing listens on within seconds, naming it', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const task = { ...restoreTask(emptyFolder('unreachable')), repository: { url: `s3:${endpoint}/bucket` } };
    const error = errorOf(await runMover(task));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error.code).toBe('RepositoryUnreachable');
    expect(error.message).toContain(endpoint);
  });

  it('says the target folder is missing', async () => {
    const target = join(work, 'never-mounted');
    const error = errorOf(await runMover(restoreTask(target)));
    expect(error.code).toBe('TargetMissing');
    expect(error.message).toContain(target);
    expect(() => statSync(target)).toThrow();
  });
});

describe('safehold mover restore as a drill (verify)', () => {
  it('reads every restored file back against the backup and says how much it verified', async () => {
    const target = emptyFolder('drill');
    const summary = restoredOf(await runMover({ ...restoreTask(target), verify: true }));
    // Every file read back, the 1 GiB sparse file at its full length among them, and the volume counted as
    // its backup counted it (hardlinks under each name): what the drill compares with the backup's summary.
    expect(summary.verified).toEqual({ ...counted.get(first), method: 'restic-verify' });
    expect(summary.totalBytes).toBeGreaterThan(sparseFile.size);
    expect(compareTrees(expected, target)).toEqual([]);
  });

  it('verifies a restore over a used folder too: the files restic skipped were hashed before it skipped them', async () => {
    const target = await usedFolder('drill-used');
    const summary = restoredOf(await runMover({ ...restoreTask(target, { deleteExtra: true }), verify: true }));
    expect(summary.filesSkipped).toBeGreaterThan(2000);
    expect(summary.verified).toEqual({ ...counted.get(first), method: 'restic-verify' });
    expect(compareTrees(expected, target)).toEqual([]);
  });

  it("fails as Unverified, in restic's words, when a data pack of the backup is damaged", async () => {
    const damagedUrl = `s3:${testEnv().ceph.s3.endpoint}/${uniqueName('damaged')}`;
    const source = join(work, uniqueName('damaged-volume'));
    mkdirSync(source);
    for (const name of ['a.bin', 'b.bin', 'c.bin']) writeFileSync(join(source, name), randomBytes(4 * 2 ** 20));
    const repository = { url: damagedUrl, region: testEnv().ceph.s3.region };
    const cacheDir = join(work, uniqueName('damaged-cache'));
    const backedUp = await runMover({
      kind: 'backup',
      repository,
      sourcePath: source,
      host: 'drill',
      tags: [],
      cacheDir,
    });
    if (backedUp.result.type !== 'summary') throw new Error(`the backup failed: ${backedUp.raw}`);
    // The largest pack holds the files' data; the trees' packs are small.
    const packs = await repositoryObjects(damagedUrl, 'data');
    const largest = packs.toSorted((a, b) => b.size - a.size)[0];
    if (largest === undefined || largest.size < 4 * 2 ** 20) throw new Error(`no data pack: ${JSON.stringify(packs)}`);
    await damageObject(damagedUrl, largest.key, Buffer.alloc(64, 0x5a));

    const drill = (name: string, verify: boolean) => ({
      kind: 'restore',
      repository: { ...repository, initialize: false },
      cacheDir,
      source: {
        snapshotId: backedUp.result.type === 'summary' ? backedUp.result.snapshotId : '',
        snapshotPath: source,
      },
      targetPath: emptyFolder(name, basename(source)),
      verify,
    });
    const error = errorOf(await runMover(drill('damaged-drill', true)));
    expect(error.code).toBe('Unverified');
    expect(error.message).toContain('restic cannot read all of the backup');
    expect(error.message).toMatch(/ciphertext verification failed/);
    expect(error.message).toMatch(/\/(a|b|c)\.bin: /);
    // A restore that is not a drill says the same words, as restic's failure.
    const plain = errorOf(await runMover(drill('damaged-plain', false)));
    expect(plain.code).toBe('ResticFailed');
    expect(plain.message).toMatch(/ciphertext verification failed/);
  });
});

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A stand-in for S3 behind a presigned URL: takes one PUT, answers with status and body. */
async function uploadServer(status = 200, answer = '') {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      response.writeHead(status, { 'Content-Type': 'application/xml' }).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const signature = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-Signature=${uniqueName('sig')}`;
  return {
    url: `http://127.0.0.1:${address.port}/staging/download-1?${signature}`,
    signature,
    received,
    /** The one PUT the mover made, with its length said up front. */
    upload(): Buffer {
      expect(received).toHaveLength(1);
      const [put] = received;
      if (put === undefined) throw new Error('nothing was uploaded');
      expect(put.method).toBe('PUT');
      expect(put.path).toBe(`/staging/download-1?${signature}`);
      expect(put.headers['transfer-encoding']).toBeUndefined();
      expect(put.headers['content-length']).toBe(String(put.body.length));
      return put.body;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function leftInTmp(): string[] {
  return readdirSync(join(work, 'tmp'));
}

describe('safehold mover download', () => {
  it('uploads a listing of a folder, two levels deep, with paths from the volume root', async () => {
    const server = await uploadServer();
    try {
      const run = await runMover(downloadTask('/docs/d1/', 'listing', 2), server.url);
      if (run.result.type !== 'downloaded') throw new Error(`the mover did not download: ${run.raw}\n${run.stderr}`);
      const entries = server
        .upload()
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => listingEntry.parse(JSON.parse(line)));
      const onDisk = pathsUnder(join(expected, 'docs/d1')).map((path) => `/docs/d1${path.replace(/\/$/, '')}`);
      expect(entries.map((entry) => entry.path).sort()).toEqual(onDisk);
      expect(run.result).toMatchObject({
        type: 'downloaded',
        snapshotId: first,
        what: 'listing',
        entries: onDisk.length,
      } satisfies Partial<DownloadSummary>);
      expect(run.result.bytes).toBe(server.received[0]?.body.length);

      const file = entries.find((entry) => entry.path === richPaths.file);
      const stats = statSync(join(expected, richPaths.file));
      expect(file).toEqual({
        path: richPaths.file,
        type: 'file',
        size: stats.size,
        mode: stats.mode & 0o7777,
        uid: stats.uid,
        gid: stats.gid,
        mtime: expect.any(String) as string,
      } satisfies ListingEntry);
      const mtimeNs = statSync(join(expected, richPaths.file), { bigint: true }).mtimeNs;
      expect(Date.parse(file?.mtime ?? '')).toBe(Number(mtimeNs / 1_000_000n));
      expect(file?.mtime).toMatch(
        new RegExp(
          `\\.${String(mtimeNs % 1_000_000_000n)
            .padStart(9, '0')
            .replace(/0+$/, '')}Z$`,
        ),
      );
      expect(entries.find((entry) => entry.path === '/docs/d1/s0')).toMatchObject({ type: 'dir', mode: 0o755 });
      expect(leftInTmp()).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('lists where symlinks point, and the setgid bit of a folder', async () => {
    const server = await uploadServer();
    try {
      const run = await runMover(downloadTask('/', 'listing'), server.url);
      expect(run.result.type).toBe('downloaded');
      const entries = server
        .upload()
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => listingEntry.parse(JSON.parse(line)));
      expect(entries.map((e) => e.path).sort()).toEqual(
        readdirSync(expected)
          .map((name) => `/${name}`)
          .sort(),
      );
      expect(entries.find((e) => e.path === '/shared')).toMatchObject({
        type: 'dir',
        mode: 0o2775,
        gid: otherOwner.gid,
      });

      const links = await runMover(downloadTask('/links', 'listing'), server.url);
      expect(links.result).toMatchObject({ type: 'downloaded', entries: 5 });
      const linkEntries = server.received[1]?.body.toString('utf8').split('\n').filter(Boolean) ?? [];
      for (const line of linkEntries) {
        const entry = listingEntry.parse(JSON.parse(line));
        expect(entry).toMatchObject({ type: 'symlink', linkTarget: readlinkSync(join(expected, entry.path)) });
      }
    } finally {
      await server.close();
    }
  });

  it('uploads one file byte for byte, whatever its name', async () => {
    for (const path of [richPaths.hardlinks[0], richPaths.globName]) {
      const server = await uploadServer();
      try {
        const run = await runMover(downloadTask(path, 'file'), server.url);
        const body = server.upload();
        expect(body).toEqual(readFileSync(join(expected, path)));
        expect(run.result).toMatchObject({ type: 'downloaded', what: 'file', bytes: body.length });
        expect(leftInTmp()).toEqual([]);
      } finally {
        await server.close();
      }
    }
  });

  it('refuses a folder as a file, and a path the backup does not have', async () => {
    const server = await uploadServer();
    try {
      const folder = errorOf(await runMover(downloadTask(richPaths.folder, 'file'), server.url));
      expect(folder.code).toBe('PathNotFound');
      expect(folder.message).toContain(`${richPaths.folder} in snapshot ${first} is a folder`);
      expect(folder.message).toContain('listing');
      // Added after the first backup.
      const missing = errorOf(await runMover(downloadTask('/docs/new', 'listing'), server.url));
      expect(missing.code).toBe('PathNotFound');
      expect(missing.message).toContain('/docs/new');
      expect(server.received).toEqual([]);
      expect(leftInTmp()).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("says the upload failed with S3's status and code, without the URL's signature", async () => {
    const s3Error =
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestId>tx1</RequestId></Error>';
    const server = await uploadServer(403, s3Error);
    try {
      const run = await runMover(downloadTask(richPaths.file, 'file'), server.url);
      const error = errorOf(run);
      expect(error.code).toBe('UploadFailed');
      expect(error.message).toContain('HTTP 403 AccessDenied (Request has expired)');
      expect(error.message).toContain(server.url.split('?')[0]);
      for (const text of [run.raw, run.stderr, JSON.stringify(run.messages)]) {
        expect(text).not.toContain(server.signature);
        expect(text).not.toContain('X-Amz-Signature');
      }
      expect(leftInTmp()).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
