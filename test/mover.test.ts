// `safehold mover` the way a mover Job runs it, against the environment's
// radosgw S3 and restic 0.18: the task and the credentials in the environment,
// progress and the result on stdout, the result in the termination message.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../testenv/command.ts';
import { testEnv, uniqueName } from './support/cluster.ts';
import { runMoverProcess, type MoverRun } from './support/mover-process.ts';

const password = 'correct horse battery staple';
const work = mkdtempSync(join(tmpdir(), 'mover-journey-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Options {
  bucket: string;
  source: string;
  endpoint?: string;
  region?: string;
  password?: string;
  secretKey?: string;
  initialize?: boolean;
  changeDetection?: 'inode' | 'mtime-size';
}

function moverTask(options: Options) {
  const s3 = testEnv().ceph.s3;
  return {
    kind: 'backup',
    repository: {
      url: `s3:${options.endpoint ?? s3.endpoint}/${options.bucket}`,
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.initialize === undefined ? {} : { initialize: options.initialize }),
    },
    sourcePath: options.source,
    host: 'team-a-data',
    tags: ['safehold', 'policy=daily'],
    cacheDir: join(work, 'cache'),
    ...(options.changeDetection === undefined ? {} : { changeDetection: options.changeDetection }),
  };
}

function runMover(options: Options): Promise<MoverRun> {
  return runMoverProcess({
    task: moverTask(options),
    work,
    password: options.password ?? password,
    ...(options.secretKey === undefined ? {} : { secretKey: options.secretKey }),
  });
}

function restic(bucket: string, args: string[]) {
  const env = testEnv();
  return run(env.tools.restic, args, {
    env: {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}`,
      RESTIC_PASSWORD: password,
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      AWS_DEFAULT_REGION: env.ceph.s3.region,
      RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    },
    timeoutMs: 300_000,
  });
}

/** A folder like a small volume: a few files, one of them a few MiB, one nested. */
function volume(name: string): string {
  const source = join(work, name);
  mkdirSync(join(source, 'nested'), { recursive: true });
  writeFileSync(join(source, 'big.bin'), randomBytes(3 * 1024 * 1024));
  writeFileSync(join(source, 'config.yaml'), 'replicas: 3\n');
  writeFileSync(join(source, 'nested', 'note.txt'), 'hello from safehold');
  return source;
}

function summaryOf(run: MoverRun) {
  expect(run.result.type).toBe('summary');
  if (run.result.type !== 'summary') throw new Error(`the mover failed: ${run.raw}`);
  return run.result;
}

function errorOf(run: MoverRun) {
  expect(run.exitCode).toBe(1);
  if (run.result.type !== 'error') throw new Error(`the mover succeeded: ${run.raw}`);
  // What the controller reads and what the log shows agree.
  expect(run.messages.at(-1)).toEqual(run.result);
  return run.result;
}

describe('safehold mover', () => {
  it('creates a new repository on the first backup and counts the files it wrote', async () => {
    const bucket = uniqueName('mover');
    // No region: restic then asks for the bucket's location, and a missing bucket must not stall it.
    const first = await runMover({ bucket, source: volume('first') });
    expect(first.exitCode).toBe(0);
    const summary = summaryOf(first);
    expect(summary).toMatchObject({ filesNew: 3, filesChanged: 0, filesProcessed: 3 });
    expect(summary.bytesProcessed).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    expect(summary.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(first.messages.at(-1)).toEqual(summary);
    expect(first.messages.filter((m) => m.type === 'progress').at(-1)).toMatchObject({ percentDone: 100 });
  });

  it('finds nothing new in unchanged data, records host and tags, and leaves a repository that checks clean', async () => {
    const bucket = uniqueName('mover');
    const source = volume('unchanged');
    const region = testEnv().ceph.s3.region;
    summaryOf(await runMover({ bucket, source, region }));
    const second = summaryOf(await runMover({ bucket, source, region }));
    expect(second).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnmodified: 3, filesProcessed: 3 });

    await restic(bucket, ['check']);
    const snapshots = JSON.parse((await restic(bucket, ['snapshots', '--json'])).stdout) as {
      id: string;
      hostname: string;
      tags: string[];
      paths: string[];
    }[];
    expect(snapshots).toHaveLength(2);
    for (const snapshot of snapshots) {
      expect(snapshot).toMatchObject({ hostname: 'team-a-data', paths: [source] });
      expect(snapshot.tags.toSorted()).toEqual(['policy=daily', 'safehold']);
    }
    expect(snapshots.map((s) => s.id)).toContain(second.snapshotId);
  });

  it('finds nothing new in a snapshot clone of unchanged data, where every inode is new', async () => {
    const bucket = uniqueName('mover');
    const source = volume('clone');
    summaryOf(await runMover({ bucket, source }));
    // What a clone from a CSI snapshot looks like: the same files, times and sizes, new inodes.
    // cp -a keeps nanoseconds in mtime, as a clone does; Node's cpSync rounds them.
    await run('cp', ['-a', source, `${source}.clone`]);
    rmSync(source, { recursive: true });
    renameSync(`${source}.clone`, source);
    const second = summaryOf(await runMover({ bucket, source, changeDetection: 'mtime-size' }));
    expect(second).toMatchObject({ filesNew: 0, filesChanged: 0, filesUnmodified: 3 });
  });

  it('says the S3 keys are wrong, without printing them', async () => {
    const secretKey = `wrong-${randomBytes(8).toString('hex')}`;
    const run = await runMover({ bucket: uniqueName('mover'), source: volume('keys'), secretKey });
    const error = errorOf(run);
    expect(error.code).toBe('WrongCredentials');
    expect(error.message).toContain('spec.s3.secretAccessKey');
    for (const text of [run.raw, run.stderr, JSON.stringify(run.messages)]) expect(text).not.toContain(secretKey);
  });

  it('says the repository password is wrong, without printing it', async () => {
    const bucket = uniqueName('mover');
    const source = volume('password');
    summaryOf(await runMover({ bucket, source }));
    const wrong = `not-${password}`;
    const run = await runMover({ bucket, source, password: wrong });
    const error = errorOf(run);
    expect(error.code).toBe('WrongPassword');
    expect(error.message).toContain('spec.password');
    for (const text of [run.raw, run.stderr, JSON.stringify(run.messages)]) expect(text).not.toContain(wrong);
  });

  it('gives up on an endpoint nothing listens on within seconds, naming it', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const started = Date.now();
    const error = errorOf(await runMover({ bucket: uniqueName('mover'), source: volume('unreachable'), endpoint }));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error.code).toBe('RepositoryUnreachable');
    expect(error.message).toContain(endpoint);
  });

  it('says the source folder is missing', async () => {
    const source = join(work, 'never-mounted');
    const error = errorOf(await runMover({ bucket: uniqueName('mover'), source }));
    expect(error.code).toBe('SourceMissing');
    expect(error.message).toContain(source);
  });

  it('does not create a repository the task says must exist', async () => {
    const error = errorOf(await runMover({ bucket: uniqueName('mover'), source: volume('exists'), initialize: false }));
    expect(error.code).toBe('ResticFailed');
    expect(error.message).toContain('no restic repository');
  });
});

/** A port on loopback that was free a moment ago and has no listener. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
