// An object-storage bucket into the repository, reading only new and changed
// objects. The bucket is staged in a work folder at a fixed path per bucket
// (<tmp>/safehold-bucket/<bucket>), one file per object (core/bucket-keys.ts)
// and manifest.jsonl beside them, and the engine backs the folder up with
// mtime-size change detection against an explicit parent: the latest snapshot
// of the same host and path, whose manifest and file listing decide what is
// unchanged (core/bucket-changes.ts). Unchanged objects are staged as empty
// placeholders of their size and mtime, which the engine takes from the parent
// without reading them; every other body is downloaded (32 at once: radosgw
// answers a small GET in tens of milliseconds, and 8 at once took twice as
// long for 10,000 objects), checked against its Content-Length and MD5, and
// given its mtime. Any doubt (no parent, a manifest or listing that cannot be
// read) reads everything.
// The snapshot is made only once every body is down and checked; the staged
// folder is removed whatever happens.
import { createHash } from 'node:crypto';
import { mkdir, open, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import type { BucketBackupTask, BucketSource, BackupSummary } from '../api/index.ts';
import {
  decideObject,
  etagMd5,
  manifestFileName,
  manifestLines,
  manifestReader,
  manifestTime,
  objectFile,
  rfc3339Nanos,
  type ListedObject,
  type ManifestObject,
  type ObjectTime,
  type ParentFile,
  eachBounded,
} from '../core/index.ts';
import type { BackupSteps } from './backup.ts';
import { bucketFailure } from './bucket-failure.ts';
import { compressionFor } from './compression-choice.ts';
import type { Failure } from './failure.ts';
import { throttledProgress } from './progress-throttle.ts';
import type { BucketClient } from './s3-bucket.ts';

export interface BucketSteps extends BackupSteps {
  /** The bucket reached with the keys of the run's Secret, or why it cannot be. */
  bucket: (source: BucketSource) => BucketClient | Failure;
  tempDir: string;
}

/** Bodies downloaded at once. */
export const downloadConcurrency = 32;

/** The staged folder of a bucket: the same every run, as the engine finds a parent by host and path. */
export function bucketStage(tempDir: string, bucket: string): string {
  return join(tempDir, 'safehold-bucket', bucket);
}

/** What the previous snapshot holds: its manifest's lines by key, and its files' sizes and mtimes by path. */
interface Parent {
  snapshotId: string;
  objects: Map<string, ManifestObject>;
  files: Map<string, ParentFile>;
  /** Its manifest's SHA-256. */
  manifestSha256: string;
}

export async function runBucketBackup(task: BucketBackupTask, steps: BucketSteps): Promise<BackupSummary | Failure> {
  const client = steps.bucket(task.bucket);
  if ('type' in client) return client;
  // The first command (the latest snapshot's lookup) creates the repository or clears stale locks when it must.
  const notReady = await steps.repository.prepare({ create: task.repository.initialize, onFirstUse: true });
  if (notReady !== undefined) return notReady;
  const stage = bucketStage(steps.tempDir, task.bucket.name);
  const prefix = task.prefix ?? '';
  const parent = await previousSnapshot(task, stage, steps);
  if (parent !== undefined && 'type' in parent) return parent;

  await rm(stage, { recursive: true, force: true });
  try {
    await mkdir(join(stage, 'objects'), { recursive: true });
    const staged = await stageObjects(client, prefix, stage, parent, steps);
    if ('type' in staged) return staged;
    const { objects, reused, read, readBytes } = staged;
    const manifest = [...manifestLines({ bucket: client.name, prefix }, objects)].join('');
    const sha256 = createHash('sha256').update(manifest, 'utf8').digest('hex');
    const previous = parent && { sha256: parent.manifestSha256, mtimeNs: parent.files.get(manifestFileName)?.mtimeNs };
    const time = manifestTime(sha256, objects, previous);
    await writeFile(join(stage, manifestFileName), manifest);
    await utimes(join(stage, manifestFileName), time.seconds, time.seconds);
    steps.log(
      `${task.bucket.name}: ${objects.length} objects staged, ${read} read (${readBytes} bytes), ${reused} taken from ${parent === undefined ? 'no previous snapshot' : `snapshot ${parent.snapshotId.slice(0, 8)}`}`,
    );

    const saved = await steps.repository.backupFolder(
      {
        path: stage,
        host: task.host,
        tags: task.tags,
        changeDetection: 'mtime-size',
        parent: parent === undefined ? { kind: 'none' } : { kind: 'snapshot', id: parent.snapshotId },
        compression: compressionFor(task.compression, undefined),
        verifyBeforeUpload: true,
      },
      throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress),
    );
    if (!saved.ok) return saved.error;
    const summary = saved.value;
    // A placeholder the engine read would be stored as zeros: it must have taken each from the parent.
    if (summary.filesUnmodified < reused) {
      await steps.repository.forget([summary.snapshotId]);
      return {
        type: 'error',
        code: 'EngineFailed',
        message: `snapshot ${summary.snapshotId.slice(0, 8)} of bucket ${task.bucket.name} was forgotten: the engine took ${summary.filesUnmodified} files from the previous snapshot where ${reused} were expected`,
      };
    }
    const bytes = objects.reduce((sum, object) => sum + object.size, 0);
    return { ...summary, bucket: { objects: objects.length, bytes, read, readBytes } };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** The latest snapshot of this bucket's host and path, when its manifest and files can be read whole. */
async function previousSnapshot(
  task: BucketBackupTask,
  stage: string,
  steps: BucketSteps,
): Promise<Parent | Failure | undefined> {
  const latest = await steps.repository.latestSnapshot({ host: task.host, path: stage });
  if (!latest.ok) return latest.error;
  if (latest.value === undefined) {
    steps.log(`no earlier snapshot of ${task.bucket.name} (host ${task.host}): every object is read`);
    return undefined;
  }
  const snapshotId = latest.value.id;
  const doubt = (why: string) => {
    steps.warn(`every object of ${task.bucket.name} is read: snapshot ${snapshotId.slice(0, 8)} ${why}`);
    return undefined;
  };
  // Manifest and file listing side by side: two engine starts at once.
  const reading = steps.repository.dumpStream(snapshotId, `${stage}/${manifestFileName}`, async (bytes) => {
    const reader = manifestReader();
    const hash = createHash('sha256');
    const hashed = bytes.pipe(
      new Transform({
        transform(chunk: Buffer, _, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      }),
    );
    for await (const line of createInterface({ input: hashed, crlfDelay: Infinity })) reader.line(line);
    return { manifest: reader.result(), sha256: hash.digest('hex') };
  });
  const listing = steps.repository.ls({ snapshotId, snapshotPath: stage }, ['/objects', `/${manifestFileName}`], {
    recursive: true,
    keep: (entry) => entry.type === 'file',
  });
  const [read, listed] = await Promise.all([reading, listing]);
  if (!read.ok) return doubt(`has no manifest that can be read (${read.error.message})`);
  if (!read.value.manifest.ok) return doubt(`has a manifest that does not add up (${read.value.manifest.error})`);
  const { header, objects } = read.value.manifest.manifest;
  if (header.bucket !== task.bucket.name || header.prefix !== (task.prefix ?? ''))
    return doubt(`is of bucket ${header.bucket} under "${header.prefix}"`);

  if (!listed.ok) return doubt(`cannot be listed (${listed.error.message})`);
  const files = new Map<string, ParentFile>();
  for (const entry of listed.value.entries) {
    const mtimeNs = entry.mtime === undefined ? undefined : rfc3339Nanos(entry.mtime);
    if (!entry.path.startsWith(`${stage}/`) || entry.size === undefined || mtimeNs === undefined) continue;
    files.set(entry.path.slice(stage.length + 1), { size: entry.size, mtimeNs });
  }
  const byKey = new Map(objects.map((object) => [object.key, object]));
  steps.log(`snapshot ${snapshotId.slice(0, 8)} holds ${objects.length} objects: those unchanged are taken from it`);
  return { snapshotId, objects: byKey, files, manifestSha256: read.value.sha256 };
}

interface Staged {
  objects: ManifestObject[];
  reused: number;
  read: number;
  readBytes: number;
}

/** Every object under prefix as a file in stage: placeholders for what the parent holds, bodies for the rest. */
async function stageObjects(
  client: BucketClient,
  prefix: string,
  stage: string,
  parent: Parent | undefined,
  steps: BucketSteps,
): Promise<Staged | Failure> {
  const objects: (ManifestObject | undefined)[] = [];
  const folders = new Set<string>();
  const counts = { reused: 0, read: 0, readBytes: 0 };
  const place = async (file: string) => {
    const path = join(stage, file);
    const folder = dirname(path);
    if (!folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      folders.add(folder);
    }
    return path;
  };
  try {
    for await (const page of client.pages(prefix)) {
      const start = objects.length;
      objects.length += page.length;
      await eachBounded(page.entries(), downloadConcurrency, async ([index, listed]) => {
        const file = objectFile(listed.key);
        const decision = decideObject(listed, file, parent?.objects.get(listed.key), parent?.files.get(file));
        if (decision.kind === 'invalid')
          throw new BodyMismatch(`"${listed.key}" in bucket ${client.name}: ${decision.why}`);
        const path = await place(file);
        if (decision.kind === 'reuse' && (await placeholder(path, listed.size, decision.time))) {
          counts.reused++;
          objects[start + index] = decision.previous;
          return;
        }
        const object = await download(client, listed, file, path, parent?.files.get(file), decision.time);
        if (object === undefined) {
          steps.warn(
            `"${listed.key}" in bucket ${client.name} was deleted while it was read: it is not in the snapshot`,
          );
          return;
        }
        counts.read++;
        counts.readBytes += object.size;
        objects[start + index] = object;
      });
    }
  } catch (error) {
    if (error instanceof BodyMismatch) return { type: 'error', code: 'DumpFailed', message: error.message };
    return bucketFailure(error, 'source');
  }
  // Keys deleted between listing and reading leave holes.
  return { objects: objects.filter((object) => object !== undefined), ...counts };
}

/** An empty file of the size and mtime; false when the file system did not keep the mtime exactly (then it is read). */
async function placeholder(path: string, size: number, time: ObjectTime): Promise<boolean> {
  // Through the handle: creating the file is what costs, and the thread pool creates several at once.
  const handle = await open(path, 'w');
  try {
    await handle.truncate(size);
    await handle.utimes(time.seconds, time.seconds);
    return (await handle.stat({ bigint: true })).mtimeNs === time.ns;
  } finally {
    await handle.close();
  }
}

class BodyMismatch extends Error {}

/** The object's body, checked, with its mtime; its manifest line as downloaded (it may have changed since the listing). */
async function download(
  client: BucketClient,
  listed: ListedObject,
  file: string,
  path: string,
  parentFile: ParentFile | undefined,
  listedTime: ObjectTime,
): Promise<ManifestObject | undefined> {
  const got = await client.download(listed.key, path);
  if (got === undefined) return undefined;
  const where = `"${listed.key}" in bucket ${client.name}`;
  if (got.bytes !== got.contentLength)
    throw new BodyMismatch(`${where}: ${got.bytes} bytes arrived of the ${got.contentLength} S3 announced`);
  const md5 = etagMd5(got.etag);
  if (md5 !== undefined && md5 !== got.md5)
    throw new BodyMismatch(`${where}: the body arrived with MD5 ${got.md5}, its ETag says ${md5}`);
  const asListed = got.etag === listed.etag;
  if (asListed && got.bytes !== listed.size)
    throw new BodyMismatch(`${where}: ${got.bytes} bytes arrived, the listing says ${listed.size} for the same ETag`);
  const version = asListed ? listed : { ...listed, size: got.bytes, etag: got.etag, lastModified: got.lastModified };
  // A version other than the listing's gets its own mtime (and never one the parent's file has).
  const decided = asListed ? undefined : decideObject(version, file, undefined, parentFile);
  const time = decided === undefined ? listedTime : decided.kind === 'read' ? decided.time : undefined;
  if (time === undefined) throw new BodyMismatch(`${where}: S3 answered no Last-Modified`);
  await utimes(path, time.seconds, time.seconds);
  return {
    key: listed.key,
    file,
    size: got.bytes,
    etag: got.etag,
    lastModified: version.lastModified,
    contentType: got.contentType,
    metadata: got.metadata,
    ...(Object.keys(got.headers).length === 0 ? {} : { headers: got.headers }),
  };
}
