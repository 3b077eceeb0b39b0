// The order of restic commands and how their outcomes become results: the
// mover's backup over the restic engine, against a stand-in for restic that
// answers each subcommand as told. The real restic and S3 are in
// test/mover.test.ts.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackupTask, MoverProgress } from '../../api/index.ts';
import type { ProbeResult } from '../endpoint-probe.ts';
import { runBackup } from '../backup.ts';
import { resticRepository } from './engine.ts';
import { runRestic } from './process.ts';
import { folderBackupArgs } from './backup.ts';

interface Answer {
  stdout?: string[];
  stderr?: string[];
  code?: number;
  /** Then wait this long for a signal instead of exiting. */
  hangSeconds?: number;
}

const root = mkdtempSync(join(tmpdir(), 'mover-backup-'));
const source = join(root, 'source');
mkdirSync(source);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const summaryLine =
  '{"message_type":"summary","files_new":3,"files_changed":0,"files_unmodified":0,"dirs_new":1,"dirs_changed":0,"data_added":300,"total_files_processed":3,"total_bytes_processed":30,"total_duration":1.5,"snapshot_id":"76eac5fdd8ce806f7da920a3f8c0fdc8de67642cfb79816eadc707d1ef36a187"}';
const statusLine = (fraction: number) =>
  `{"message_type":"status","percent_done":${fraction},"total_files":3,"files_done":${Math.round(fraction * 3)},"total_bytes":30,"bytes_done":${fraction * 30}}`;

let fakes = 0;
/** A restic that answers the nth call of each subcommand with the nth answer given (the last one over and over). */
function fakeRestic(answers: Record<string, Answer | Answer[]>) {
  const dir = join(root, `fake-${++fakes}`);
  mkdirSync(dir);
  const cases: string[] = [];
  for (const [command, given] of Object.entries(answers)) {
    const list = Array.isArray(given) ? given : [given];
    writeFileSync(join(dir, `${command}.last`), String(list.length - 1));
    list.forEach((answer, n) => {
      writeFileSync(join(dir, `${command}.${n}.stdout`), (answer.stdout ?? []).map((l) => `${l}\n`).join(''));
      writeFileSync(join(dir, `${command}.${n}.stderr`), (answer.stderr ?? []).map((l) => `${l}\n`).join(''));
      const then =
        answer.hangSeconds === undefined ? `exit ${answer.code ?? 0}` : `exec /bin/sleep ${answer.hangSeconds}`;
      cases.push(`  ${command}.${n}) ${then} ;;`);
    });
  }
  const at = (suffix: string) => `${dir}/$command.${suffix}`;
  const script = [
    '#!/bin/sh',
    `echo "$*" >> ${dir}/calls`,
    'for a in "$@"; do case "$a" in -*) ;; *) command="$a"; break ;; esac; done',
    `echo >> ${at('count')}`,
    `n=$(( $(/usr/bin/wc -l < ${at('count')}) - 1 ))`,
    `[ -f ${at('$n.stdout')} ] || n=$(/bin/cat ${at('last')} 2>/dev/null)`,
    `[ -f ${at('$n.stdout')} ] || exit 0`,
    `/bin/cat ${at('$n.stdout')}; /bin/cat ${at('$n.stderr')} >&2`,
    'case "$command.$n" in',
    ...cases,
    'esac',
    'exit 0',
  ].join('\n');
  writeFileSync(join(dir, 'restic'), script);
  chmodSync(join(dir, 'restic'), 0o755);
  return {
    binary: join(dir, 'restic'),
    calls: () => {
      try {
        return readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
}

const task: BackupTask = {
  kind: 'backup',
  repository: { engine: 'restic' as const, url: 's3:http://127.0.0.1:7480/backups', initialize: true },
  sourcePath: source,
  host: 'team-a-data',
  tags: ['daily', 'policy=gold'],
  cacheDir: join(root, 'cache'),
  compression: 'auto',
  verifyBeforeUpload: true,
  changeDetection: 'inode',
};

async function backup(
  answers: Record<string, Answer | Answer[]>,
  options: { task?: BackupTask; probe?: ProbeResult; openTimeoutMs?: number } = {},
) {
  const restic = fakeRestic(answers);
  const progress: MoverProgress[] = [];
  const warnings: string[] = [];
  let clock = 0;
  const given = options.task ?? task;
  const warn = (text: string) => warnings.push(text);
  const repository = resticRepository(given.repository, {
    restic: (args, more = {}) => runRestic({ binary: restic.binary, args, env: {}, ...more }),
    probe: () => Promise.resolve(options.probe ?? { reachable: true }),
    openTimeoutMs: options.openTimeoutMs ?? 10_000,
    log: () => undefined,
    warn,
  });
  const result = await runBackup(given, {
    repository,
    progressIntervalMs: 1_000,
    nowMs: () => (clock += 400),
    progress: (p) => progress.push(p),
    log: () => undefined,
    warn,
  });
  return { result, calls: restic.calls(), progress, warnings };
}

const backupCall = `backup --json --host team-a-data --compression auto --tag daily --tag policy=gold ${source}`;
const done = { stdout: [0, 0.3, 0.6, 0.9, 1].map(statusLine).concat(summaryLine) };

describe('runBackup', () => {
  it('backs up with host and tags, creating the repository when the backup finds none', async () => {
    const { result, calls, progress } = await backup({ backup: [{ code: 10 }, done] });
    expect(calls).toEqual([backupCall, '--json init', backupCall]);
    expect(result).toMatchObject({ type: 'summary', filesNew: 3, filesProcessed: 3, bytesProcessed: 30 });
    // Statuses 400 ms apart: the first, the first a second later or more, and the last one held back.
    expect(progress.map((p) => p.percentDone)).toEqual([0, 90, 100]);
  });

  it('compares only mtime and size in a snapshot clone, where every inode and ctime is new', async () => {
    const { calls } = await backup({ backup: done }, { task: { ...task, changeDetection: 'mtime-size' } });
    expect(calls.at(-1)).toBe(
      `backup --json --host team-a-data --compression auto --ignore-inode --ignore-ctime --tag daily --tag policy=gold ${source}`,
    );
  });

  it("takes unchanged files from the parent it is given, or reads every file (a bucket's staged folder)", () => {
    const folder = {
      path: '/tmp/safehold-bucket/photos',
      host: 'rgw-photos',
      tags: [],
      compression: 'fast' as const,
      verifyBeforeUpload: true,
      changeDetection: 'mtime-size' as const,
    };
    expect(folderBackupArgs({ ...folder, parent: { kind: 'snapshot', id: 'abc123' } })).toEqual([
      'backup',
      '--json',
      '--host',
      'rgw-photos',
      '--compression',
      'auto',
      '--ignore-inode',
      '--ignore-ctime',
      '--parent',
      'abc123',
      folder.path,
    ]);
    expect(folderBackupArgs({ ...folder, parent: { kind: 'none' } })).toContain('--force');
    expect(folderBackupArgs(folder)).not.toContain('--parent');
  });

  it('stores a volume of random data as it is, and compresses as the repository says otherwise', async () => {
    const random = join(root, 'random');
    mkdirSync(random);
    writeFileSync(join(random, 'video.bin'), randomBytes(100_000));
    const sampled = await backup({ backup: done }, { task: { ...task, sourcePath: random } });
    expect(sampled.calls.at(-1)).toBe(
      `backup --json --host team-a-data --compression off --tag daily --tag policy=gold ${random}`,
    );
    const max = await backup({ backup: done }, { task: { ...task, sourcePath: random, compression: 'max' } });
    expect(max.calls.at(-1)).toContain('--compression max');
  });

  it('skips the check before upload only when the repository opts out', async () => {
    const unverified = await backup({ backup: done }, { task: { ...task, verifyBeforeUpload: false } });
    expect(unverified.calls.at(-1)).toBe(
      `backup --json --host team-a-data --compression auto --no-extra-verify --tag daily --tag policy=gold ${source}`,
    );
  });

  it('records the time the data was captured, in UTC', async () => {
    const { calls } = await backup(
      { backup: done },
      { task: { ...task, snapshotTime: '2024-03-31T01:30:00.25+02:00' } },
    );
    expect(calls.at(-1)).toBe(
      `backup --json --host team-a-data --compression auto --time 2024-03-30 23:30:00.25 --tag daily --tag policy=gold ${source}`,
    );
  });

  it('opens an existing repository with the backup alone: no restic start before it', async () => {
    const { result, calls } = await backup({ backup: done });
    expect(calls).toEqual([backupCall]);
    expect(result.type).toBe('summary');
  });

  it('removes stale locks when the backup finds the repository locked, and backs up', async () => {
    const locked = {
      code: 11,
      stderr: [
        '{"message_type":"exit_error","code":11,"message":"unable to create lock in backend: repository is already locked exclusively by PID 7 on mover-abc by root"}',
      ],
    };
    const { result, calls } = await backup({ backup: [locked, done] });
    expect(calls).toEqual([backupCall, '--json unlock', backupCall]);
    expect(result.type).toBe('summary');
  });

  it('stops restic retrying a missing bucket and creates the repository', async () => {
    const retry = 'Stat(<config/>) returned error, retrying after 1.49s: Stat: The specified bucket does not exist.';
    const started = Date.now();
    const { result, calls } = await backup({ backup: [{ stderr: [retry], hangSeconds: 30 }, done] });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(calls).toEqual([backupCall, '--json init', backupCall]);
    expect(result.type).toBe('summary');
  });

  it('stops restic retrying keys S3 rejects', async () => {
    const retry =
      'Stat(<config/>) returned error, retrying after 1.2s: Stat: The request signature we calculated does not match the signature you provided.';
    const started = Date.now();
    const { result, calls } = await backup({ backup: { stderr: [retry], hangSeconds: 30 } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(calls).toEqual([backupCall]);
    expect(result).toMatchObject({ type: 'error', code: 'WrongCredentials' });
  });

  it('goes on when another mover created the repository first', async () => {
    const { result, calls } = await backup({
      backup: [{ code: 10 }, done],
      init: { code: 1, stderr: ['Fatal: create key in repository at s3:... failed: config file already exists'] },
      cat: {},
    });
    expect(calls).toEqual([backupCall, '--json init', '--json cat config', backupCall]);
    expect(result.type).toBe('summary');
  });

  it('does not create a repository when the task does not allow it', async () => {
    const { result, calls } = await backup(
      { backup: { code: 10 } },
      { task: { ...task, repository: { ...task.repository, initialize: false } } },
    );
    expect(calls).toEqual([backupCall]);
    expect(result).toMatchObject({
      type: 'error',
      code: 'EngineFailed',
    });
    expect(result.type === 'error' && result.message).toContain('initialize');
  });

  it('counts a backup that could not read some files as a success, with a warning', async () => {
    const unreadable =
      '{"message_type":"error","error":{"message":"open /data/secret: permission denied"},"during":"archival","item":"/data/secret"}';
    const { result, warnings } = await backup({
      backup: {
        stdout: [summaryLine],
        stderr: [
          unreadable,
          '{"message_type":"exit_error","code":3,"message":"Warning: at least one source file could not be read"}',
        ],
        code: 3,
      },
    });
    expect(result.type).toBe('summary');
    expect(warnings).toEqual([expect.stringContaining('/data/secret: open /data/secret: permission denied')]);
  });

  it.each([
    [
      'a wrong password',
      {
        backup: {
          code: 12,
          stderr: ['{"message_type":"exit_error","code":12,"message":"Fatal: wrong password or no key found"}'],
        },
      },
      'WrongPassword',
    ],
    [
      'a lock held by another process',
      {
        backup: {
          code: 11,
          stdout: [
            '{"message_type":"exit_error","code":11,"message":"unable to create lock in backend: repository is already locked exclusively by PID 1 on vm by root"}',
          ],
        },
      },
      'RepositoryLocked',
    ],
    ['a backup that ends without a summary', { backup: { stdout: [statusLine(1)] } }, 'EngineFailed'],
  ] satisfies [string, Record<string, Answer | Answer[]>, string][])('reports %s', async (_, answers, code) => {
    const { result } = await backup(answers);
    expect(result).toMatchObject({ type: 'error', code });
  });

  it('gives up on a repository that keeps restic retrying past the limit', async () => {
    const retry =
      'Stat(<config/>) returned error, retrying after 1.5s: Stat: Head "http://127.0.0.1:7480/backups/config": dial tcp 127.0.0.1:7480: connect: connection refused';
    const { result, calls } = await backup({ backup: { stderr: [retry], hangSeconds: 30 } }, { openTimeoutMs: 300 });
    expect(calls).toEqual([backupCall]);
    expect(result).toMatchObject({
      type: 'error',
      code: 'RepositoryUnreachable',
    });
    expect(result.type === 'error' && result.message).toContain('connection refused');
  });

  it('runs no restic at all when the endpoint does not answer', async () => {
    const { result, calls } = await backup(
      {},
      { probe: { reachable: false, reason: 'connect ECONNREFUSED 127.0.0.1:7480', connected: false } },
    );
    expect(calls).toEqual([]);
    expect(result).toMatchObject({
      code: 'RepositoryUnreachable',
    });
    expect(result.type === 'error' && result.message).toContain('http://127.0.0.1:7480');
  });

  it('tells an endpoint that accepts connections but never answers from one it cannot reach', async () => {
    const { result, calls } = await backup(
      {},
      { probe: { reachable: false, reason: 'connected, but no answer within 5 s', connected: true } },
    );
    expect(calls).toEqual([]);
    expect(result).toMatchObject({ code: 'RepositoryStalled' });
    expect(result.type === 'error' && result.message).toContain('not the network');
  });

  it('checks the source folder before anything else', async () => {
    const { result, calls } = await backup({}, { task: { ...task, sourcePath: join(root, 'not-mounted') } });
    expect(calls).toEqual([]);
    expect(result).toMatchObject({ code: 'SourceMissing' });
  });
});
