import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Credential } from './credentials.ts';
import { execInPod, parseStatus } from './exec.ts';
import { Transport } from './transport.ts';

describe('parseStatus', () => {
  it.each([
    ['{"metadata":{},"status":"Success"}', { exitCode: 0, timedOut: false, error: undefined }],
    [
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
      { exitCode: 3, timedOut: false, error: undefined },
    ],
    [
      '{"metadata":{},"status":"Failure","message":"container not found (\\"db\\")","reason":"InternalError"}',
      { exitCode: undefined, timedOut: false, error: 'container not found ("db")' },
    ],
    ['not json', { exitCode: undefined, timedOut: false, error: 'unreadable exec status: not json' }],
  ])('reads %s', (text, expected) => {
    expect(parseStatus(text)).toEqual(expected);
  });
});

describe('execInPod', () => {
  /** An API server's pods/exec on loopback that refuses tokens other than `accepted` and runs nothing for them. */
  async function execServer(accepted: string) {
    const seen: string[] = [];
    const sockets = new WebSocketServer({ noServer: true });
    const server = createServer();
    server.on('upgrade', (req, socket, head) => {
      const token = req.headers.authorization ?? '';
      seen.push(token);
      if (token !== `Bearer ${accepted}`) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\r\n{"message":"Unauthorized"}');
        return;
      }
      sockets.handleUpgrade(req, socket, head, (ws) => {
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('ran once\n')]));
        ws.send(Buffer.concat([Buffer.from([3]), Buffer.from('{"status":"Success"}')]));
        ws.close();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, seen, close: () => server.close() };
  }

  const request = {
    namespace: 'team-a',
    pod: 'db-0',
    container: 'db',
    command: ['echo', 'hi'],
    timeoutMs: 10_000,
    userAgent: 'test',
  };

  it('tries once more with a fresh token when the one it had was refused (it rotated), and runs the command once', async () => {
    const server = await execServer('new');
    let token = 'old';
    const credentials = {
      current: () => Promise.resolve<Credential>({ authorization: `Bearer ${token}` }),
      refused: (credential: Credential) => {
        const fresher = credential.authorization === 'Bearer old';
        token = 'new';
        return fresher;
      },
    };
    const transport = new Transport({ server: server.url, credentials });
    try {
      const result = await execInPod(transport, request);
      expect(result).toMatchObject({ exitCode: 0, stdout: 'ran once\n', error: undefined });
      expect(server.seen).toEqual(['Bearer old', 'Bearer new']);
    } finally {
      transport.close();
      server.close();
    }
  });

  it('says the refusal when no fresher credential can help', async () => {
    const server = await execServer('new');
    const transport = new Transport({
      server: server.url,
      credentials: { current: () => Promise.resolve({ authorization: 'Bearer old' }), refused: () => false },
    });
    try {
      const result = await execInPod(transport, request);
      expect(result).toMatchObject({ exitCode: undefined, error: 'HTTP 401: Unauthorized' });
      expect(server.seen).toEqual(['Bearer old']);
    } finally {
      transport.close();
      server.close();
    }
  });
});
