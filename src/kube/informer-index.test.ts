// An informer's indexes follow its store through a LIST and a WATCH, served by
// a local HTTP server speaking the API server's list and watch formats.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient, type KubeObject } from './client.ts';
import { staticCredentials } from './credentials.ts';
import { Informer } from './informer.ts';
import { kinds } from './resources.ts';

const pod = (name: string, volume: string, rv: string): KubeObject => ({
  metadata: { name, namespace: 'team', resourceVersion: rv, labels: { volume } },
});

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('Informer indexes', () => {
  it('find objects by value as they are listed, changed and deleted', async () => {
    let watch: ServerResponse | undefined;
    server = createServer((req, res) => {
      req.resume();
      if ((req.url ?? '').includes('watch=true')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        watch = res;
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ metadata: { resourceVersion: '2' }, items: [pod('a', 'data', '1'), pod('b', 'data', '2')] }),
        );
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const client = new KubeClient({ server: `http://127.0.0.1:${port}`, credentials: staticCredentials() });
    const informer = new Informer<KubeObject>(client, kinds.pod, { watchTimeoutSeconds: 60 }).addIndex(
      'volume',
      (p) => [p.metadata?.labels?.volume ?? ''],
    );
    const changes: string[] = [];
    informer.onChange((c) => changes.push(`${c.type} ${c.key}`));
    informer.start();
    await informer.synced();
    const names = (volume: string) =>
      informer
        .byIndex('volume', volume)
        .map((p) => p.metadata?.name)
        .sort();
    expect(names('data')).toEqual(['a', 'b']);

    const send = (type: string, object: KubeObject) => watch?.write(`${JSON.stringify({ type, object })}\n`);
    while (watch === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    send('MODIFIED', pod('b', 'logs', '3'));
    send('ADDED', pod('c', 'logs', '4'));
    send('DELETED', pod('a', 'data', '5'));
    while (changes.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(names('data')).toEqual([]);
    expect(names('logs')).toEqual(['b', 'c']);
    expect(() => informer.byIndex('owner', 'x')).toThrow(/no index owner/);
    await informer.stop();
    client.close();
  });
});
