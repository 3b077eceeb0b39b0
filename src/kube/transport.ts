// The connection every client derived from one kubeconfig shares: where the
// API server is, how to log in, and one keep-alive agent per client
// certificate. It sends one HTTP request and hands back the response; what to
// send, how often and how long to wait is the client's business.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Credential, CredentialSource } from './credentials.ts';

/** Where the API server is and how to log in to it (see login.ts for kubeconfigs and Pods). */
export interface ClusterConnection {
  server: string;
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  /** An http:// or https:// proxy, reached with CONNECT. */
  proxyUrl?: string;
  /** The namespace commands use when none is given (the context's, or the Pod's). */
  namespace?: string;
  credentials: CredentialSource;
}

export interface OutgoingRequest {
  method: string;
  url: URL;
  body: string | undefined;
  contentType: string | undefined;
  userAgent: string;
  signal: AbortSignal | undefined;
  /** Runs right before the request is handed to the socket: it may throw to refuse sending. */
  beforeSend: (() => void) | undefined;
}

export class Transport {
  readonly server: URL;
  readonly connection: ClusterConnection;
  /** One agent per client certificate: a plugin or a rotated file may change it. */
  readonly #agents = new Map<string, HttpAgent | HttpsAgent>();

  constructor(connection: ClusterConnection) {
    this.server = new URL(connection.server);
    this.connection = connection;
  }

  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  /** Sends with the current credential, and once more with a fresh one after a 401. */
  async send(request: OutgoingRequest): Promise<IncomingMessage> {
    const { credentials } = this.connection;
    const credential = await credentials.current();
    const response = await this.#sendAs(credential, request);
    if (response.statusCode !== 401 || !credentials.refused(credential)) return response;
    response.resume();
    return this.#sendAs(await credentials.current(), request);
  }

  /**
   * What a WebSocket to the API server needs (exec): the agent that carries this
   * connection's TLS settings and client certificate, the Authorization header, and
   * what to call when the server answers 401 (true: a fresh credential is worth a retry).
   */
  async upgradeOptions(): Promise<{
    agent: HttpAgent | HttpsAgent;
    headers: Record<string, string>;
    refused: () => boolean;
  }> {
    const { credentials } = this.connection;
    const credential = await credentials.current();
    return {
      agent: this.#agentFor(credential),
      headers: credential.authorization === undefined ? {} : { authorization: credential.authorization },
      refused: () => credentials.refused(credential),
    };
  }

  #agentFor(credential: Credential): HttpAgent | HttpsAgent {
    const id = `${credential.cert ?? ''}\0${credential.key ?? ''}`;
    const known = this.#agents.get(id);
    if (known !== undefined) return known;
    const c = this.connection;
    const https = this.server.protocol === 'https:';
    const proxyEnv =
      c.proxyUrl === undefined ? {} : { proxyEnv: https ? { HTTPS_PROXY: c.proxyUrl } : { HTTP_PROXY: c.proxyUrl } };
    const agent = https
      ? new HttpsAgent({
          keepAlive: true,
          ...proxyEnv,
          ...(c.ca === undefined ? {} : { ca: c.ca }),
          ...(credential.cert === undefined ? {} : { cert: credential.cert }),
          ...(credential.key === undefined ? {} : { key: credential.key }),
          ...(c.tlsServerName === undefined ? {} : { servername: c.tlsServerName }),
          rejectUnauthorized: c.insecureSkipTlsVerify !== true,
        })
      : new HttpAgent({ keepAlive: true, ...proxyEnv });
    this.#agents.set(id, agent);
    // The previous certificate's agent stays for the watches still open on it; older ones go.
    for (const [oldId, old] of [...this.#agents].slice(0, -2)) {
      old.destroy();
      this.#agents.delete(oldId);
    }
    return agent;
  }

  #sendAs(credential: Credential, request: OutgoingRequest): Promise<IncomingMessage> {
    const { method, url, body } = request;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': request.userAgent };
    if (credential.authorization !== undefined) headers.authorization = credential.authorization;
    if (body !== undefined) {
      headers['content-type'] = request.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      request.beforeSend?.();
      const req = send(
        url,
        {
          method,
          headers,
          agent: this.#agentFor(credential),
          ...(request.signal === undefined ? {} : { signal: request.signal }),
        },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
