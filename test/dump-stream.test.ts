// An application dump's last stretch, with the real mover and real restic to
// radosgw: the operator's frames on the mover's stdin, passed through a FIFO
// to `safehold dump-stream`, which restic runs. A complete dump is stored
// byte for byte as one file; a stream cut short, a dump command that failed
// or wrote nothing leaves no snapshot at all, and the mover says why (ADR 0026).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataFrames, endFrame } from '../src/api/index.ts';
import { run } from '../testenv/command.ts';
import { testEnv, uniqueName } from './support/cluster.ts';
import { runMoverProcess } from './support/mover-process.ts';

const password = 'dump-test';

describe('an application dump into a repository', () => {
  const work = mkdtempSync(join(tmpdir(), 'dump-stream-'));
  const bucket = uniqueName('dumps');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const dump = (stream: Buffer) =>
    runMoverProcess({
      task: {
        kind: 'dump-backup',
        repository: { url: `s3:${testEnv().ceph.s3.endpoint}/${bucket}`, initialize: true },
        fileName: 'all.sql',
        host: 'team-a-postgres',
        tags: ['dump=postgres'],
        cacheDir: join(work, 'cache'),
      },
      work,
      password,
      stdin: stream,
    });

  const resticEnv = () => {
    const env = testEnv();
    return {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}`,
      RESTIC_PASSWORD: password,
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    };
  };
  const restic = (args: string[]) => run(testEnv().tools.restic, args, { env: resticEnv() });
  /** The SHA-256 of the newest dump as restic gives it back. */
  const storedDigest = async () =>
    (
      await run('sh', ['-c', '"$0" dump latest all.sql | sha256sum', testEnv().tools.restic], { env: resticEnv() })
    ).stdout.split(' ')[0];
  const snapshots = async () => (JSON.parse((await restic(['snapshots', '--json'])).stdout) as unknown[]).length;

  it('stores a complete dump as one file, byte for byte, in a repository it creates', async () => {
    const parts = [randomBytes(300_000), Buffer.from('-- end of dump\n'), randomBytes(70_000)];
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    const mover = await dump(
      Buffer.concat([...parts.flatMap((p) => dataFrames(p)), endFrame({ exitCode: 0, bytes, message: '' })]),
    );
    expect(mover.exitCode, mover.stderr).toBe(0);
    expect(mover.result).toMatchObject({ type: 'summary' });
    expect(await storedDigest()).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
  });

  it.each([
    {
      what: 'a stream cut before the dump command ended',
      stream: Buffer.concat(dataFrames(randomBytes(50_000))),
      says: 'the stream ended after 50000 bytes, before the dump command did',
      code: 'DumpIncomplete',
    },
    {
      what: 'a dump command that failed',
      stream: Buffer.concat([
        ...dataFrames(Buffer.from('-- PostgreSQL database dump\n')),
        endFrame({ exitCode: 1, bytes: 28, message: 'pg_dumpall: error: query failed' }),
      ]),
      says: 'the dump command exited 1: pg_dumpall: error: query failed',
      code: 'DumpFailed',
    },
    {
      what: 'a dump command that wrote nothing',
      stream: endFrame({ exitCode: 0, bytes: 0, message: '' }),
      says: 'the dump command wrote nothing',
      code: 'DumpFailed',
    },
  ])('keeps no snapshot of $what, and says why', async ({ stream, says, code }) => {
    const before = await snapshots();
    const mover = await dump(stream);
    expect(mover.exitCode).not.toBe(0);
    // The mover's result says why, in dump-stream's words; a stream cut short is tried again (DumpIncomplete).
    expect(mover.result).toMatchObject({ type: 'error', code, message: `dump not stored: ${says}` });
    expect(await snapshots()).toBe(before);
  });
});
