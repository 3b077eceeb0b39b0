// A Git repository (a GitOps source) backed up by the real mover, real git and
// real restic to radosgw, as one bundle: read over file:// and over HTTP from a
// `git http-backend` that asks for basic auth, as a Flux GitRepository's Secret
// would answer it. What is stored, restored with `restic dump`, verifies and
// clones into every branch and tag of the source at the same commits. A wrong
// password or a URL nobody answers stores nothing, says why, names the URL
// without credentials and never prints the password.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../testenv/command.ts';
import { testEnv, uniqueName } from './support/cluster.ts';
import { git, gitHttpServer, listen, makeSourceRepository, refsOf } from './support/git-server.ts';
import { runMoverProcess, type MoverRun } from './support/mover-process.ts';

const resticPassword = 'git-test';
const username = 'flux';
const gitPassword = `ghp-${randomBytes(12).toString('hex')}`;

describe('a Git repository backed up as one bundle', () => {
  const work = mkdtempSync(join(tmpdir(), 'git-backup-'));
  const served = join(work, 'served');
  const source = join(served, 'flux-system.git');
  const bucket = uniqueName('gitops');
  const server = gitHttpServer(served, { username, password: gitPassword });
  let port = 0;
  /** A port where nothing listens: taken, then let go. */
  let closedPort = 0;
  let sourceRefs: string[] = [];

  beforeAll(async () => {
    mkdirSync(served);
    await makeSourceRepository(work, source);
    sourceRefs = await refsOf(source);
    port = await listen(server);
    const probe = createServer();
    closedPort = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  const backup = (task: { url: string; credentials?: { kind: 'basic' | 'ssh' } }, env: Record<string, string> = {}) =>
    runMoverProcess({
      task: {
        kind: 'git-backup',
        repository: { url: `s3:${testEnv().ceph.s3.endpoint}/${bucket}`, initialize: true },
        fileName: 'flux-system.bundle',
        host: 'flux-system-flux-system',
        tags: ['git=flux-system'],
        cacheDir: join(work, 'cache'),
        ...task,
      },
      work,
      password: resticPassword,
      env: { TMPDIR: work, ...env },
    });

  const resticEnv = () => {
    const env = testEnv();
    return {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}`,
      RESTIC_PASSWORD: resticPassword,
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
      RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    };
  };
  const snapshots = async () =>
    JSON.parse((await run(testEnv().tools.restic, ['snapshots', '--json'], { env: resticEnv() })).stdout) as {
      id: string;
      paths: string[];
      hostname: string;
      tags: string[];
    }[];
  const printed = (mover: MoverRun) => `${mover.stderr}\n${JSON.stringify(mover.messages)}\n${mover.raw}`;

  /** The stored bundle, restored with restic dump, checked and cloned: its refs. */
  async function restoredRefs(snapshotId: string): Promise<{ refs: string[]; bytes: number }> {
    const dir = mkdtempSync(join(work, 'restored-'));
    const bundle = join(dir, 'flux-system.bundle');
    await run('sh', ['-c', '"$0" dump "$1" /flux-system.bundle > "$2"', testEnv().tools.restic, snapshotId, bundle], {
      env: resticEnv(),
    });
    // Verified in an empty repository: the bundle needs nothing from elsewhere.
    await git(['init', '--bare', '--quiet', join(dir, 'empty.git')]);
    await git(['-C', join(dir, 'empty.git'), 'bundle', 'verify', bundle]);
    await git(['clone', '--mirror', '--quiet', bundle, join(dir, 'clone.git')]);
    return { refs: await refsOf(join(dir, 'clone.git')), bytes: statSync(bundle).size };
  }

  async function expectWholeBundle(mover: MoverRun) {
    expect(mover.exitCode, printed(mover)).toBe(0);
    const result = mover.result;
    if (result.type !== 'summary') throw new Error(`not a summary: ${JSON.stringify(result)}`);
    // 3 branches, 3 tags (one lightweight, two annotated).
    expect(result.git).toEqual({ refs: 6 });
    expect(mover.stderr).toContain('bundled 6 refs');
    const snapshot = (await snapshots()).find((s) => s.id === result.snapshotId);
    expect(snapshot).toMatchObject({
      paths: ['/flux-system.bundle'],
      hostname: 'flux-system-flux-system',
      tags: ['git=flux-system'],
    });
    const restored = await restoredRefs(result.snapshotId);
    expect(restored.refs).toEqual(sourceRefs);
    expect(restored.bytes).toBe(result.bytesProcessed);
  }

  it('has a source with branches, lightweight and annotated tags', () => {
    expect(sourceRefs.map((line) => line.split(' ').slice(1).join(' ')).sort()).toEqual([
      'commit refs/heads/feature/ingress',
      'commit refs/heads/main',
      'commit refs/heads/release/1.x',
      'commit refs/tags/v0.1.0',
      'tag refs/tags/v0.1.1',
      'tag refs/tags/v1.0.0',
    ]);
  });

  it('stores a file:// repository as one bundle that clones into every branch and tag', async () => {
    await expectWholeBundle(await backup({ url: `file://${source}` }));
  });

  it('stores a repository read over HTTP with basic auth, and never prints the password', async () => {
    const mover = await backup(
      { url: `http://127.0.0.1:${port}/flux-system.git`, credentials: { kind: 'basic' } },
      { GIT_USERNAME: username, GIT_PASSWORD: gitPassword },
    );
    await expectWholeBundle(mover);
    expect(printed(mover)).not.toContain(gitPassword);
  });

  it('stores nothing when the server refuses the password, and says so', async () => {
    const before = (await snapshots()).length;
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const mover = await backup(
      { url: `http://127.0.0.1:${port}/flux-system.git`, credentials: { kind: 'basic' } },
      { GIT_USERNAME: username, GIT_PASSWORD: wrong },
    );
    expect(mover.exitCode).not.toBe(0);
    expect(mover.result).toMatchObject({ type: 'error', code: 'SourceMissing' });
    if (mover.result.type !== 'error') return;
    expect(mover.result.message).toContain(
      `cannot read the Git repository http://127.0.0.1:${port}/flux-system.git: the server refused the username and password (GIT_USERNAME, GIT_PASSWORD from the Secret)`,
    );
    expect(mover.result.message).toContain('Authentication failed');
    expect(printed(mover)).not.toContain(wrong);
    expect((await snapshots()).length).toBe(before);
  });

  it('stores nothing when the task gives no credentials and the server asks for them', async () => {
    const mover = await backup({ url: `http://127.0.0.1:${port}/flux-system.git` });
    expect(mover.result).toMatchObject({ type: 'error', code: 'SourceMissing' });
    if (mover.result.type !== 'error') return;
    expect(mover.result.message).toContain('the server asks for credentials and the task gives none');
  });

  it('names an unreachable URL without its user info, and never prints the password', async () => {
    const before = (await snapshots()).length;
    const mover = await backup(
      { url: `http://token-user@127.0.0.1:${closedPort}/flux-system.git`, credentials: { kind: 'basic' } },
      { GIT_USERNAME: username, GIT_PASSWORD: gitPassword },
    );
    expect(mover.exitCode).not.toBe(0);
    expect(mover.result).toMatchObject({ type: 'error', code: 'SourceMissing' });
    if (mover.result.type !== 'error') return;
    expect(mover.result.message).toContain(
      `cannot read the Git repository http://127.0.0.1:${closedPort}/flux-system.git: the server cannot be reached (git: `,
    );
    expect(printed(mover)).not.toContain('token-user');
    expect(printed(mover)).not.toContain(gitPassword);
    expect((await snapshots()).length).toBe(before);
  });

  it('refuses a task with a password in its URL, without printing it', async () => {
    const mover = await backup({ url: `https://${username}:${gitPassword}@127.0.0.1:${port}/flux-system.git` });
    expect(mover.result).toMatchObject({ type: 'error', code: 'InvalidTask' });
    if (mover.result.type !== 'error') return;
    expect(mover.result.message).toContain('url: no password in the URL');
    expect(printed(mover)).not.toContain(gitPassword);
  });

  it('leaves no work folder behind', () => {
    const left = run('sh', ['-c', 'ls -d "$0"/git-* 2>/dev/null || true', work]);
    return expect(left).resolves.toMatchObject({ stdout: '' });
  });
});
