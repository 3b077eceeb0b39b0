// A watched, cached view of one kind of object: LIST, then WATCH from the
// list's resourceVersion with bookmarks; a fresh LIST when the server says the
// version is gone (410); reconnect with capped backoff on every other error;
// and a watchdog that restarts a watch that went silent. Handlers hear one
// change per object; a relist reports what appeared, changed or vanished.
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { ApiError, isGone, isNotFound } from './api-error.ts';
import type { KubeClient, KubeObject, Query, WatchEvent } from './client.ts';
import { resourcePath, type ResourceKind } from './resources.ts';

export type Change<T> =
  | { type: 'added'; key: string; object: T }
  | { type: 'updated'; key: string; object: T; old: T }
  | { type: 'deleted'; key: string; object: T };

export interface InformerOptions<T = KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side timeout of one watch request, seconds. */
  watchTimeoutSeconds?: number;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. */
  watchdogMs?: number;
  maxBackoffMs?: number;
  onError?: (error: unknown) => void;
  /** Objects per page of a LIST (500 unless told): fewer for large objects, so one page is never a large parse. */
  pageSize?: number;
  /** Applied to every object before it is cached, e.g. to drop fields nobody reads. */
  transform?: (object: T) => T;
}

export function objectKey(object: KubeObject): string {
  const ns = object.metadata?.namespace;
  const name = object.metadata?.name ?? '';
  return ns === undefined || ns === '' ? name : `${ns}/${name}`;
}

export class Informer<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #kind: ResourceKind;
  readonly #options: InformerOptions<T>;
  readonly #store = new Map<string, T>();
  /** Per index: value -> keys of the objects with that value, kept as the store changes. */
  readonly #indexes = new Map<string, { valuesOf: (object: T) => readonly string[]; keys: Map<string, Set<string>> }>();
  readonly #handlers: ((change: Change<T>) => void)[] = [];
  readonly #stop = new AbortController();
  #resourceVersion: string | undefined;
  #synced: Promise<void>;
  #markSynced: () => void = () => undefined;
  #running: Promise<void> | undefined;
  /** Counts LIST requests, for tests and benchmarks that prove watches suffice. */
  listCount = 0;

  constructor(client: KubeClient, kind: ResourceKind, options: InformerOptions<T> = {}) {
    this.#client = client;
    this.#kind = kind;
    this.#options = options;
    this.#synced = new Promise((resolve) => (this.#markSynced = resolve));
  }

  onChange(handler: (change: Change<T>) => void): this {
    this.#handlers.push(handler);
    return this;
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  /** How many objects are cached. */
  get size(): number {
    return this.#store.size;
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  /**
   * Keeps an index: `valuesOf` names the values an object is found under (a volume, a run, an
   * owner). Reads through `byIndex` then cost the matches, not a scan of every cached object.
   */
  addIndex(name: string, valuesOf: (object: T) => readonly string[]): this {
    if (this.#indexes.has(name)) throw new Error(`informer index ${name} already exists`);
    const keys = new Map<string, Set<string>>();
    this.#indexes.set(name, { valuesOf, keys });
    for (const [key, object] of this.#store) for (const value of valuesOf(object)) addTo(keys, value, key);
    return this;
  }

  /** The cached objects whose index `name` holds `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new Error(`informer has no index ${name}`);
    const found: T[] = [];
    for (const key of index.keys.get(value) ?? []) {
      const object = this.#store.get(key);
      if (object !== undefined) found.push(object);
    }
    return found;
  }

  #set(key: string, object: T): T | undefined {
    const old = this.#store.get(key);
    this.#store.set(key, object);
    for (const { valuesOf, keys } of this.#indexes.values()) {
      if (old !== undefined) for (const value of valuesOf(old)) removeFrom(keys, value, key);
      for (const value of valuesOf(object)) addTo(keys, value, key);
    }
    return old;
  }

  #remove(key: string): void {
    const old = this.#store.get(key);
    if (old === undefined) return;
    this.#store.delete(key);
    for (const { valuesOf, keys } of this.#indexes.values())
      for (const value of valuesOf(old)) removeFrom(keys, value, key);
  }

  /** Resolves once the first LIST is in the store. */
  synced(): Promise<void> {
    return this.#synced;
  }

  start(): this {
    this.#running ??= this.#run();
    return this;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const maxBackoff = this.#options.maxBackoffMs ?? 30_000;
    let backoff = 250;
    let needList = true;
    while (!this.#stop.signal.aborted) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
        }
        await this.#watchOnce();
        backoff = 250;
      } catch (error) {
        if (this.#stopped()) break;
        if (isGone(error)) {
          needList = true;
          continue;
        }
        this.#options.onError?.(error);
        // A kind the server does not serve (yet: its CRD is missing) has no objects.
        if (isNotFound(error) && needList) this.#markSynced();
        // Forbidden or unknown kinds will not heal by themselves quickly; other
        // errors (apiserver restarting, network) usually do. Back off either way.
        await sleep(backoff, undefined, { signal: this.#stop.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, maxBackoff);
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) needList = true;
      }
    }
  }

  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #baseQuery(): Query {
    return { labelSelector: this.#options.labelSelector, fieldSelector: this.#options.fieldSelector };
  }

  async #relist(): Promise<void> {
    this.listCount++;
    // Page by page: each page is cached (and transformed) before the next is read, so the raw list is
    // never held whole, and the event loop runs other work (a Lease renewal) between pages.
    const pages = this.#client.listPages<T>(this.#kind, {
      ...(this.#options.namespace === undefined ? {} : { namespace: this.#options.namespace }),
      query: {
        ...this.#baseQuery(),
        ...(this.#options.pageSize === undefined ? {} : { limit: this.#options.pageSize }),
      },
    });
    const seen = new Set<string>();
    let resourceVersion: string | undefined;
    for await (const page of pages) {
      // A stop between pages ends the relist: a long LIST never holds a stopping operator up.
      if (this.#stopped()) return;
      for (const object of page.items) {
        const key = objectKey(object);
        seen.add(key);
        this.#put(key, object);
      }
      resourceVersion = page.metadata.resourceVersion;
      await setImmediate();
    }
    for (const [key, object] of this.#store) {
      if (!seen.has(key)) {
        this.#remove(key);
        this.#emit({ type: 'deleted', key, object });
      }
    }
    this.#resourceVersion = resourceVersion;
    this.#markSynced();
  }

  async #watchOnce(): Promise<void> {
    const timeoutSeconds = this.#options.watchTimeoutSeconds ?? 240 + Math.floor(Math.random() * 120);
    const watchdogMs = this.#options.watchdogMs ?? (timeoutSeconds + 30) * 1000;
    const abort = new AbortController();
    const onStop = () => abort.abort();
    // A stop that came before this watch began ends it at once, as one that comes during it does.
    if (this.#stop.signal.aborted) abort.abort();
    this.#stop.signal.addEventListener('abort', onStop);
    let timer = setTimeout(() => abort.abort(), watchdogMs);
    const pet = () => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(), watchdogMs);
    };
    try {
      const path = resourcePath(this.#kind, { namespace: this.#options.namespace });
      await this.#client.watch<T>(
        path,
        { ...this.#baseQuery(), resourceVersion: this.#resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (event) => {
          pet();
          this.#apply(event);
        },
        abort.signal,
      );
    } finally {
      clearTimeout(timer);
      this.#stop.signal.removeEventListener('abort', onStop);
    }
  }

  #apply(event: WatchEvent<T>): void {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.#put(objectKey(event.object), event.object);
        break;
      case 'DELETED': {
        const key = objectKey(event.object);
        this.#remove(key);
        this.#emit({ type: 'deleted', key, object: event.object });
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const status = event.object as { code?: number; reason?: string; message?: string };
        throw new ApiError({
          status: status.code ?? 500,
          reason: status.reason ?? 'WatchError',
          message: status.message ?? 'watch error',
          method: 'WATCH',
          path: this.#kind.plural,
        });
      }
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv !== undefined) this.#resourceVersion = rv;
  }

  #put(key: string, received: T): void {
    const object = this.#options.transform === undefined ? received : this.#options.transform(received);
    const old = this.#set(key, object);
    if (old === undefined) this.#emit({ type: 'added', key, object });
    else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion)
      this.#emit({ type: 'updated', key, object, old });
  }

  #emit(change: Change<T>): void {
    for (const handler of this.#handlers) handler(change);
  }
}

function addTo(keys: Map<string, Set<string>>, value: string, key: string): void {
  const set = keys.get(value);
  if (set === undefined) keys.set(value, new Set([key]));
  else set.add(key);
}

function removeFrom(keys: Map<string, Set<string>>, value: string, key: string): void {
  const set = keys.get(value);
  if (set === undefined) return;
  set.delete(key);
  if (set.size === 0) keys.delete(value);
}
