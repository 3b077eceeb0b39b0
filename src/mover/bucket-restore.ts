// A bucket backup written back to a bucket (the same or another), all of it
// or the keys under a prefix. The snapshot's manifest says what it holds; the
// target's listing says what is there already: an object with the same ETag
// and size is left as it is, the rest are restored by the engine into a work
// folder (only their files, or the whole objects folder when they are many:
// one engine start either way) and PUT with their Content-Type, metadata and
// Content-MD5, 16 at once, each checked against its manifest line
// first. With deleteNewer, objects under the prefix the snapshot lacks are
// deleted, after every write succeeded.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BucketRestoreTask, BucketSource, RestoreSummary } from '../api/index.ts';
import {
  bucketRestorePlan,
  etagMd5,
  manifestFileName,
  manifestReader,
  type Manifest,
  type ManifestObject,
  type TargetObject,
  eachBounded,
} from '../core/index.ts';
import type { BackupSteps } from './backup.ts';
import { bucketFailure } from './bucket-failure.ts';
import type { Failure, Outcome } from './failure.ts';
import { throttledProgress } from './progress-throttle.ts';
import type { BucketClient } from './s3-bucket.ts';

export interface BucketRestoreSteps extends BackupSteps {
  bucket: (source: BucketSource) => BucketClient | Failure;
  tempDir: string;
}

/** Bodies written at once. */
const uploadConcurrency = 16;
/** Up to this many files are restored by name; more, and the engine restores the whole objects folder. */
const filesByName = 1000;

export async function runBucketRestore(
  task: BucketRestoreTask,
  steps: BucketRestoreSteps,
): Promise<RestoreSummary | Failure> {
  const started = steps.nowMs();
  const client = steps.bucket(task.bucket);
  if ('type' in client) return client;
  const notCreated = "a restore never creates one: check the URL of the backup's repository";
  const notReady = await steps.repository.prepare({ create: false, notCreated });
  if (notReady !== undefined) return notReady;
  const found = await steps.repository.findSnapshot(task.snapshotId, { named: true });
  if (!found.ok) return found.error;
  const snapshot = found.value;
  if (snapshot === undefined)
    return { type: 'error', code: 'SnapshotNotFound', message: `there is no snapshot ${task.snapshotId}` };
  const [stage, ...more] = snapshot.paths;
  if (stage === undefined || more.length > 0)
    return { type: 'error', code: 'InvalidTask', message: `snapshot ${task.snapshotId} is not a bucket backup` };
  const read = await readManifest(snapshot.id, stage, steps);
  if (!read.ok) return read.error;
  const { header, objects } = read.value;
  if (header.bucket !== task.sourceBucket) {
    return {
      type: 'error',
      code: 'InvalidTask',
      message: `snapshot ${task.snapshotId} is of bucket ${header.bucket}, not ${task.sourceBucket}`,
    };
  }

  const prefix = task.prefix ?? '';
  const target = new Map<string, TargetObject>();
  try {
    for await (const page of client.pages(prefix)) for (const object of page) target.set(object.key, object);
  } catch (error) {
    return bucketFailure(error, 'target');
  }
  const plan = bucketRestorePlan(objects, prefix, target, task.deleteNewer);
  steps.log(
    `${task.bucket.name}: ${plan.write.length} objects to write, ${plan.unchanged.length} already alike, ${plan.remove.length} to delete`,
  );

  const written = await writeObjects(plan.write, snapshot.id, stage, client, steps);
  if (written !== undefined) return written;
  try {
    await eachBounded(plan.remove, uploadConcurrency, (key) => client.remove(key));
  } catch (error) {
    return bucketFailure(error, 'target');
  }
  const bytesOf = (list: readonly ManifestObject[]) => list.reduce((sum, object) => sum + object.size, 0);
  const selected = plan.write.length + plan.unchanged.length;
  return {
    type: 'restored',
    snapshotId: snapshot.id,
    filesRestored: plan.write.length,
    filesSkipped: plan.unchanged.length,
    totalFiles: selected,
    bytesRestored: bytesOf(plan.write),
    bytesSkipped: bytesOf(plan.unchanged),
    totalBytes: bytesOf(plan.write) + bytesOf(plan.unchanged),
    filesDeleted: plan.remove.length,
    durationSeconds: (steps.nowMs() - started) / 1000,
    bucket: { written: plan.write.length, unchanged: plan.unchanged.length, deleted: plan.remove.length },
  };
}

async function readManifest(snapshotId: string, stage: string, steps: BucketRestoreSteps): Promise<Outcome<Manifest>> {
  const read = await steps.repository.dumpStream(snapshotId, `${stage}/${manifestFileName}`, async (bytes) => {
    const reader = manifestReader();
    for await (const line of createInterface({ input: bytes, crlfDelay: Infinity })) reader.line(line);
    return reader.result();
  });
  if (!read.ok) {
    const message = `snapshot ${snapshotId.slice(0, 8)} has no ${manifestFileName} that can be read (${read.error.message}): it is not a bucket backup, or it is damaged`;
    return {
      ok: false,
      error: { ...read.error, code: read.error.code === 'Unverified' ? 'Unverified' : 'PathNotFound', message },
    };
  }
  if (!read.value.ok) {
    const message = `snapshot ${snapshotId.slice(0, 8)} has a ${manifestFileName} that does not add up (${read.value.error}): nothing was written`;
    return { ok: false, error: { type: 'error', code: 'Unverified', message } };
  }
  return { ok: true, value: read.value.manifest };
}

/** The objects' files restored by the engine into a work folder, each checked and PUT; undefined when all were. */
async function writeObjects(
  write: readonly ManifestObject[],
  snapshotId: string,
  stage: string,
  client: BucketClient,
  steps: BucketRestoreSteps,
): Promise<Failure | undefined> {
  if (write.length === 0) return undefined;
  const dir = await mkdtemp(join(steps.tempDir, 'bucket-restore-'));
  try {
    const restored = await steps.repository.restore(
      {
        source: { snapshotId, snapshotPath: stage },
        targetPath: dir,
        paths: write.length <= filesByName ? write.map((object) => `/${object.file}`) : ['/objects'],
        deleteExtra: false,
        verify: false,
      },
      throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress),
    );
    if (!restored.ok) return restored.error;
    await eachBounded(write, uploadConcurrency, async (object) => {
      const path = join(dir, object.file);
      const size = (await stat(path).catch(() => undefined))?.size;
      const md5 = size === undefined ? undefined : await md5Of(path);
      const expected = etagMd5(object.etag);
      if (size !== object.size || (expected !== undefined && md5 !== expected)) {
        throw new NotAsBackedUp(
          `"${object.key}" of snapshot ${snapshotId.slice(0, 8)} was restored ${size === undefined ? 'without its file' : `with ${size} bytes and MD5 ${md5}`}, its manifest says ${object.size} bytes and ETag ${object.etag}`,
        );
      }
      await client.upload(object.key, path, {
        size,
        md5: md5 ?? '',
        contentType: object.contentType,
        metadata: object.metadata,
        headers: object.headers ?? {},
      });
    });
    return undefined;
  } catch (error) {
    if (error instanceof NotAsBackedUp) return { type: 'error', code: 'Unverified', message: error.message };
    return bucketFailure(error, 'target');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

class NotAsBackedUp extends Error {}

async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
