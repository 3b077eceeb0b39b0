// What a bucket backup costs: 10,000 small objects (0.5 to 4 KiB, under 100
// folders) in a radosgw bucket, backed up by the mover from the build into a
// fresh repository on the same radosgw: the first run (every body read), an
// unchanged run (no body read: the listing, the previous snapshot's manifest
// and file listing, placeholders, restic), and a run after 1% of the objects
// were rewritten. As a reference, `rclone sync` of the same bucket to a local
// folder (a plain mirror: no encryption, no history), first and unchanged,
// when rclone is installed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupSummary, MoverResult } from '../src/api/index.ts';
import { presignS3 } from '../src/core/index.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { timedMover } from './mover-run.ts';

export interface BucketRun {
  seconds: number;
  /** Bodies downloaded, and their bytes. */
  read: number;
  readBytes: number;
  filesNew: number;
  filesChanged: number;
  bytesAdded: number;
}

export interface BucketBenchResult {
  objects: number;
  objectBytes: number;
  /** Writing the objects (32 PUTs at once). */
  fillSeconds: number;
  first: BucketRun;
  unchanged: BucketRun;
  /** After `changed` objects were rewritten. */
  changed: BucketRun & { objectsRewritten: number };
  /** rclone sync to a local folder, first and unchanged (s); absent without rclone. */
  rclone?: { version: string; firstSeconds: number; unchangedSeconds: number };
  method: string;
}

const objectCount = 10_000;
const rewritten = 100;

export async function benchBucket(env: TestEnvironment, log: (line: string) => void): Promise<BucketBenchResult> {
  const s3 = env.ceph.s3;
  const stamp = Date.now();
  const bucket = `bench-bucket-${stamp}`;
  const scratch = join(env.dir, 'bench-bucket');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const sign = (method: 'PUT' | 'GET', key: string, query?: Record<string, string>) =>
    presignS3({
      method,
      key,
      bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: s3.accessKey,
      secretAccessKey: s3.secretKey,
      expiresSeconds: 3600,
      now: new Date(),
      ...(query === undefined ? {} : { query }),
    });
  const put = async (url: string, body?: Buffer) => {
    const response = await fetch(url, { method: 'PUT', ...(body === undefined ? {} : { body }) });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`PUT ${new URL(url).pathname}: HTTP ${response.status}`);
  };
  const body = (i: number, round: number) =>
    Buffer.from(`${JSON.stringify({ i, round })}\n`.padEnd(512 + ((i * 37) % 3584), '.'));
  const keyOf = (i: number) => `data/${String(i % 100).padStart(2, '0')}/object-${i}.json`;

  await put(sign('PUT', '', {}));
  let objectBytes = 0;
  const fillStart = performance.now();
  await inParallel(objectCount, 32, async (i) => {
    const content = body(i, 0);
    objectBytes += content.length;
    await put(sign('PUT', keyOf(i)), content);
  });
  const fillSeconds = (performance.now() - fillStart) / 1000;
  log(
    `bucket ${bucket}: ${objectCount} objects, ${(objectBytes / 2 ** 20).toFixed(1)} MiB, written in ${fillSeconds.toFixed(1)} s`,
  );

  const credentials = {
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    BUCKET_ACCESS_KEY_ID: s3.accessKey,
    BUCKET_SECRET_ACCESS_KEY: s3.secretKey,
    RESTIC_PASSWORD: 'bench-password',
  };
  const task = {
    kind: 'bucket-backup',
    repository: { url: `s3:${s3.endpoint}/bench-bucket-repo-${stamp}`, initialize: true },
    bucket: { endpoint: s3.endpoint, name: bucket, region: s3.region },
    host: `bench-${bucket}`,
    tags: ['bench'],
    cacheDir: join(scratch, 'cache'),
  };
  // The same TMPDIR each run: the staged folder's path is how the previous snapshot is found.
  const backup = async (what: string): Promise<BucketRun> => {
    const { seconds, result } = await timedMover(env, task, { credentials, scratch, extraEnv: { TMPDIR: scratch } });
    const summary = summaryOf(result);
    const run = {
      seconds,
      read: summary.bucket?.read ?? Number.NaN,
      readBytes: summary.bucket?.readBytes ?? Number.NaN,
      filesNew: summary.filesNew,
      filesChanged: summary.filesChanged,
      bytesAdded: summary.bytesAdded,
    };
    log(
      `${what}: ${seconds.toFixed(1)} s, ${run.read} bodies read, ${run.filesNew} new and ${run.filesChanged} changed files`,
    );
    return run;
  };
  const first = await backup('first backup');
  const unchanged = await backup('unchanged backup');
  await inParallel(rewritten, 16, (n) => put(sign('PUT', keyOf(n * 97)), body(n * 97, 1)));
  const changed = {
    ...(await backup(`backup after ${rewritten} objects were rewritten`)),
    objectsRewritten: rewritten,
  };

  const rclone = rcloneSync(env, bucket, join(scratch, 'mirror'), log);
  rmSync(scratch, { recursive: true, force: true });
  return {
    objects: objectCount,
    objectBytes,
    fillSeconds,
    first,
    unchanged,
    changed,
    ...(rclone === undefined ? {} : { rclone }),
    method:
      `${objectCount} objects of 0.5 to 4 KiB under 100 folders in one radosgw bucket; the mover from the build (bucket-backup, ` +
      `32 downloads at once) into a fresh restic repository on the same radosgw: first run, unchanged run, run after ` +
      `${rewritten} objects were rewritten; rclone sync --use-server-modtime (8 transfers, 8 checkers) to a local folder as a reference`,
  };
}

function summaryOf(result: MoverResult): BackupSummary {
  if (result.type !== 'summary') throw new Error(`the bucket backup failed: ${JSON.stringify(result)}`);
  return result;
}

async function inParallel(count: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function rcloneSync(
  env: TestEnvironment,
  bucket: string,
  mirror: string,
  log: (line: string) => void,
): BucketBenchResult['rclone'] {
  const version = spawnSync('rclone', ['version'], { encoding: 'utf8' });
  if (version.status !== 0) {
    log('rclone is not installed: no reference');
    return undefined;
  }
  const s3 = env.ceph.s3;
  // Only what rclone needs: this machine's AWS_CA_BUNDLE would make it refuse its own HTTP client.
  const rcloneEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RCLONE_CONFIG_RGW_TYPE: 's3',
    RCLONE_CONFIG_RGW_PROVIDER: 'Ceph',
    RCLONE_CONFIG_RGW_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID: s3.accessKey,
    RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: s3.secretKey,
    RCLONE_CONFIG_RGW_REGION: s3.region,
  };
  const sync = () => {
    const started = performance.now();
    const done = spawnSync(
      'rclone',
      ['sync', `rgw:${bucket}`, mirror, '--use-server-modtime', '--transfers', '8', '--checkers', '8'],
      { env: rcloneEnv, encoding: 'utf8' },
    );
    if (done.status !== 0) throw new Error(`rclone sync: ${done.stderr}`);
    return (performance.now() - started) / 1000;
  };
  const firstSeconds = sync();
  const unchangedSeconds = sync();
  log(`rclone sync: first ${firstSeconds.toFixed(1)} s, unchanged ${unchangedSeconds.toFixed(1)} s`);
  return { version: version.stdout.split('\n')[0] ?? '', firstSeconds, unchangedSeconds };
}
