// One test node's kubelet endpoint: the HTTPS server kube-apiserver proxies
// `pods/log` to (https://<InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>
// /containerLogs/<namespace>/<pod>/<container>). Logs are all it serves; it
// binds 127.0.0.1 on a free port, and asks for no client certificate.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseLogOptions, readContainerLog } from './container-logs.ts';

export interface KubeletServerOptions {
  /** PEM serving certificate and key; kube-apiserver trusts the certificate (--kubelet-certificate-authority). */
  tls: { cert: string; key: string };
  /** The log file of a container of a Pod on this node, or undefined when the node has no such Pod or container. */
  logPath: (namespace: string, pod: string, container: string) => string | undefined;
  log: (line: string) => void;
}

export interface KubeletServer {
  port: number;
  close: () => Promise<void>;
}

const containerLogsPath = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/;

export async function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServer> {
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (request, response) => {
    serve(request, response, options).catch((error: unknown) => {
      options.log(`kubelet endpoint ${request.url ?? ''}: ${String(error)}`);
      if (!response.headersSent) reply(response, 500, 'internal error');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function serve(request: IncomingMessage, response: ServerResponse, options: KubeletServerOptions): Promise<void> {
  const url = new URL(request.url ?? '/', 'https://127.0.0.1');
  const match = containerLogsPath.exec(url.pathname);
  if (match === null) return reply(response, 404, `${url.pathname}: the test node serves only /containerLogs`);
  if (request.method !== 'GET') return reply(response, 405, `${request.method ?? ''} is not allowed`);
  const [namespace, pod, container] = match.slice(1).map((part) => decodeURIComponent(part)) as [
    string,
    string,
    string,
  ];
  const parsed = parseLogOptions(url.searchParams);
  if (!parsed.ok) return reply(response, 400, parsed.error);
  const path = options.logPath(namespace, pod, container);
  if (path === undefined) return reply(response, 404, `no container "${container}" of pod ${namespace}/${pod} here`);
  let body: Buffer;
  try {
    body = await readContainerLog(path, parsed.options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return reply(response, 404, `container "${container}" of pod ${namespace}/${pod} has not started`);
  }
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
  response.end(body);
}

function reply(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(`${message}\n`);
}
