import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorView } from '../core/index.ts';
import { dashboardPages, respond } from './pages.ts';
import { route } from './paths.ts';

const leading: OperatorView = {
  role: 'leading',
  identity: 'operator-0',
  now: new Date('2026-11-22T12:00:00Z'),
  coverage: [
    {
      namespace: 'shop',
      name: 'db',
      size: '1Gi',
      storageClass: 'fast',
      volumeMode: 'Filesystem',
      phase: 'Bound',
      decision: { state: 'unprotected', cause: 'NoPolicy', reason: 'no policy selects it' },
      lastBackup: undefined,
      nextRun: undefined,
      problems: [],
    },
  ],
  backups: [],
  restores: [],
  repositories: [],
  state: [],
};

describe('route', () => {
  it.each([
    ['/', { page: 'coverage', namespace: undefined }],
    ['/?namespace=shop', { page: 'coverage', namespace: 'shop' }],
    ['/api/coverage.json', { page: 'coverage-json' }],
    ['/volumes/shop/db%2D1', { page: 'volume', namespace: 'shop', pvc: 'db-1' }],
    ['/volumes/shop/%E0%A4%A', undefined],
    ['/volumes/shop', undefined],
    ['/metrics', undefined],
  ])('%s', (address, expected) => {
    expect(route(new URL(address, 'http://dashboard'))).toEqual(expected);
  });
});

describe('respond', () => {
  it.each(['standby', 'starting'] as const)(
    'on a %s replica, says so with 503 rather than showing an empty cluster',
    (role) => {
      const reply = respond({ page: 'coverage', namespace: undefined }, { role, identity: 'operator-1' });
      expect(reply.status).toBe(503);
      expect(reply.body).toContain(role === 'standby' ? 'is standing by' : 'is reading the cluster');
      expect(reply.body).toContain('operator-1');
    },
  );

  it('gives the same records as `safehold status -o json`', () => {
    const reply = respond({ page: 'coverage-json' }, leading);
    expect(reply.contentType).toBe('application/json');
    expect(JSON.parse(reply.body)).toEqual([
      expect.objectContaining({ namespace: 'shop', name: 'db', decision: 'UNPROTECTED', cause: 'NoPolicy' }),
    ]);
  });

  it('answers 404 for a volume it does not know', () => {
    expect(respond({ page: 'volume', namespace: 'shop', pvc: 'gone' }, leading).status).toBe(404);
  });
});

describe('dashboardPages over HTTP', () => {
  let server: Server;
  let base = '';

  beforeAll(async () => {
    const pages = dashboardPages(() => leading);
    server = createServer((request, response) => {
      if (!pages(request, response)) response.writeHead(404).end('not the dashboard\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves the page with headers that let nothing run or load', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await response.text()).toContain('data-volume="shop/db"');
  });

  it('answers HEAD without a body', async () => {
    const response = await fetch(`${base}/`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('refuses %s with 405: it is read-only', async (method) => {
    const response = await fetch(`${base}/volumes/shop/db`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('leaves addresses that are not its own to the server', async () => {
    const response = await fetch(`${base}/elsewhere`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('not the dashboard\n');
  });
});
