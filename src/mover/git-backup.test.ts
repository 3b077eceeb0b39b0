// The git-backup task with real git and a stub engine that keeps what it is
// given: a file:// source bundled whole, an ssh remote reached with the key
// the Secret gives (through a stand-in ssh that records how it was called),
// and every way it stores nothing. The same task against restic and radosgw,
// and over HTTP with basic auth: test/git-backup.test.ts.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitBackupTask, type BackupSummary, type GitBackupTask } from '../api/index.ts';
import type { Repository, StreamBackup } from './engine.ts';
import type { Failure } from './failure.ts';
import { runGitBackup } from './git-backup.ts';
import type { GitSecrets } from './git-remote.ts';

const root = mkdtempSync(join(tmpdir(), 'git-backup-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Where git is (found by the shell this process would run), and the programs the task runs beside it. */
let path = '/usr/bin:/bin';
beforeAll(async () => {
  const found = (await promisify(execFile)('sh', ['-c', 'command -v git'], { encoding: 'utf8' })).stdout.trim();
  path = `${dirname(found)}:/usr/bin:/bin`;
  gitEnv.PATH = path;
});

const gitEnv = {
  PATH: path,
  HOME: root,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};
const git = async (args: string[], cwd = root) =>
  (await promisify(execFile)('git', args, { cwd, env: gitEnv, encoding: 'utf8' })).stdout;
const refsOf = async (repository: string) =>
  (await git(['-C', repository, 'for-each-ref', '--format=%(objectname) %(refname)'])).split('\n').filter(Boolean);

const unused = (what: string) => () => Promise.reject(new Error(`the stub engine has no ${what}`));

/** An engine that runs a stream backup's command and keeps its bytes; or fails prepare. */
function stubEngine(prepare?: Failure) {
  const stored: { backup: StreamBackup; bytes: Buffer }[] = [];
  const repository: Repository = {
    prepare: () => Promise.resolve(prepare),
    backupStream: async (backup, progress) => {
      const [command = '', ...args] = backup.command;
      const { stdout } = await promisify(execFile)(command, args, { encoding: 'buffer' });
      stored.push({ backup, bytes: stdout });
      progress.done();
      const summary: BackupSummary = {
        type: 'summary',
        snapshotId: 'a'.repeat(64),
        filesNew: 1,
        filesChanged: 0,
        filesUnmodified: 0,
        dirsNew: 0,
        dirsChanged: 0,
        bytesAdded: stdout.length,
        bytesProcessed: stdout.length,
        filesProcessed: 1,
        durationSeconds: 0,
      };
      return { ok: true, value: summary };
    },
    backupFolder: unused('backupFolder'),
    restore: unused('restore'),
    restoresFolderItself: () => false,
    ls: unused('ls'),
    linkTargets: unused('linkTargets'),
    dumpFile: unused('dumpFile'),
    dumpStream: unused('dumpStream'),
    findSnapshot: unused('findSnapshot'),
    latestSnapshot: unused('latestSnapshot'),
    snapshotIds: unused('snapshotIds'),
    forget: unused('forget'),
    prune: unused('prune'),
    check: unused('check'),
    size: unused('size'),
  };
  return { repository, stored };
}

let runs = 0;
async function backup(
  task: Partial<GitBackupTask> & { url: string },
  options: { secrets?: GitSecrets; path?: string; prepare?: Failure } = {},
) {
  const tempDir = join(root, `run-${++runs}`);
  mkdirSync(tempDir);
  const engine = stubEngine(options.prepare);
  const log: string[] = [];
  const result = await runGitBackup(
    gitBackupTask.parse({
      kind: 'git-backup',
      repository: { url: '/srv/restic' },
      fileName: 'fleet.bundle',
      host: 'flux-system-fleet',
      tags: ['git=fleet'],
      cacheDir: '/cache',
      ...task,
    }),
    {
      repository: engine.repository,
      progress: () => undefined,
      log: (line) => log.push(line),
      warn: (line) => log.push(line),
      nowMs: () => 0,
      progressIntervalMs: 1000,
      secrets: options.secrets ?? {},
      inheritedEnv: { PATH: options.path ?? path, HOME: root },
      tempDir,
    },
  );
  // Whatever happened, the work folder is gone.
  expect(readdirSync(tempDir)).toEqual([]);
  return { result, stored: engine.stored, log };
}

describe('a git-backup task', () => {
  const source = join(root, 'fleet.git');
  const empty = join(root, 'empty.git');

  beforeAll(async () => {
    const tree = join(root, 'tree');
    await git(['init', '--quiet', '--initial-branch=main', tree]);
    writeFileSync(join(tree, 'kustomization.yaml'), 'resources: []\n');
    await git(['add', '--all'], tree);
    await git(['commit', '--quiet', '-m', 'cluster'], tree);
    await git(['tag', '-a', '-m', 'first', 'v1'], tree);
    await git(['checkout', '--quiet', '-b', 'staging'], tree);
    writeFileSync(join(tree, 'apps.yaml'), 'apps: []\n');
    await git(['add', '--all'], tree);
    await git(['commit', '--quiet', '-m', 'apps'], tree);
    await git(['tag', 'staging-1'], tree);
    await git(['clone', '--bare', '--quiet', tree, source]);
    await git(['init', '--bare', '--quiet', empty]);
  });

  it('stores a complete bundle of every ref, as one file named fileName', async () => {
    const { result, stored, log } = await backup({ url: `file://${source}` });
    expect(result).toMatchObject({ type: 'summary', git: { refs: 4 } });
    expect(log).toContain(`bundled 4 refs of file://${source} (2 branches, 2 tags), ${stored[0]?.bytes.length} bytes`);
    expect(stored).toHaveLength(1);
    const [{ backup: given, bytes } = { backup: undefined, bytes: Buffer.alloc(0) }] = stored;
    expect(given).toMatchObject({
      fileName: 'fleet.bundle',
      host: 'flux-system-fleet',
      tags: ['git=fleet'],
      compression: 'fast',
      verifyBeforeUpload: true,
    });
    const bundle = join(root, 'stored.bundle');
    writeFileSync(bundle, bytes);
    await git(['bundle', 'verify', '--quiet', bundle], empty);
    await git(['clone', '--mirror', '--quiet', bundle, join(root, 'restored.git')]);
    expect(await refsOf(join(root, 'restored.git'))).toEqual(await refsOf(source));
  });

  it('stores nothing of a repository without refs', async () => {
    const { result, stored } = await backup({ url: `file://${empty}` });
    expect(result).toEqual({
      type: 'error',
      code: 'DumpFailed',
      message: 'bundle not stored: the Git repository has no branches or tags: there is nothing to bundle',
    });
    expect(stored).toEqual([]);
  });

  it('does not read the remote when the repository is not ready', async () => {
    const notReady: Failure = { type: 'error', code: 'RepositoryUnreachable', message: 'no answer' };
    const { result } = await backup({ url: 'file:///nowhere' }, { prepare: notReady });
    expect(result).toBe(notReady);
  });

  it('says which secret is empty when the credentials are not in the Secret', async () => {
    const { result } = await backup(
      { url: 'https://git.example/fleet.git', credentials: { kind: 'basic' } },
      { secrets: { username: 'flux' } },
    );
    expect(result).toEqual({
      type: 'error',
      code: 'SourceMissing',
      message:
        "the task reads https://git.example/fleet.git with basic credentials, but GIT_PASSWORD is empty: the Git repository's Secret must hold them",
    });
  });

  describe('over ssh', () => {
    const bin = join(root, 'bin');
    const record = join(root, 'ssh-record');
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----';

    beforeAll(() => {
      mkdirSync(bin);
      // Records its arguments and the key file as git's ssh sees them, then refuses the key as a server would.
      const ssh = [
        '#!/bin/sh',
        `printf '%s\\n' "$@" > '${record}'`,
        'for a in "$@"; do case "$prev" in -i) key="$a";; esac; prev="$a"; done',
        `stat -c '%a' "$key" >> '${record}'`,
        `cat "$key" >> '${record}'`,
        'echo "git@git.example: Permission denied (publickey)." >&2',
        'exit 255',
      ].join('\n');
      writeFileSync(join(bin, 'ssh'), `${ssh}\n`);
      chmodSync(join(bin, 'ssh'), 0o755);
    });

    it.each([
      {
        knownHosts: 'git.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
        strict: 'yes',
      },
      { knownHosts: undefined, strict: 'accept-new' },
    ])(
      'reaches the server with the key alone (known hosts: $strict), and says it was refused',
      async ({ knownHosts, strict }) => {
        const { result, stored } = await backup(
          { url: 'git@git.example:org/fleet.git', credentials: { kind: 'ssh' } },
          { secrets: { sshKey: key, knownHosts }, path: `${bin}:${path}` },
        );
        expect(result).toMatchObject({
          type: 'error',
          code: 'SourceMissing',
          message:
            'cannot read the Git repository git@git.example:org/fleet.git: the server refused the SSH key (GIT_SSH_KEY from the Secret) (git: git@git.example: Permission denied (publickey). / fatal: Could not read from remote repository. / Please make sure you have the correct access rights / and the repository exists.)',
        });
        expect(stored).toEqual([]);
        const seen = readFileSync(record, 'utf8');
        expect(seen).toContain('-o\nIdentitiesOnly=yes\n');
        expect(seen).toContain(`-o\nStrictHostKeyChecking=${strict}\n`);
        expect(seen).toContain('git@git.example\n');
        // The key file: 0600, the key with the newline ssh needs.
        expect(seen).toContain(`\n600\n${key}\n`);
      },
    );
  });
});

describe('the git-backup task as the mover reads it', () => {
  const task = {
    kind: 'git-backup',
    repository: { url: '/srv/restic' },
    fileName: 'fleet.bundle',
    host: 'h',
    tags: [],
    cacheDir: '/cache',
  };

  it.each([
    ['https://github.com/org/fleet.git', { kind: 'basic' }],
    ['http://gitea.local:3000/org/fleet.git', undefined],
    ['ssh://git@gitea.local:2222/org/fleet.git', { kind: 'ssh' }],
    ['git@github.com:org/fleet.git', { kind: 'ssh' }],
    ['file:///srv/git/fleet.git', undefined],
  ])('takes %s', (url, credentials) => {
    expect(gitBackupTask.safeParse({ ...task, url, credentials }).success).toBe(true);
  });

  it.each([
    ['https://flux:token@github.com/org/fleet.git', undefined, 'no password in the URL'],
    ['/srv/git/fleet.git', undefined, 'a Git URL'],
    ['ext::sh -c touch% /tmp/x', undefined, 'a Git URL'],
    ['-uoption@host:path', undefined, 'a Git URL'],
    ['git@github.com:org/fleet.git', { kind: 'basic' }, 'basic credentials go with an http(s) URL'],
    ['https://github.com/org/fleet.git', { kind: 'ssh' }, 'ssh ones with ssh://'],
    ['file:///srv/git/fleet.git', { kind: 'ssh' }, 'ssh ones with ssh://'],
  ])('turns down %s (credentials %j): %s', (url, credentials, says) => {
    const parsed = gitBackupTask.safeParse({ ...task, url, credentials });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message).join('; ')).toContain(says);
  });
});
