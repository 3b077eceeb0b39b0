import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { moverMessage, moverResult } from '../api/index.ts';
import { parseTask, runMover, type MoverInput } from './mover.ts';

const root = mkdtempSync(join(tmpdir(), 'mover-'));
mkdirSync(join(root, 'data'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const task = {
  kind: 'backup',
  repository: { url: '/srv/restic-repo' },
  sourcePath: join(root, 'data'),
  host: 'team-a-data',
  tags: ['daily'],
  cacheDir: '/cache',
};

describe('parseTask', () => {
  it('fills in the defaults', () => {
    expect(parseTask(JSON.stringify(task))).toEqual({
      ok: true,
      task: {
        ...task,
        repository: { ...task.repository, engine: 'restic', initialize: true },
        compression: 'auto',
        verifyBeforeUpload: true,
        changeDetection: 'inode',
      },
    });
  });

  it('fills in the defaults of a maintenance task', () => {
    const maintenance = { kind: 'maintenance', repository: { url: '/srv/restic-repo' }, cacheDir: '/cache' };
    expect(parseTask(JSON.stringify(maintenance))).toEqual({
      ok: true,
      task: {
        ...maintenance,
        repository: { engine: 'restic', url: '/srv/restic-repo', initialize: true },
        forget: [],
        prune: false,
      },
    });
  });

  it.each([
    [undefined, 'SAFEHOLD_TASK is not set'],
    ['{"kind":', 'SAFEHOLD_TASK is not JSON'],
    [JSON.stringify({ ...task, kind: 'replicate' }), 'kind'],
    [JSON.stringify({ ...task, sourcePath: 'data' }), 'sourcePath'],
    [JSON.stringify({ ...task, repository: { url: '' } }), 'repository.url'],
    [JSON.stringify({ ...task, repository: { ...task.repository, engine: 'tape' } }), 'repository.engine'],
    [JSON.stringify({ ...task, tags: undefined }), 'tags'],
    [JSON.stringify({ ...task, changeDetection: 'hash' }), 'changeDetection'],
    [JSON.stringify({ ...task, snapshotTime: '2024-01-01 12:00' }), 'snapshotTime'],
    [
      JSON.stringify({ kind: 'maintenance', repository: task.repository, cacheDir: '/c', forget: ['e7b0'] }),
      'forget.0',
    ],
  ])('turns down %s, naming %j', (json, named) => {
    const result = parseTask(json);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('InvalidTask');
      expect(result.error.message).toContain(named);
    }
  });
});

describe('runMover', () => {
  let runs = 0;
  async function mover(input: Partial<MoverInput>) {
    const dir = join(root, `run-${++runs}`);
    mkdirSync(dir);
    const stdout: string[] = [];
    const stderr: string[] = [];
    const terminationMessagePath = join(dir, 'termination-log');
    const result = await runMover(
      {
        task: JSON.stringify(task),
        credentials: { password: 'correct horse', accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake/secret+key' },
        inheritedEnv: {},
        engineBinary: join(root, 'no-restic-here'),
        terminationMessagePath,
        selfCommand: ['safehold'],
        ...input,
      },
      { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t), nowMs: () => 0 },
    );
    const lines = stdout.join('').trim().split('\n');
    return { result, lines, stderr: stderr.join(''), termination: readFileSync(terminationMessagePath, 'utf8') };
  }

  it.each([
    ['an invalid task', { task: '{}' }, 'InvalidTask'],
    ['no repository password', { credentials: {} }, 'WrongPassword'],
    [
      'a source folder that is not there',
      { task: JSON.stringify({ ...task, sourcePath: '/not/mounted' }) },
      'SourceMissing',
    ],
    ['no restic to run', {}, 'ResticFailed'],
    [
      'a maintenance with no restic to run',
      { task: JSON.stringify({ kind: 'maintenance', repository: task.repository, cacheDir: '/cache', prune: true }) },
      'ResticFailed',
    ],
  ] satisfies [string, Partial<MoverInput>, string][])(
    'reports %s on stdout and in the termination message',
    async (_, input, code) => {
      const { result, lines, termination } = await mover(input);
      expect(result).toMatchObject({ type: 'error', code });
      expect(moverMessage.parse(JSON.parse(lines.at(-1) ?? ''))).toEqual(result);
      expect(moverResult.parse(JSON.parse(termination))).toEqual(result);
    },
  );

  it('never prints a secret, whatever restic says', async () => {
    const restic = join(root, 'leaky-restic');
    writeFileSync(
      restic,
      '#!/bin/sh\necho "Fatal: cannot use key AKIAFAKE with fake/secret+key or password correct horse" >&2\nexit 1\n',
    );
    chmodSync(restic, 0o755);
    const { result, lines, stderr, termination } = await mover({ engineBinary: restic });
    expect(result).toMatchObject({ type: 'error', code: 'ResticFailed' });
    for (const text of [lines.join('\n'), stderr, termination]) {
      expect(text).toContain('cannot use key');
      for (const secret of ['AKIAFAKE', 'fake/secret+key', 'correct horse']) expect(text).not.toContain(secret);
    }
  });

  it('never passes on a secret in what a check found', async () => {
    const restic = join(root, 'leaky-check');
    writeFileSync(
      restic,
      [
        '#!/bin/sh',
        'case "$*" in',
        `  *check*) echo '{"message_type":"summary","num_errors":1}'`,
        `    echo '{"message_type":"error","message":"pack 0a1b2c3d at https://AKIAFAKE:correct horse@s3 is damaged"}' >&2`,
        `    echo '{"message_type":"exit_error","code":1,"message":"Fatal: repository contains errors"}' >&2; exit 1 ;;`,
        `  *snapshots*) echo '[]' ;;`,
        `  *stats*) echo '{"total_size":5}' ;;`,
        'esac',
      ].join('\n'),
    );
    chmodSync(restic, 0o755);
    const maintenance = { kind: 'maintenance', repository: { url: '/srv/restic-repo' }, cacheDir: '/cache', check: {} };
    const { result, lines, stderr, termination } = await mover({
      engineBinary: restic,
      task: JSON.stringify(maintenance),
    });
    expect(result).toMatchObject({ type: 'maintenance', check: { ok: false }, snapshots: 0, repositoryBytes: 5 });
    for (const text of [lines.join('\n'), stderr, termination]) {
      expect(text).toContain('is damaged');
      for (const secret of ['AKIAFAKE', 'correct horse']) expect(text).not.toContain(secret);
    }
  });
});
