// A small HTTP client for the Kubernetes API over node:https: typed reads and
// writes, server-side apply with one field manager, and a raw watch stream.
// Everything Safehold sends to the API server goes through here. Credentials
// are asked for before each request and asked again once after a 401.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import { ApiError } from './api-error.ts';
import type { Credential, CredentialSource } from './credentials.ts';
import { apiVersionOf, kinds, resourcePath, type ObjectRef, type ResourceKind } from './resources.ts';

import { fieldManager } from '../api/group.ts';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
}

export interface ObjectList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

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

export type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeClient {
  readonly server: URL;
  readonly defaultNamespace: string;
  /** Sent with every request, so audit logs tell Safehold's requests apart. */
  userAgent = 'safehold';
  readonly #connection: ClusterConnection;
  /** One agent per client certificate: a plugin or a rotated file may change it. */
  readonly #agents = new Map<string, HttpAgent | HttpsAgent>();

  constructor(connection: ClusterConnection) {
    this.server = new URL(connection.server);
    this.defaultNamespace = connection.namespace ?? 'default';
    this.#connection = connection;
  }

  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#send(method, path, options);
    const text = await readAll(response);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw ApiError.fromResponse(method, path, status, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  get<T = KubeObject>(k: ResourceKind, ref: ObjectRef & { name: string }): Promise<T> {
    return this.request<T>('GET', resourcePath(k, ref));
  }

  /** One page-following LIST; `namespace` undefined lists across all namespaces. */
  async list<T extends KubeObject>(
    k: ResourceKind,
    options: { namespace?: string; query?: Query } = {},
  ): Promise<ObjectList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<ObjectList<T>>('GET', resourcePath(k, { namespace: options.namespace }), {
        query: { ...options.query, limit: 500, continue: cont },
      });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (cont !== undefined);
    return { metadata: { ...(resourceVersion === undefined ? {} : { resourceVersion }) }, items };
  }

  create<T extends KubeObject>(k: ResourceKind, object: T, namespace?: string): Promise<T> {
    return this.request<T>('POST', resourcePath(k, { namespace: namespace ?? object.metadata?.namespace }), {
      body: { apiVersion: apiVersionOf(k), kind: k.kind, ...object },
    });
  }

  replace<T extends KubeObject>(k: ResourceKind, object: T, subresource?: string): Promise<T> {
    return this.request<T>('PUT', resourcePath(k, refOf(object), subresource), { body: object });
  }

  /** Server-side apply as the field manager `safehold`; `force` takes over conflicting fields. */
  apply<T extends KubeObject>(
    k: ResourceKind,
    object: T,
    options: { force?: boolean; subresource?: string } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(k, refOf(object), options.subresource), {
      body: { apiVersion: apiVersionOf(k), kind: k.kind, ...object },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: options.force },
    });
  }

  /** JSON merge patch, optionally of a subresource such as `status`. */
  mergePatch<T extends KubeObject>(
    k: ResourceKind,
    ref: ObjectRef & { name: string },
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(k, ref, subresource), {
      body: patch,
      contentType: 'application/merge-patch+json',
      query: { fieldManager },
    });
  }

  delete(
    k: ResourceKind,
    ref: ObjectRef & { name: string },
    options: {
      propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
      gracePeriodSeconds?: number;
      preconditionsUid?: string;
    } = {},
  ): Promise<unknown> {
    return this.request('DELETE', resourcePath(k, ref), {
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }),
        ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
        ...(options.preconditionsUid === undefined ? {} : { preconditions: { uid: options.preconditionsUid } }),
      },
    });
  }

  /** A container's log as text (`pods/log`): `tailLines: 1` gives the latest line. */
  async podLog(
    namespace: string,
    name: string,
    options: { container?: string; tailLines?: number; limitBytes?: number } = {},
  ): Promise<string> {
    const path = resourcePath(kinds.pod, { namespace, name }, 'log');
    const response = await this.#send('GET', path, { query: options });
    const text = await readAll(response);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw ApiError.fromResponse('GET', path, status, text);
    return text;
  }

  /**
   * Opens a watch and calls onEvent for each event until the server ends the
   * stream (resolves) or the signal aborts (resolves) or a transport error
   * happens (rejects). An HTTP error status rejects with ApiError.
   */
  async watch<T>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const response = await this.#send('GET', path, {
      query: { ...query, watch: true },
      ...(signal === undefined ? {} : { signal }),
    });
    const status = response.statusCode ?? 0;
    if (status !== 200) throw ApiError.fromResponse('GET', path, status, await readAll(response));
    const lines = createInterface({ input: response, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    } catch (error) {
      if (signal?.aborted === true) return;
      throw error;
    } finally {
      response.destroy();
    }
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<IncomingMessage> {
    const { credentials } = this.#connection;
    const credential = await credentials.current();
    const response = await this.#sendAs(credential, method, path, options);
    if (response.statusCode !== 401 || !credentials.refused(credential)) return response;
    response.resume();
    return this.#sendAs(await credentials.current(), method, path, options);
  }

  #agentFor(credential: Credential): HttpAgent | HttpsAgent {
    const id = `${credential.cert ?? ''}\0${credential.key ?? ''}`;
    const known = this.#agents.get(id);
    if (known !== undefined) return known;
    const c = this.#connection;
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

  #sendAs(credential: Credential, method: string, path: string, options: RequestOptions): Promise<IncomingMessage> {
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (credential.authorization !== undefined) headers.authorization = credential.authorization;
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers,
          agent: this.#agentFor(credential),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

function refOf(object: KubeObject): ObjectRef & { name: string } {
  const name = object.metadata?.name;
  if (name === undefined) throw new Error(`${object.kind ?? 'object'} has no metadata.name`);
  return { name, namespace: object.metadata?.namespace };
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
