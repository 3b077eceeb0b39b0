// The restic commands a restore runs and how their outcomes become results:
// the mover's restore over the restic engine, against a stand-in for restic
// that answers each subcommand as told. The real restic and S3 are in
// test/mover-restore.test.ts.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MoverProgress, RestoreTask } from '../../api/index.ts';
import { runRestore } from '../restore.ts';
import { resticRepository } from './engine.ts';
import { parseResticLine } from './output.ts';
import type { Restic } from './process.ts';
import { includePattern, restoreArgs, restoresFolderItself } from './restore.ts';

const root = mkdtempSync(join(tmpdir(), 'mover-restore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Answer {
  stdout?: string[];
  stderr?: string[];
  code?: number;
}

/** A restic that answers by subcommand (the first argument that is not a flag; a list: the nth call the nth answer, then the last), and records each call. */
function scriptedRestic(answers: Record<string, Answer | Answer[]>) {
  const calls: string[][] = [];
  const counts = new Map<string, number>();
  const restic: Restic = (args, options = {}) => {
    calls.push([...args]);
    const command = args.find((a) => !a.startsWith('-')) ?? '';
    const n = counts.get(command) ?? 0;
    counts.set(command, n + 1);
    const given = answers[command] ?? {};
    const answer = Array.isArray(given) ? (given[n] ?? given.at(-1) ?? {}) : given;
    const messages: string[] = [];
    for (const raw of answer.stdout ?? []) {
      options.onAnswer?.(raw);
      const line = parseResticLine(raw);
      if (line.kind !== 'text') options.onLine?.(line);
    }
    for (const raw of answer.stderr ?? []) {
      const line = parseResticLine(raw);
      if (line.kind === 'exit-error') messages.push(line.message);
      if (line.kind === 'text') messages.push(line.text);
      options.onLine?.(line);
    }
    return Promise.resolve({ exitCode: answer.code ?? 0, messages, stopped: undefined });
  };
  return { restic, calls };
}

const snapshotId = 'a05c7b569a9b1b75bf3fc94ec42420238ce1e2a7ebc74affe57d23dbe8e81749';
const snapshotLine = JSON.stringify({ message_type: 'snapshot', id: snapshotId, paths: ['/data'] });
const node = (path: string, type: string, more: object = {}) =>
  JSON.stringify({ message_type: 'node', name: path.split('/').at(-1), type, path, uid: 0, gid: 0, ...more });
const status = (fraction: number) =>
  JSON.stringify({ message_type: 'status', percent_done: fraction, total_files: 3, files_restored: 3 * fraction });
const summary = JSON.stringify({
  message_type: 'summary',
  total_files: 3,
  files_restored: 2,
  files_skipped: 1,
  files_deleted: 4,
  total_bytes: 30,
  bytes_restored: 20,
  bytes_skipped: 10,
});
const restored = { stdout: [0, 0.5, 1].map(status).concat(summary) };

let targets = 0;
function task(more: Partial<RestoreTask> = {}): RestoreTask {
  const targetPath = join(root, `target-${++targets}`);
  mkdirSync(targetPath);
  return {
    kind: 'restore',
    repository: { engine: 'restic' as const, url: 's3:http://127.0.0.1:7480/backups', initialize: true },
    cacheDir: join(root, 'cache'),
    source: { snapshotId: 'a05c7b56', snapshotPath: '/data' },
    targetPath,
    paths: [],
    deleteExtra: false,
    verify: false,
    ...more,
  };
}

async function restore(given: RestoreTask, answers: Record<string, Answer | Answer[]>) {
  const { restic, calls } = scriptedRestic(answers);
  const progress: MoverProgress[] = [];
  const warnings: string[] = [];
  let clock = 0;
  const warn = (text: string) => warnings.push(text);
  const repository = resticRepository(given.repository, {
    restic,
    probe: () => Promise.resolve({ reachable: true }),
    openTimeoutMs: 10_000,
    log: () => undefined,
    warn,
  });
  const result = await runRestore(given, {
    repository,
    progressIntervalMs: 1_000,
    nowMs: () => (clock += 400),
    progress: (p) => progress.push(p),
    log: () => undefined,
    warn,
  });
  return { result, calls: calls.map((args) => args.join(' ')), progress, warnings };
}

describe('restoreArgs', () => {
  it('restores the folder the backup read, holes as holes, the paths as anchored literal patterns', () => {
    const given = task({ paths: ['/etc', '/names/a*b'], deleteExtra: true });
    expect(restoreArgs({ ...given, paths: ['/etc', '/names/a*b'] })).toEqual([
      'restore',
      '--json',
      'a05c7b56:/data',
      '--target',
      given.targetPath,
      '--sparse',
      '--include',
      '/etc',
      '--include',
      '/names/a\\*b',
      '--delete',
    ]);
  });
});

describe('restoreArgs of a drill', () => {
  it('asks restic to read every restored file back against the backup', () => {
    const given = task({ deleteExtra: true, verify: true });
    expect(restoreArgs(given).slice(-2)).toEqual(['--delete', '--verify']);
    expect(restoreArgs({ ...given, verify: false })).not.toContain('--verify');
  });
});

describe('restoresFolderItself', () => {
  const whole = {
    source: { snapshotId: 'a05c7b56', snapshotPath: '/data' },
    paths: [],
    deleteExtra: true,
    verify: false,
  };
  it.each([
    ['/target/data', '/data', [], true],
    ['/target/data/', '//data/', [], true],
    ['/target/safehold-backup', '/data/.snap/safehold-backup', [], true],
    ['/target/other', '/data', [], false],
    ['/target/data', '/data', ['/etc'], false],
    ['/target', '/', [], false],
    ['/', '/data', [], false],
    ['data', '/data', [], false],
  ])('a restore into %s of %s with paths %j: %s', (targetPath, snapshotPath, paths, expected) => {
    const restore = { ...whole, targetPath, paths, source: { ...whole.source, snapshotPath } };
    expect(restoresFolderItself(restore)).toBe(expected);
  });

  it("restores the folder's parent, selecting the folder, into the target's parent", () => {
    expect(restoreArgs({ ...whole, targetPath: '/target/data' })).toEqual([
      'restore',
      '--json',
      'a05c7b56:/',
      '--target',
      '/target',
      '--sparse',
      '--include',
      '/data',
      '--delete',
    ]);
    const cephfs = { snapshotId: 'a05c7b56', snapshotPath: '/data/.snap/safehold-[1]' };
    expect(restoreArgs({ ...whole, source: cephfs, targetPath: '/target/safehold-[1]/' })).toEqual([
      'restore',
      '--json',
      'a05c7b56:/data/.snap',
      '--target',
      '/target',
      '--sparse',
      '--include',
      '/safehold-\\[1\\]',
      '--delete',
    ]);
  });

  it('runs restic once and leaves the root to it, the id as the task names it', async () => {
    const given = task();
    const targetPath = join(given.targetPath, 'data');
    mkdirSync(targetPath);
    const { result, calls, warnings } = await restore({ ...given, targetPath }, { restore: restored });
    expect(calls).toEqual([`restore --json a05c7b56:/ --target ${given.targetPath} --sparse --include /data`]);
    expect(warnings).toEqual([]);
    expect(result).toMatchObject({ type: 'restored', snapshotId: 'a05c7b56', filesRestored: 2 });
  });
});

describe('includePattern', () => {
  it('anchors the path at the volume root', () => {
    expect(includePattern('/etc/app.conf/')).toBe('/etc/app.conf');
  });

  it("escapes the characters restic's patterns give a meaning", () => {
    expect(includePattern('/names/glob*[1]?.txt')).toBe('/names/glob\\*\\[1\\]\\?.txt');
    expect(includePattern('/back\\slash/**')).toBe('/back\\\\slash/\\*\\*');
    expect(includePattern('/$HOME/sp ace')).toBe('/$HOME/sp ace');
  });
});

describe('runRestore', () => {
  it('opens the repository without creating it, restores, and gives the root its owner, mode and times', async () => {
    const given = task();
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const mtime = '2024-01-02T03:04:05.123456Z';
    // Go's os.FileMode, as restic prints it: folder bit 31, setgid bit 22.
    const rootNode = node('/data', 'dir', { uid, gid, mode: 2 ** 31 + 2 ** 22 + 0o750, mtime });
    const { result, calls, progress, warnings } = await restore(given, {
      ls: { stdout: [snapshotLine, rootNode, node('/data/etc', 'dir')] },
      restore: restored,
    });
    expect(calls).toEqual([
      `ls --json a05c7b56 /data`,
      `restore --json a05c7b56:/data --target ${given.targetPath} --sparse`,
    ]);
    expect(result).toEqual({
      type: 'restored',
      snapshotId,
      filesRestored: 2,
      filesSkipped: 1,
      totalFiles: 3,
      bytesRestored: 20,
      bytesSkipped: 10,
      totalBytes: 30,
      durationSeconds: expect.any(Number) as number,
    });
    expect(progress.map((p) => p.percentDone)).toEqual([0, 100]);
    expect(warnings).toEqual([]);
    const stats = statSync(given.targetPath);
    expect(stats.mode & 0o7777).toBe(0o2750);
    expect(stats.mtime.toISOString()).toBe('2024-01-02T03:04:05.123Z');
  });

  it('counts what deleteExtra deleted', async () => {
    const { result, calls } = await restore(task({ deleteExtra: true }), {
      ls: { stdout: [snapshotLine] },
      restore: restored,
    });
    expect(calls.at(-1)).toMatch(/ --delete$/);
    expect(result).toMatchObject({ type: 'restored', filesDeleted: 4 });
  });

  it("warns when the root's owner, mode and times are not known", async () => {
    const { result, warnings } = await restore(task(), { ls: { stdout: [snapshotLine] }, restore: restored });
    expect(result.type).toBe('restored');
    expect(warnings).toEqual([
      "the owner, mode and times of the volume's root are not known: restic ls did not list it",
    ]);
  });

  it('looks every path up first and restores nothing when one is missing', async () => {
    const given = task({ paths: ['/etc/', '/var/lib/db', '/etc/app.conf'] });
    const { result, calls } = await restore(given, {
      ls: { stdout: [snapshotLine, node('/data/etc', 'dir'), node('/data/etc/app.conf', 'file')] },
      restore: restored,
    });
    expect(calls).toEqual(['ls --json a05c7b56 /data/etc /data/var/lib/db']);
    expect(result).toEqual({
      type: 'error',
      code: 'PathNotFound',
      message: 'snapshot a05c7b56 does not have /var/lib/db: nothing was restored',
    });
  });

  it('restores the paths it found, each with what is under it', async () => {
    const given = task({ paths: ['/etc', '/var/lib/db'] });
    const { result, calls } = await restore(given, {
      ls: { stdout: [snapshotLine, node('/data/etc', 'dir'), node('/data/var/lib/db', 'dir')] },
      restore: restored,
    });
    expect(calls.at(-1)).toBe(
      `restore --json a05c7b56:/data --target ${given.targetPath} --sparse --include /etc --include /var/lib/db`,
    );
    expect(result).toMatchObject({ type: 'restored', snapshotId });
  });

  it('says the snapshot is not there', async () => {
    const missing = {
      code: 1,
      stderr: [
        '{"message_type":"exit_error","code":1,"message":"Fatal: failed to find snapshot: no matching ID found for prefix \\"a05c7b56\\""}',
      ],
    };
    const { result } = await restore(task(), { ls: missing, restore: missing });
    expect(result).toMatchObject({ type: 'error', code: 'SnapshotNotFound' });
    if (result.type === 'error')
      expect(result.message).toContain('no snapshot a05c7b56 in s3:http://127.0.0.1:7480/backups');
  });

  it("says the snapshot does not have the backup's folder", async () => {
    const missing = { code: 1, stderr: ['{"message_type":"exit_error","code":1,"message":"path data: not found"}'] };
    const { result } = await restore(task(), { ls: { stdout: [snapshotLine] }, restore: missing });
    expect(result).toMatchObject({ type: 'error', code: 'PathNotFound' });
    if (result.type === 'error') expect(result.message).toContain('snapshot a05c7b56 has no folder /data');
  });

  it('names the entries restic could not restore, and what to do about a folder in the way', async () => {
    const { result } = await restore(task(), {
      ls: { stdout: [snapshotLine] },
      restore: {
        code: 1,
        stdout: [summary],
        stderr: [
          '{"message_type":"error","error":{"message":"remove /t/etc2: directory not empty"},"during":"restore","item":"/etc2"}',
          '{"message_type":"exit_error","code":1,"message":"Fatal: There were 1 errors\\n"}',
        ],
      },
    });
    expect(result).toEqual({
      type: 'error',
      code: 'EngineFailed',
      message:
        'restic restored the rest but not 1 entries (/etc2: remove /t/etc2: directory not empty): the target has folders where the backup has files; restore with deleteExtra to replace them',
    });
  });

  it('says what a drill verified: the volume as restored, counted as a backup counts it', async () => {
    const given = task({ verify: true });
    // What this stand-in for restic "restored": two files, 40 bytes.
    mkdirSync(join(given.targetPath, 'etc'));
    writeFileSync(join(given.targetPath, 'etc', 'app.conf'), 'x'.repeat(30));
    writeFileSync(join(given.targetPath, 'notes'), 'y'.repeat(10));
    const { result, calls } = await restore(given, { ls: { stdout: [snapshotLine] }, restore: restored });
    expect(calls.at(-1)).toBe(`restore --json a05c7b56:/data --target ${given.targetPath} --sparse --verify`);
    expect(result).toMatchObject({ type: 'restored', verified: { files: 2, bytes: 40, method: 'restic-verify' } });
    const plain = await restore(task(), { ls: { stdout: [snapshotLine] }, restore: restored });
    expect(plain.result).not.toHaveProperty('verified');
  });

  const failedWith = (message: string, item: string) => ({
    code: 1,
    stdout: [summary],
    stderr: [
      JSON.stringify({ message_type: 'error', error: { message }, during: 'restore', item }),
      '{"message_type":"exit_error","code":1,"message":"Fatal: There were 1 errors\\n"}',
    ],
  });

  it("fails a drill as Unverified when a file reads back other than the backup, naming it in restic's words", async () => {
    const answer = failedWith('Invalid file size for /t/etc/app.conf: expected 12, got 13', '/etc/app.conf');
    const { result } = await restore(task({ verify: true }), { ls: { stdout: [snapshotLine] }, restore: answer });
    expect(result).toMatchObject({ type: 'error', code: 'Unverified' });
    expect(result.type === 'error' ? result.message : '').toContain(
      'restic read back restored files that differ from the backup (/etc/app.conf: Invalid file size for /t/etc/app.conf: expected 12, got 13)',
    );
  });

  it("fails a drill as Unverified when the backup cannot be read, and a plain restore as restic's failure", async () => {
    const answer = failedWith(
      'decrypting blob <data/e6b64fbf> from ebc55564 failed: ciphertext verification failed',
      '/db/table.dat',
    );
    const drill = await restore(task({ verify: true }), { ls: { stdout: [snapshotLine] }, restore: answer });
    expect(drill.result).toMatchObject({ type: 'error', code: 'Unverified' });
    expect(drill.result.type === 'error' ? drill.result.message : '').toContain(
      'restic cannot read all of the backup (/db/table.dat: decrypting blob <data/e6b64fbf> from ebc55564 failed: ciphertext verification failed)',
    );
    const plain = await restore(task(), { ls: { stdout: [snapshotLine] }, restore: answer });
    expect(plain.result).toMatchObject({ type: 'error', code: 'EngineFailed' });
  });

  it('wants the target folder there before it opens the repository', async () => {
    const { result, calls } = await restore({ ...task(), targetPath: join(root, 'not-mounted') }, {});
    expect(calls).toEqual([]);
    expect(result).toMatchObject({ type: 'error', code: 'TargetMissing' });
  });

  it('does not create a missing repository', async () => {
    const given = task();
    const missing = {
      code: 10,
      stderr: ['{"message_type":"exit_error","code":10,"message":"Fatal: repository does not exist"}'],
    };
    const { result, calls } = await restore(given, { ls: missing, restore: missing });
    expect(calls).toEqual([
      `ls --json a05c7b56 /data`,
      `restore --json a05c7b56:/data --target ${given.targetPath} --sparse`,
    ]);
    expect(result).toMatchObject({ type: 'error', code: 'EngineFailed' });
    if (result.type === 'error') expect(result.message).toContain('a restore never creates one');
  });

  it('removes stale locks once when the listing and the restore beside it find the repository locked', async () => {
    const given = task();
    const locked = {
      code: 11,
      stderr: [
        '{"message_type":"exit_error","code":11,"message":"unable to create lock in backend: repository is already locked exclusively by PID 7 on mover-abc by root"}',
      ],
    };
    const { result, calls } = await restore(given, {
      ls: [locked, { stdout: [snapshotLine, node('/data', 'dir')] }],
      restore: [locked, restored],
    });
    const restoreCall = `restore --json a05c7b56:/data --target ${given.targetPath} --sparse`;
    expect(calls.filter((call) => call === '--json unlock')).toHaveLength(1);
    expect(calls.filter((call) => call === restoreCall)).toHaveLength(2);
    expect(result).toMatchObject({ type: 'restored', snapshotId, filesRestored: 2 });
  });
});
