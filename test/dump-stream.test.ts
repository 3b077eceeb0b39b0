// An application dump's last stretch, with real restic: the operator's frames
// on stdin, `safehold dump-stream` run by restic (--stdin-from-command), a
// local repository. A complete dump is stored byte for byte as one file; a
// stream cut short, a dump command that failed or wrote nothing leaves no
// snapshot at all, and says why (ADR 0026).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataFrames, endFrame } from '../src/api/index.ts';
import { run } from '../testenv/command.ts';
import { repoRoot, tools } from '../testenv/paths.ts';

const entry = join(repoRoot, 'src/bin/safehold.ts');

describe('an application dump into a repository', () => {
  const work = mkdtempSync(join(tmpdir(), 'dump-stream-'));
  const env = { ...process.env, RESTIC_REPOSITORY: join(work, 'repo'), RESTIC_PASSWORD: 'dump-test' };

  beforeAll(async () => {
    await run(tools.restic, ['init'], { env });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** restic backup reading the dump through dump-stream from a FIFO, into which these bytes are written. */
  async function backUp(stream: Buffer): Promise<{ code: number | null; stderr: string }> {
    const fifo = join(work, `dump-${Date.now()}.fifo`);
    await run('mkfifo', [fifo]);
    const child = spawn(
      tools.restic,
      [
        'backup',
        '--stdin-filename',
        'all.sql',
        '--stdin-from-command',
        '--',
        process.execPath,
        entry,
        'dump-stream',
        fifo,
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    // As the mover does: the frames into the FIFO, then the writing end closed.
    await writeFile(fifo, stream);
    const code = await closed;
    rmSync(fifo);
    return { code, stderr };
  }

  const snapshots = async () =>
    (JSON.parse((await run(tools.restic, ['snapshots', '--json'], { env })).stdout) as unknown[]).length;

  it('stores a complete dump as one file, byte for byte', async () => {
    const parts = [randomBytes(300_000), Buffer.from('-- end of dump\n'), randomBytes(70_000)];
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    const result = await backUp(
      Buffer.concat([...parts.flatMap((p) => dataFrames(p)), endFrame({ exitCode: 0, bytes, message: '' })]),
    );
    expect(result.code, result.stderr).toBe(0);
    const stored = await run('sh', ['-c', '"$0" dump latest all.sql | sha256sum', tools.restic], { env });
    expect(stored.stdout.split(' ')[0]).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
  });

  it.each([
    {
      what: 'a stream cut before the dump command ended',
      stream: Buffer.concat(dataFrames(randomBytes(50_000))),
      says: 'the stream ended after 50000 bytes, before the dump command did',
    },
    {
      what: 'a dump command that failed',
      stream: Buffer.concat([
        ...dataFrames(Buffer.from('-- PostgreSQL database dump\n')),
        endFrame({ exitCode: 1, bytes: 28, message: 'pg_dumpall: error: query failed' }),
      ]),
      says: 'the dump command exited 1: pg_dumpall: error: query failed',
    },
    {
      what: 'a dump command that wrote nothing',
      stream: endFrame({ exitCode: 0, bytes: 0, message: '' }),
      says: 'the dump command wrote nothing',
    },
  ])('keeps no snapshot of $what, and says why', async ({ stream, says }) => {
    const before = await snapshots();
    const result = await backUp(stream);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`dump not stored: ${says}`);
    expect(await snapshots()).toBe(before);
  });
});
