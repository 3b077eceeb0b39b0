// The client against a local HTTP server that misbehaves as an overloaded or
// stuck API server would: it never answers, sheds load with 429, fails with 5xx.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from './api-error.ts';
import { KubeClient, RequestTimeoutError } from './client.ts';
import { staticCredentials } from './credentials.ts';
import { noRetry } from './request-retry.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server answering with `handler`; `seen` lists each request as "METHOD path". */
async function serve(
  handler: Handler,
): Promise<{ client: (o?: ConstructorParameters<typeof KubeClient>[1]) => KubeClient; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    handler(req, res, seen.length);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const connection = { server: `http://127.0.0.1:${port}`, credentials: staticCredentials() };
  return { client: (options) => new KubeClient(connection, options), seen };
}

const ok = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Pod"}');
const status = (res: ServerResponse, code: number, headers: Record<string, string> = {}) =>
  res
    .writeHead(code, { 'content-type': 'application/json', ...headers })
    .end(JSON.stringify({ kind: 'Status', reason: 'TooManyRequests', message: 'busy' }));

describe('KubeClient', () => {
  it('abandons a request the server never answers, naming what it asked', async () => {
    const { client } = await serve(() => undefined);
    const c = client({ timeoutMs: 200, retry: noRetry });
    const error = await c.request('GET', '/api/v1/namespaces/a/pods/p').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(String(error)).toContain('GET /api/v1/namespaces/a/pods/p: no answer from the API server within 0.2 s');
    c.close();
  });

  it('sends again after 429, honouring Retry-After, for any verb', async () => {
    const { client, seen } = await serve((_req, res, n) =>
      n < 3 ? status(res, 429, { 'retry-after': '0' }) : ok(res),
    );
    const c = client();
    await expect(c.request('POST', '/api/v1/namespaces/a/pods', { body: {} })).resolves.toEqual({ kind: 'Pod' });
    expect(seen).toHaveLength(3);
    c.close();
  });

  it('retries a 5xx read, but not a create the server may have carried out', async () => {
    const failing = await serve((req, res, n) => (req.method === 'POST' || n === 1 ? status(res, 503) : ok(res)));
    const c = failing.client();
    await expect(c.request('GET', '/api/v1/pods')).resolves.toEqual({ kind: 'Pod' });
    expect(failing.seen).toHaveLength(2);
    const error = await c.request('POST', '/api/v1/namespaces/a/pods', { body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(503);
    expect(failing.seen).toHaveLength(3);
    c.close();
  });

  it("gives up after the last attempt with the server's answer", async () => {
    const { client, seen } = await serve((_req, res) => status(res, 500));
    const c = client({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 } });
    await expect(c.request('GET', '/api/v1/pods')).rejects.toThrow(/500/);
    expect(seen).toHaveLength(3);
    c.close();
  });

  it('a fence that refuses stops every write before it is sent, and lets reads through', async () => {
    const { client, seen } = await serve((_req, res) => ok(res));
    const fenced = client().derive({
      fence: () => {
        throw Object.assign(new Error('not the leader'), { fenced: true });
      },
    });
    await expect(fenced.request('GET', '/api/v1/pods')).resolves.toEqual({ kind: 'Pod' });
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'])
      await expect(fenced.request(method, '/api/v1/namespaces/a/pods/p', { body: {} })).rejects.toThrow(
        'not the leader',
      );
    expect(seen).toEqual(['GET /api/v1/pods']);
    fenced.close();
  });
});
