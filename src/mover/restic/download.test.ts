// The restic commands a download runs and the one PUT it makes (the mover's
// download over the restic engine), against a stand-in for restic and a local
// HTTP server in place of S3. The real restic and S3 are in
// test/mover-restore.test.ts.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DownloadTask } from '../../api/index.ts';
import { runDownload } from '../download.ts';
import { withoutQuery } from '../upload.ts';
import { resticRepository } from './engine.ts';
import { parseResticLine } from './output.ts';
import type { Restic } from './process.ts';

const tempDir = mkdtempSync(join(tmpdir(), 'mover-download-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));
afterEach(() => {
  // Whatever happened, the listing or file waiting for its upload is gone.
  expect(readdirSync(tempDir)).toEqual([]);
});

interface Answer {
  stdout?: string[];
  stderr?: string[];
  code?: number;
  /** What dump writes to its --target. */
  dumped?: string;
}

/** A restic that answers by subcommand (the first argument that is not a flag), and records each call. */
function scriptedRestic(answers: Record<string, Answer>) {
  const calls: string[] = [];
  const restic: Restic = (args, options = {}) => {
    calls.push(args.join(' '));
    const answer = answers[args.find((a) => !a.startsWith('-')) ?? ''] ?? {};
    const target = args.indexOf('--target');
    if (answer.dumped !== undefined && target >= 0) writeFileSync(args[target + 1] ?? '', answer.dumped);
    for (const raw of answer.stdout ?? []) options.onAnswer?.(raw);
    const messages = (answer.stderr ?? []).flatMap((raw) => {
      const line = parseResticLine(raw);
      return line.kind === 'exit-error' ? [line.message] : line.kind === 'text' ? [line.text] : [];
    });
    return Promise.resolve({ exitCode: answer.code ?? 0, messages, stopped: undefined });
  };
  return { restic, calls };
}

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

async function s3StandIn(status: number, answer = '') {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      response.writeHead(status).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/staging/obj?X-Amz-Signature=0123abcd`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const snapshotId = 'a05c7b569a9b1b75bf3fc94ec42420238ce1e2a7ebc74affe57d23dbe8e81749';
const snapshotLine = JSON.stringify({ message_type: 'snapshot', id: snapshotId, paths: ['/data'] });
const node = (path: string, type: string, more: object = {}) =>
  JSON.stringify({ message_type: 'node', name: path.split('/').at(-1), type, path, uid: 0, gid: 0, ...more });

function task(path: string, what: DownloadTask['what'], depth = 1): DownloadTask {
  return {
    kind: 'download',
    repository: { engine: 'restic' as const, url: 's3:http://127.0.0.1:7480/backups', initialize: true },
    cacheDir: '/cache',
    source: { snapshotId: 'a05c7b56', snapshotPath: '/data' },
    path,
    what,
    depth,
  };
}

async function download(
  given: DownloadTask,
  answers: Record<string, Answer>,
  uploadUrl: string | undefined,
  staging = tempDir,
) {
  const { restic, calls } = scriptedRestic(answers);
  const repository = resticRepository(given.repository, {
    restic,
    probe: () => Promise.resolve({ reachable: true }),
    openTimeoutMs: 10_000,
    log: () => undefined,
    warn: () => undefined,
  });
  const result = await runDownload(given, {
    repository,
    uploadUrl,
    tempDir: staging,
    uploadIdleTimeoutMs: 5_000,
    nowMs: () => 0,
    log: () => undefined,
    warn: () => undefined,
  });
  return { result, calls };
}

describe('runDownload', () => {
  it('uploads a listing to the depth asked for, with symlink targets, as JSON lines', async () => {
    const s3 = await s3StandIn(200);
    try {
      const { result, calls } = await download(
        task('/etc', 'listing', 2),
        {
          ls: {
            stdout: [
              snapshotLine,
              node('/data/etc', 'dir', { mode: 2147484141 }),
              node('/data/etc/app.conf', 'file', { size: 12, mode: 420, mtime: '2024-05-06T07:08:09.5Z' }),
              node('/data/etc/sub', 'dir'),
              node('/data/etc/sub/current', 'symlink'),
              node('/data/etc/sub/deeper', 'dir'),
              node('/data/etc/sub/deeper/too-deep', 'file'),
            ],
          },
          cat: { stdout: [JSON.stringify({ nodes: [{ name: 'current', type: 'symlink', linktarget: 'v2' }] })] },
        },
        s3.url,
      );
      expect(calls).toEqual([
        '--json unlock',
        'ls --json --recursive a05c7b56 /data/etc',
        `cat tree ${snapshotId}:/data/etc/sub`,
      ]);
      const lines = s3.received[0]?.body
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as object);
      expect(lines).toEqual([
        { path: '/etc/app.conf', type: 'file', size: 12, mode: 0o644, uid: 0, gid: 0, mtime: '2024-05-06T07:08:09.5Z' },
        { path: '/etc/sub', type: 'dir', uid: 0, gid: 0 },
        { path: '/etc/sub/current', type: 'symlink', uid: 0, gid: 0, linkTarget: 'v2' },
        { path: '/etc/sub/deeper', type: 'dir', uid: 0, gid: 0 },
      ]);
      expect(result).toEqual({
        type: 'downloaded',
        snapshotId,
        what: 'listing',
        bytes: s3.received[0]?.body.length,
        entries: 4,
        durationSeconds: 0,
      });
    } finally {
      await s3.close();
    }
  });

  it("lists a file as the file's own entry", async () => {
    const s3 = await s3StandIn(200);
    try {
      const { result } = await download(
        task('/etc/app.conf', 'listing'),
        { ls: { stdout: [snapshotLine, node('/data/etc/app.conf', 'file', { size: 12 })] } },
        s3.url,
      );
      expect(result).toMatchObject({ type: 'downloaded', entries: 1 });
      expect(JSON.parse(s3.received[0]?.body ?? '')).toMatchObject({ path: '/etc/app.conf', size: 12 });
    } finally {
      await s3.close();
    }
  });

  it('uploads a file with one PUT that says its length', async () => {
    const s3 = await s3StandIn(200);
    try {
      const { result, calls } = await download(
        task('/etc/app.conf', 'file'),
        { ls: { stdout: [snapshotLine, node('/data/etc/app.conf', 'file')] }, dump: { dumped: 'replicas: 3\n' } },
        s3.url,
      );
      expect(calls.at(-1)).toMatch(
        new RegExp(`^dump --target ${tempDir}/safehold-download-\\w+/file ${snapshotId} /data/etc/app.conf$`),
      );
      expect(s3.received).toEqual([
        expect.objectContaining({ method: 'PUT', url: '/staging/obj?X-Amz-Signature=0123abcd', body: 'replicas: 3\n' }),
      ]);
      expect(s3.received[0]?.headers['content-length']).toBe('12');
      expect(s3.received[0]?.headers['transfer-encoding']).toBeUndefined();
      expect(result).toMatchObject({ type: 'downloaded', what: 'file', bytes: 12 });
    } finally {
      await s3.close();
    }
  });

  it('refuses a folder or a symlink as a file, saying what to ask for instead', async () => {
    const folder = await download(
      task('/etc', 'file'),
      { ls: { stdout: [snapshotLine, node('/data/etc', 'dir'), node('/data/etc/x', 'file')] } },
      'http://127.0.0.1:9/x',
    );
    expect(folder.result).toEqual({
      type: 'error',
      code: 'PathNotFound',
      message: '/etc in snapshot a05c7b56 is a folder, not a file: download a listing of it, or restore it',
    });
    expect(folder.calls.some((call) => call.startsWith('dump'))).toBe(false);
    const link = await download(
      task('/current', 'file'),
      { ls: { stdout: [snapshotLine, node('/data/current', 'symlink')] } },
      'http://127.0.0.1:9/x',
    );
    expect(link.result).toMatchObject({
      code: 'PathNotFound',
      message: expect.stringContaining('is a symlink') as string,
    });
  });

  it("lists the root of a block volume's backup, whose image sits at the snapshot's root", async () => {
    const s3 = await s3StandIn(200);
    try {
      const block = { ...task('/', 'listing'), source: { snapshotId: 'a05c7b56', snapshotPath: '/' } };
      const { result, calls } = await download(
        block,
        {
          ls: {
            stdout: [
              JSON.stringify({ message_type: 'snapshot', id: snapshotId, paths: ['/team-disk.qcow2'] }),
              node('/team-disk.qcow2', 'file', { size: 196_616, mode: 0o644 }),
            ],
          },
        },
        s3.url,
      );
      expect(calls).toEqual(['--json unlock', 'ls --json a05c7b56 /']);
      expect(result).toMatchObject({ type: 'downloaded', entries: 1 });
      expect(JSON.parse(s3.received[0]?.body ?? '')).toMatchObject({ path: '/team-disk.qcow2', size: 196_616 });
    } finally {
      await s3.close();
    }
  });

  it('says a path the snapshot does not have is not found', async () => {
    const { result } = await download(
      task('/nope', 'listing'),
      { ls: { stdout: [snapshotLine] } },
      'http://127.0.0.1:9/x',
    );
    expect(result).toEqual({ type: 'error', code: 'PathNotFound', message: 'snapshot a05c7b56 does not have /nope' });
  });

  it("says the upload failed with S3's status and code, and not the URL's signature", async () => {
    const s3 = await s3StandIn(403, '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
    try {
      const { result } = await download(
        task('/etc/app.conf', 'file'),
        { ls: { stdout: [snapshotLine, node('/data/etc/app.conf', 'file')] }, dump: { dumped: 'x' } },
        s3.url,
      );
      expect(result).toMatchObject({ type: 'error', code: 'UploadFailed' });
      if (result.type !== 'error') return;
      expect(result.message).toContain(`${withoutQuery(s3.url)} failed: HTTP 403 AccessDenied (Request has expired)`);
      expect(result.message).not.toContain('0123abcd');
    } finally {
      await s3.close();
    }
  });

  it('says when nothing answers at the upload URL', async () => {
    const { result } = await download(
      task('/etc/app.conf', 'file'),
      { ls: { stdout: [snapshotLine, node('/data/etc/app.conf', 'file')] }, dump: { dumped: 'x' } },
      'http://127.0.0.1:9/staging/obj?X-Amz-Signature=0123abcd',
    );
    expect(result).toMatchObject({ type: 'error', code: 'UploadFailed' });
    if (result.type === 'error')
      expect(result.message).toMatch(/^the upload to http:\/\/127.0.0.1:9\/staging\/obj failed: .*ECONNREFUSED/);
  });

  it('says where it could not stage the download', async () => {
    const missing = join(tempDir, 'no-such-folder');
    const { result } = await download(task('/etc', 'listing'), {}, 'http://127.0.0.1:9/x', missing);
    expect(result).toMatchObject({ type: 'error', code: 'EngineFailed' });
    if (result.type === 'error')
      expect(result.message).toMatch(new RegExp(`^cannot make a folder in ${missing}: ENOENT`));
  });

  it('wants the upload URL before it opens the repository', async () => {
    const { result, calls } = await download(task('/etc', 'listing'), {}, undefined);
    expect(calls).toEqual([]);
    expect(result).toMatchObject({
      type: 'error',
      code: 'InvalidTask',
      message: expect.stringContaining('SAFEHOLD_UPLOAD_URL') as string,
    });
  });
});
