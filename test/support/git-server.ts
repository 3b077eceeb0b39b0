// A Git server for tests, as a forge serves clones: `git http-backend` behind
// basic auth on 127.0.0.1, and a source repository with branches, lightweight
// and annotated tags, as a GitOps repository has them.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../testenv/command.ts';

/** git as a person runs it in the test: no config from the machine, a fixed author. */
export const gitEnv = {
  PATH: process.env.PATH,
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Flux Test',
  GIT_AUTHOR_EMAIL: 'flux@example.com',
  GIT_COMMITTER_NAME: 'Flux Test',
  GIT_COMMITTER_EMAIL: 'flux@example.com',
};
export const git = async (args: string[], cwd?: string) =>
  (await run('git', args, { env: gitEnv, ...(cwd === undefined ? {} : { cwd }) })).stdout;

/** Every ref with the object it names, as for-each-ref prints them. */
export const refsOf = async (repository: string) =>
  (await git(['-C', repository, 'for-each-ref', '--format=%(objectname) %(objecttype) %(refname)']))
    .split('\n')
    .filter(Boolean)
    .sort();

/** `git http-backend` behind basic auth: what a Git forge does for a clone over HTTP. */
export function gitHttpServer(projectRoot: string, login: { username: string; password: string }): Server {
  const backend = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const child = spawn('git', ['http-backend'], {
      env: {
        ...gitEnv,
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: login.username,
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding'] === undefined
          ? {}
          : { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }),
        ...(typeof req.headers['git-protocol'] === 'string' ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
      },
    });
    req.pipe(child.stdin);
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('close', () => {
      // A CGI answer: header lines, an empty line, the body.
      const whole = Buffer.concat(out);
      const end = whole.indexOf('\r\n\r\n');
      const headers = whole.subarray(0, end).toString('latin1').split('\r\n');
      let status = 200;
      for (const line of headers) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.end(whole.subarray(end + 4));
    });
  };
  return createServer((req, res) => {
    const expected = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
      res.end('authentication required\n');
      return;
    }
    backend(req, res);
  });
}

export const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

/**
 * A bare repository at `bare` made from commits on three branches, with a lightweight tag and two
 * annotated ones (`work` holds the working tree it is cloned from).
 */
export async function makeSourceRepository(work: string, bare: string): Promise<void> {
  const tree = join(work, 'tree');
  mkdirSync(tree);
  await git(['init', '--quiet', '--initial-branch=main', tree]);
  const commit = async (file: string, message: string) => {
    await run('sh', ['-c', `echo "${message}" >> "${file}"`], { cwd: tree });
    await git(['add', '--all'], tree);
    await git(['commit', '--quiet', '-m', message], tree);
  };
  await commit('kustomization.yaml', 'cluster: initial kustomization');
  await commit('apps.yaml', 'apps: podinfo');
  await git(['tag', 'v0.1.0'], tree);
  await git(['checkout', '--quiet', '-b', 'feature/ingress'], tree);
  await commit('ingress.yaml', 'ingress: nginx');
  await git(['tag', '--annotate', '-m', 'first release with ingress', 'v1.0.0'], tree);
  await git(['checkout', '--quiet', 'main'], tree);
  await commit('apps.yaml', 'apps: podinfo 6.5');
  await git(['checkout', '--quiet', '-b', 'release/1.x', 'v0.1.0'], tree);
  await commit('hotfix.yaml', 'release: hotfix');
  await git(['tag', '--annotate', '-m', 'hotfix', 'v0.1.1'], tree);
  await git(['checkout', '--quiet', 'main'], tree);
  await git(['clone', '--bare', '--quiet', tree, bare]);
}
