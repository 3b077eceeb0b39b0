// A small HTTP client for the Kubernetes API: typed reads and writes,
// server-side apply with one field manager, and a raw watch stream.
// Everything Safehold sends to the API server goes through here, and so does
// what keeps it a good citizen: a timeout on every attempt, retries of 429
// and 5xx with jittered backoff that honour Retry-After, a client-side rate
// limit, and a fence that refuses writes from a replica that lost its Lease.
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from './api-error.ts';
import { RateLimiter, type RateLimit } from './rate-limiter.ts';
import { defaultRetryPolicy, retryDelay, type Outcome, type RetryPolicy } from './request-retry.ts';
import { apiVersionOf, kinds, resourcePath, type ObjectRef, type ResourceKind } from './resources.ts';
import { attachStdin, type AttachRequest, type StdinWriter } from './attach.ts';
import { execInPod, type ExecRequest, type ExecResult } from './exec.ts';
import { Transport, type ClusterConnection } from './transport.ts';

import { fieldManager } from '../api/group.ts';

export type { ClusterConnection } from './transport.ts';

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

export type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** How one client sends: a timeout per attempt, retries, the rate limit, and a fence for writes. */
export interface ClientOptions {
  /** How long one attempt may take, answer and body; for a watch, until its stream starts. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** The client-side limit; a derived client shares its parent's bucket unless it names its own. */
  rateLimit: RateLimit | undefined;
  /** Runs right before every write is sent and throws to refuse it. */
  fence: (() => void) | undefined;
}

export const defaultClientOptions: ClientOptions = {
  timeoutMs: 30_000,
  retry: defaultRetryPolicy,
  rateLimit: { qps: 50, burst: 100 },
  fence: undefined,
};

/** No answer within the client's timeout: the attempt was abandoned. */
export class RequestTimeoutError extends Error {
  constructor(method: string, path: string, timeoutMs: number, options?: ErrorOptions) {
    super(`${method} ${path}: no answer from the API server within ${timeoutMs / 1000} s`, options);
    this.name = 'RequestTimeoutError';
  }
}

interface Answer {
  status: number;
  text: string;
  retryAfter: string | undefined;
}

interface Shared {
  transport: Transport;
  limiter: RateLimiter | undefined;
}

export class KubeClient {
  readonly server: URL;
  readonly defaultNamespace: string;
  /** Sent with every request, so audit logs tell Safehold's requests apart. */
  userAgent = 'safehold';
  readonly #shared: Shared;
  readonly #options: ClientOptions;

  constructor(connection: ClusterConnection, options: Partial<ClientOptions> = {}, shared?: Shared) {
    this.#options = { ...defaultClientOptions, ...options };
    this.#shared = shared ?? {
      transport: new Transport(connection),
      limiter: limiterFor(this.#options.rateLimit),
    };
    this.server = this.#shared.transport.server;
    this.defaultNamespace = connection.namespace ?? 'default';
  }

  /**
   * A client on the same connection that sends differently (its own timeout,
   * retries or fence). It shares this client's rate limit unless it names its own.
   */
  derive(options: Partial<ClientOptions>): KubeClient {
    const { transport, limiter } = this.#shared;
    const own = 'rateLimit' in options ? limiterFor(options.rateLimit) : limiter;
    const derived = new KubeClient(transport.connection, { ...this.#options, ...options }, { transport, limiter: own });
    derived.userAgent = this.userAgent;
    return derived;
  }

  /** Closes idle keep-alive sockets so the process can exit. */
  close(): void {
    this.#shared.transport.close();
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const answer = await this.#exchange(method, path, options);
    return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
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
    let resourceVersion: string | undefined;
    for await (const page of this.listPages<T>(k, options)) {
      items.push(...page.items);
      resourceVersion = page.metadata.resourceVersion;
    }
    return { metadata: { ...(resourceVersion === undefined ? {} : { resourceVersion }) }, items };
  }

  /**
   * A LIST a page at a time: a caller that handles each page before asking for the next never
   * holds the whole list at once, and lets other work run between pages.
   */
  async *listPages<T extends KubeObject>(
    k: ResourceKind,
    options: { namespace?: string; query?: Query } = {},
  ): AsyncGenerator<ObjectList<T>> {
    let cont: string | undefined;
    do {
      const page = await this.request<ObjectList<T>>('GET', resourcePath(k, { namespace: options.namespace }), {
        query: { limit: 500, ...options.query, continue: cont },
      });
      cont = page.metadata.continue || undefined;
      yield page;
    } while (cont !== undefined);
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
    return (await this.#exchange('GET', path, { query: options })).text;
  }

  /**
   * Runs a command in a container of a running Pod (the pods/exec subresource, over a
   * WebSocket) and resolves with its exit code and the tails of its output. A command
   * still running at the timeout resolves with timedOut: Kubernetes cannot stop it, so
   * it may go on in the container.
   */
  async exec(request: Omit<ExecRequest, 'userAgent'>): Promise<ExecResult> {
    await this.#shared.limiter?.take();
    return execInPod(this.#shared.transport, { ...request, userAgent: this.userAgent });
  }

  /** Opens a container's stdin (pods/attach) for writing; see attach.ts. */
  async attach(request: Omit<AttachRequest, 'userAgent'>): Promise<StdinWriter> {
    await this.#shared.limiter?.take();
    return attachStdin(this.#shared.transport, { ...request, userAgent: this.userAgent });
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
    // The stream may stay open for minutes; only its start is bounded by the timeout.
    const starting = new AbortController();
    const timer = setTimeout(() => starting.abort(), this.#options.timeoutMs);
    let response: IncomingMessage;
    try {
      response = await this.#open('GET', path, {
        query: { ...query, watch: true },
        signal: signal === undefined ? starting.signal : AbortSignal.any([starting.signal, signal]),
      });
    } catch (error) {
      if (starting.signal.aborted)
        throw new RequestTimeoutError('GET', path, this.#options.timeoutMs, { cause: error });
      throw error;
    } finally {
      clearTimeout(timer);
    }
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

  /** One request, retried while the outcome says it may be, its answer read whole. */
  async #exchange(method: string, path: string, options: RequestOptions): Promise<Answer> {
    const policy = this.#options.retry;
    for (let attempt = 1; ; attempt++) {
      let outcome: Outcome;
      try {
        const answer = await this.#attempt(method, path, options);
        if (answer.status >= 200 && answer.status < 300) return answer;
        outcome = { kind: 'answer', status: answer.status, retryAfter: answer.retryAfter };
        const delay = retryDelay(method, outcome, attempt, policy, new Date(), Math.random);
        if (delay === undefined) throw ApiError.fromResponse(method, path, answer.status, answer.text);
        await sleep(delay, undefined, options.signal === undefined ? {} : { signal: options.signal });
      } catch (error) {
        if (error instanceof ApiError || error instanceof RequestTimeoutError || options.signal?.aborted === true)
          throw error;
        outcome = { kind: isRefused(error) ? 'refused' : 'broken' };
        const delay = retryDelay(method, outcome, attempt, policy, new Date(), Math.random);
        if (delay === undefined || isFenced(error)) throw error;
        await sleep(delay, undefined, options.signal === undefined ? {} : { signal: options.signal });
      }
    }
  }

  /** One attempt: sent, answered and read within the timeout. */
  async #attempt(method: string, path: string, options: RequestOptions): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
    try {
      const response = await this.#open(method, path, { ...options, signal });
      const text = await readAll(response);
      const retryAfter = response.headers['retry-after'];
      return { status: response.statusCode ?? 0, text, retryAfter };
    } catch (error) {
      if (timeout.aborted && options.signal?.aborted !== true)
        throw new RequestTimeoutError(method, path, this.#options.timeoutMs, { cause: error });
      throw error;
    }
  }

  /** Waits for the rate limit, then sends; a write passes the fence first. */
  async #open(method: string, path: string, options: RequestOptions): Promise<IncomingMessage> {
    await this.#shared.limiter?.take(options.signal);
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const fence = method === 'GET' ? undefined : this.#options.fence;
    return this.#shared.transport.send({
      method,
      url,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      contentType: options.contentType,
      userAgent: this.userAgent,
      signal: options.signal,
      beforeSend: fence === undefined ? undefined : () => fence(),
    });
  }
}

function limiterFor(limit: RateLimit | undefined): RateLimiter | undefined {
  return limit === undefined ? undefined : new RateLimiter(limit);
}

/** The connection was refused: the request never reached a server, so any verb may be sent again. */
function isRefused(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ECONNREFUSED';
}

/** The fence refused the write: sending it again would be refused too. */
function isFenced(error: unknown): boolean {
  return (error as { fenced?: unknown }).fenced === true;
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
