import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchBody } from './http-fetch.ts';

const limits = { answerMs: 300, idleMs: 300 };
let server: Server | undefined;
const open: ServerResponse[] = [];

/** A local server answering every request with `handle`; its URL. */
async function serve(handle: (response: ServerResponse) => void): Promise<string> {
  server = createServer((_, response) => {
    open.push(response);
    handle(response);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/bucket/key?X-Amz-Signature=s`;
}

const collect = async (body: AsyncIterable<Uint8Array>) => {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
};

afterEach(async () => {
  for (const response of open.splice(0)) response.destroy();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('fetchBody', () => {
  it('hands on the body chunk by chunk', async () => {
    const url = await serve((response) => {
      response.write('first ');
      setTimeout(() => response.end('second'), 50);
    });
    expect(await collect(fetchBody(url, 'the file /a', limits))).toBe('first second');
  });

  it('gives up on a server that never answers, saying what and where', async () => {
    const url = await serve(() => undefined);
    await expect(collect(fetchBody(url, 'the file /a', limits))).rejects.toThrow(
      /^fetching the file \/a from http:\/\/127\.0\.0\.1:\d+: no answer within 0\.3s$/,
    );
  });

  it('gives up on a body that stalls, saying how far it got', async () => {
    const url = await serve((response) => response.write('0123456789'));
    await expect(collect(fetchBody(url, 'the file /a', limits))).rejects.toThrow(/: no data for 0\.3s after 10 bytes$/);
  });

  it('does not count time the reader takes as a stall', async () => {
    const url = await serve((response) => {
      response.write('a');
      setTimeout(() => response.end('b'), 20);
    });
    const chunks: string[] = [];
    for await (const chunk of fetchBody(url, 'the file /a', limits)) {
      chunks.push(Buffer.from(chunk).toString());
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(chunks.join('')).toBe('ab');
  });

  it('says what the server answered when it refuses, without the signature', async () => {
    const url = await serve((response) => {
      response.statusCode = 403;
      response.end('expired');
    });
    const error = await collect(fetchBody(url, 'the file /a', limits)).catch((e: unknown) => e);
    expect(String(error)).toMatch(/fetching the file \/a from http:\/\/127\.0\.0\.1:\d+ answered 403 Forbidden/);
    expect(String(error)).not.toContain('Signature');
  });

  it('says why a connection failed', async () => {
    const url = await serve(() => undefined);
    await new Promise((resolve) => server?.close(resolve));
    await expect(collect(fetchBody(url, 'the file /a', limits))).rejects.toThrow(
      /failed after 0 bytes: .*ECONNREFUSED/,
    );
  });
});
