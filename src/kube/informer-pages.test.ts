// An informer caches a long LIST a page at a time: what one page held is in
// the store, and its handlers have heard of it, before the next page is asked
// for. A 140,000-object relist then never holds the whole raw list, and other
// work (a Lease renewal) runs between its pages.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient, type KubeObject } from './client.ts';
import { staticCredentials } from './credentials.ts';
import { Informer } from './informer.ts';
import { kinds } from './resources.ts';

const pod = (name: string): KubeObject => ({ metadata: { name, namespace: 'team', resourceVersion: '7' } });

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('Informer relist', () => {
  it('caches each page before it asks for the next, in pages of the size asked for', async () => {
    const cachedWhenAsked: string[][] = [];
    const limits: (string | null)[] = [];
    server = createServer((req, res) => {
      req.resume();
      const url = new URL(req.url ?? '', 'http://x');
      if (url.searchParams.get('watch') !== 'true') limits.push(url.searchParams.get('limit'));
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        return;
      }
      const page = url.searchParams.get('continue') ?? '';
      cachedWhenAsked.push(
        informer
          .list()
          .map((p) => p.metadata?.name ?? '')
          .sort(),
      );
      const body =
        page === ''
          ? { metadata: { resourceVersion: '7', continue: 'second' }, items: [pod('a'), pod('b')] }
          : page === 'second'
            ? { metadata: { resourceVersion: '7', continue: 'third' }, items: [pod('c')] }
            : { metadata: { resourceVersion: '7' }, items: [pod('d')] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const client = new KubeClient({ server: `http://127.0.0.1:${port}`, credentials: staticCredentials() });
    const informer = new Informer<KubeObject>(client, kinds.pod, { watchTimeoutSeconds: 60, pageSize: 2 });
    const heard: string[] = [];
    informer.onChange((c) => heard.push(c.key));
    informer.start();
    await informer.synced();
    expect(cachedWhenAsked).toEqual([[], ['a', 'b'], ['a', 'b', 'c']]);
    expect(heard).toEqual(['team/a', 'team/b', 'team/c', 'team/d']);
    // Pages of the size asked for (large objects come in small pages).
    expect(limits).toEqual(['2', '2', '2']);
    await informer.stop();
    client.close();
  });
});
