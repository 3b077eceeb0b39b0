// An object-storage bucket backed up by the real mover and real restic from
// radosgw, incrementally: the first run reads every object, an unchanged run
// reads none (and restic stores no changed file), a run after one object was
// rewritten at the same size, one deleted and one added reads exactly two. A
// restore of the first snapshot into the same bucket with deleteNewer brings
// back every object's bytes, Content-Type and metadata and removes the one
// added; a prefix restores into another bucket alone. Keys that are hard to
// store as files ("//", ".", "..", a trailing "/", a key that is also a
// folder, long and non-ASCII segments) come back as they were.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackupSummary, MoverResult, RestoreSummary } from '../src/api/index.ts';
import {
  bucketContents,
  createBucket,
  deleteObject,
  getObject,
  listKeys,
  putObject,
  type StoredObject,
} from './support/bucket-objects.ts';
import { testEnv, uniqueName } from './support/cluster.ts';
import { runMoverProcess } from './support/mover-process.ts';

const resticPassword = 'bucket-test';

interface Seed {
  key: string;
  body: string | Buffer;
  contentType?: string;
  metadata?: Record<string, string>;
}

const seeds: Seed[] = [
  { key: 'index.html', body: '<h1>hello</h1>', contentType: 'text/html', metadata: { owner: 'web', rev: '7' } },
  { key: 'docs/a.txt', body: 'first version of a', contentType: 'text/plain' },
  { key: 'docs/b.txt', body: 'b', contentType: 'text/plain', metadata: { reviewed: 'yes' } },
  { key: 'docs/sub/c.json', body: '{"c":1}', contentType: 'application/json' },
  { key: 'docs//double', body: 'two slashes' },
  { key: 'docs/trailing/', body: '' },
  { key: 'dots/./x', body: 'single dot' },
  { key: 'dots/../y', body: 'double dot' },
  { key: 'clash', body: 'a key that is also a folder' },
  { key: 'clash/inner', body: 'under the clash' },
  { key: 'space and+plus %41.txt', body: 'awkward characters' },
  { key: 'ünï/文件.txt', body: 'non-ASCII' },
  { key: `long/${'l'.repeat(240)}`, body: 'a segment longer than a file name may be' },
  { key: 'empty', body: '' },
  { key: 'big.bin', body: randomBytes(3 * 1024 * 1024), contentType: 'application/octet-stream' },
];

const md5 = (body: Buffer) => createHash('md5').update(body).digest('hex');
const shape = (contents: Map<string, StoredObject>) =>
  Object.fromEntries(
    [...contents].map(([key, object]) => [
      key,
      { md5: md5(object.body), contentType: object.contentType, metadata: object.metadata },
    ]),
  );

function summaryOf(result: MoverResult): BackupSummary {
  if (result.type !== 'summary') throw new Error(`the backup failed: ${JSON.stringify(result)}`);
  return result;
}
function restoredOf(result: MoverResult): RestoreSummary {
  if (result.type !== 'restored') throw new Error(`the restore failed: ${JSON.stringify(result)}`);
  return result;
}

describe('a bucket backed up incrementally and restored', () => {
  const work = mkdtempSync(join(tmpdir(), 'bucket-backup-'));
  const repositoryBucket = uniqueName('bucket-repo');
  const source = uniqueName('bucket-src');
  const other = uniqueName('bucket-dst');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const s3 = () => testEnv().ceph.s3;
  const bucketOf = (name: string) => ({ endpoint: s3().endpoint, name, region: s3().region });
  const mover = (task: object, keys = { id: s3().accessKey, secret: s3().secretKey }) =>
    runMoverProcess({
      task: {
        repository: { url: `s3:${s3().endpoint}/${repositoryBucket}`, initialize: true },
        cacheDir: join(work, 'cache'),
        ...task,
      },
      work,
      password: resticPassword,
      // The same TMPDIR each run: the staged folder's path is how restic finds the previous snapshot.
      env: { TMPDIR: work, BUCKET_ACCESS_KEY_ID: keys.id, BUCKET_SECRET_ACCESS_KEY: keys.secret },
    });
  const backup = async () =>
    summaryOf(
      (await mover({ kind: 'bucket-backup', bucket: bucketOf(source), host: `rgw-${source}`, tags: ['bucket'] }))
        .result,
    );
  const restore = async (snapshotId: string, target: string, options: { prefix?: string; deleteNewer?: boolean }) =>
    restoredOf(
      (await mover({ kind: 'bucket-restore', snapshotId, sourceBucket: source, bucket: bucketOf(target), ...options }))
        .result,
    );

  let first: BackupSummary;
  let firstState: ReturnType<typeof shape>;

  it('reads every object on the first run', async () => {
    await createBucket(source);
    for (const seed of seeds) await putObject(source, seed.key, seed.body, seed);
    firstState = shape(await bucketContents(source));
    expect(Object.keys(firstState)).toHaveLength(seeds.length);
    expect(firstState['index.html']).toMatchObject({ contentType: 'text/html', metadata: { owner: 'web', rev: '7' } });

    first = await backup();
    const bytes = seeds.reduce((sum, seed) => sum + Buffer.byteLength(seed.body), 0);
    expect(first.bucket).toEqual({ objects: seeds.length, bytes, read: seeds.length, readBytes: bytes });
  });

  it('reads no object body when nothing changed, and restic stores no changed file', async () => {
    const again = await backup();
    expect(again.bucket).toMatchObject({ objects: seeds.length, read: 0, readBytes: 0 });
    expect(again).toMatchObject({ filesNew: 0, filesChanged: 0 });
    expect(again.filesUnmodified).toBe(seeds.length + 1); // and the manifest
  });

  let third: BackupSummary;
  it('reads only the object rewritten at the same size and the one added', async () => {
    await putObject(source, 'docs/a.txt', 'other version of a', { contentType: 'text/plain' });
    await deleteObject(source, 'docs/b.txt');
    await putObject(source, 'docs/new.txt', 'added later', { contentType: 'text/markdown' });
    third = await backup();
    expect(third.bucket).toMatchObject({ objects: seeds.length, read: 2 });
    expect(third).toMatchObject({ filesNew: 1, filesChanged: 2 }); // a.txt and the manifest
  });

  it('restores a later snapshot into another bucket with the object rewritten at the same size', async () => {
    await createBucket(other);
    const restored = await restore(third.snapshotId, other, {});
    expect(restored.bucket).toEqual({ written: seeds.length, unchanged: 0, deleted: 0 });
    const contents = await bucketContents(other);
    expect(contents.get('docs/a.txt')?.body.toString()).toBe('other version of a');
    expect(contents.get('docs/new.txt')?.contentType).toBe('text/markdown');
    expect(contents.has('docs/b.txt')).toBe(false);
  });

  it('brings the bucket back to the first snapshot with deleteNewer: bytes, Content-Type and metadata', async () => {
    const restored = await restore(first.snapshotId, source, { deleteNewer: true });
    expect(restored.bucket).toEqual({ written: 2, unchanged: seeds.length - 2, deleted: 1 });
    expect(shape(await bucketContents(source))).toEqual(firstState);
    // Alike now: a second restore writes nothing.
    const again = await restore(first.snapshotId, source, { deleteNewer: true });
    expect(again.bucket).toEqual({ written: 0, unchanged: seeds.length, deleted: 0 });
  });

  it('restores only the keys under a prefix into another bucket', async () => {
    const target = uniqueName('bucket-prefix');
    await createBucket(target);
    const restored = await restore(first.snapshotId, target, { prefix: 'docs/' });
    const docs = Object.fromEntries(Object.entries(firstState).filter(([key]) => key.startsWith('docs/')));
    expect(restored.bucket).toEqual({ written: Object.keys(docs).length, unchanged: 0, deleted: 0 });
    expect(shape(await bucketContents(target))).toEqual(docs);
  });

  it('says which bucket is missing, and which keys S3 refused, and stores nothing', async () => {
    const missing = await mover({
      kind: 'bucket-backup',
      bucket: bucketOf(uniqueName('nobucket')),
      host: 'x',
      tags: [],
    });
    expect(missing.result).toMatchObject({ type: 'error', code: 'SourceMissing' });
    expect(missing.result.type === 'error' && missing.result.message).toMatch(/bucket nobucket-.*NoSuchBucket/);

    const refused = await mover(
      { kind: 'bucket-backup', bucket: bucketOf(source), host: `rgw-${source}`, tags: [] },
      { id: s3().accessKey, secret: 'not-the-secret' },
    );
    expect(refused.result).toMatchObject({ type: 'error', code: 'WrongCredentials' });
    expect(refused.result.type === 'error' && refused.result.message).toMatch(
      new RegExp(`bucket ${source}.*SignatureDoesNotMatch`),
    );
    expect(refused.raw).not.toContain('not-the-secret');
  });
});

describe('a bucket of more than one listing page', () => {
  const work = mkdtempSync(join(tmpdir(), 'bucket-pages-'));
  const repositoryBucket = uniqueName('bucket-repo');
  const source = uniqueName('bucket-pages');
  const target = uniqueName('bucket-copy');
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const count = 1234;

  const s3 = () => testEnv().ceph.s3;
  const mover = (task: object) =>
    runMoverProcess({
      task: {
        repository: { url: `s3:${s3().endpoint}/${repositoryBucket}`, initialize: true },
        cacheDir: join(work, 'cache'),
        ...task,
      },
      work,
      password: resticPassword,
      env: { TMPDIR: work, BUCKET_ACCESS_KEY_ID: s3().accessKey, BUCKET_SECRET_ACCESS_KEY: s3().secretKey },
    });
  const bucketOf = (name: string) => ({ endpoint: s3().endpoint, name, region: s3().region });
  const backup = async () =>
    summaryOf((await mover({ kind: 'bucket-backup', bucket: bucketOf(source), host: source, tags: [] })).result);

  it('backs up every page, reads none again, and restores them all (more files than are restored by name)', async () => {
    await createBucket(source);
    const keys = Array.from({ length: count }, (_, i) => `p/${i % 7}/${i}`);
    for (let i = 0; i < keys.length; i += 32)
      await Promise.all(keys.slice(i, i + 32).map((key) => putObject(source, key, `object ${key}`)));

    expect((await backup()).bucket).toMatchObject({ objects: count, read: count });
    expect((await backup()).bucket).toMatchObject({ objects: count, read: 0 });
    const snapshotId = (await backup()).snapshotId;

    await createBucket(target);
    const restored = restoredOf(
      (await mover({ kind: 'bucket-restore', snapshotId, sourceBucket: source, bucket: bucketOf(target) })).result,
    );
    expect(restored.bucket).toEqual({ written: count, unchanged: 0, deleted: 0 });
    const copied = await listKeys(target);
    expect(copied).toEqual([...keys].sort());
    expect((await getObject(target, keys[999] ?? ''))?.body.toString()).toBe(`object ${keys[999] ?? ''}`);
  });
});
