import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeletServer, type KubeletServer } from './kubelet-server.ts';

describe('the kubelet endpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safehold-kubelet-'));
  const certPath = join(dir, 'kubelet.crt');
  let server: KubeletServer;

  beforeAll(async () => {
    // prettier-ignore
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'kubelet.key'), '-out', certPath, '-days', '1',
      '-subj', '/CN=test', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    writeFileSync(join(dir, 'main.log'), 'one\ntwo\nthree\n');
    server = await startKubeletServer({
      tls: { cert: readFileSync(certPath, 'utf8'), key: readFileSync(join(dir, 'kubelet.key'), 'utf8') },
      logPath: (namespace, pod, container) => {
        if (namespace !== 'ns' || pod !== 'p') return undefined;
        if (container === 'main') return join(dir, 'main.log');
        return container === 'sidecar' ? join(dir, 'sidecar.log') : undefined;
      },
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, ca: readFileSync(certPath) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves a container log over TLS, cut by tailLines and limitBytes', async () => {
    expect(await get('/containerLogs/ns/p/main?tailLines=2')).toEqual({ status: 200, body: 'two\nthree\n' });
    expect(await get('/containerLogs/ns/p/main?limitBytes=5')).toEqual({ status: 200, body: 'one\nt' });
  });

  it('answers 404 for unknown pods and containers and for a container that wrote nothing yet', async () => {
    expect((await get('/containerLogs/ns/other/main')).status).toBe(404);
    expect((await get('/containerLogs/ns/p/nope')).status).toBe(404);
    expect((await get('/containerLogs/ns/p/sidecar')).status).toBe(404);
    expect((await get('/exec/ns/p/main')).status).toBe(404);
  });

  it('answers 400 for a malformed option', async () => {
    expect((await get('/containerLogs/ns/p/main?tailLines=-3')).status).toBe(400);
  });
});
