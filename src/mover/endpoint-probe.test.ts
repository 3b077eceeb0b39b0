import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeEndpoint, s3Endpoint } from './endpoint-probe.ts';

describe('s3Endpoint', () => {
  it.each([
    ['s3:http://rgw.example:7480/backups/tenant-a', 'http://rgw.example:7480'],
    ['s3:https://s3.example.com/bucket', 'https://s3.example.com'],
    ['s3:s3.amazonaws.com/bucket/prefix', 'https://s3.amazonaws.com'],
    ['s3:minio.local:9000/b', 'https://minio.local:9000'],
    ['rest:http://rest.example:8000/', undefined],
    ['/srv/restic-repo', undefined],
  ])('%s is at %s', (url, endpoint) => {
    expect(s3Endpoint(url)).toBe(endpoint);
  });
});

describe('probeEndpoint', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
  });
  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it.each([200, 403, 404, 503])('counts an HTTP %d answer as reachable', async (status) => {
    const endpoint = await listen((_, response) => response.writeHead(status).end('<Error/>'));
    expect(await probeEndpoint(endpoint, 2_000)).toEqual({ reachable: true });
  });

  it('reports a closed port as unreachable, naming the refusal', async () => {
    const endpoint = await listen(() => undefined);
    servers.pop()?.close();
    const result = await probeEndpoint(endpoint, 2_000);
    expect(result.reachable).toBe(false);
    if (!result.reachable) expect(result.reason).toContain('ECONNREFUSED');
  });

  it('reports a closed port as not connected, so the mover calls it unreachable', async () => {
    const endpoint = await listen(() => undefined);
    servers.pop()?.close();
    expect(await probeEndpoint(endpoint, 2_000)).toMatchObject({ reachable: false, connected: false });
  });

  it('reports an endpoint that accepts connections but never answers as connected: stalled, not unreachable', async () => {
    const endpoint = await listen(() => undefined);
    const result = await probeEndpoint(endpoint, 300);
    expect(result).toEqual({ reachable: false, reason: 'connected, but no answer within 0.3 s', connected: true });
  });

  it('counts a TLS complaint as reachable: restic may trust a CA that Node does not', async () => {
    const endpoint = await listen((_, response) => response.end());
    expect(await probeEndpoint(endpoint.replace('http:', 'https:'), 2_000)).toEqual({ reachable: true });
  });
});
