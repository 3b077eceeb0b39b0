// The API side of `safehold restore-resources`, with the caller's own
// credentials: what exists now in the target (read and sanitized as the dump
// was), and each planned object created or replaced. A refusal names the
// object and the verb; one object that fails does not stop the others. For
// the cluster-scoped objects, a refused read is that object's alone too.
import {
  groupKind,
  groupOf,
  objectKey,
  planRestore,
  sanitizeObject,
  type ApiObject,
  type PlannedObject,
} from '../core/index.ts';
import {
  ApiError,
  isAlreadyExists,
  isNotFound,
  kinds,
  type KubeClient,
  type KubeObject,
  type ResourceKind,
} from '../kube/index.ts';
import type { HeaderResource, ObjectsFile } from './objects-file.ts';
import type { StepOutcome } from './resource-restore-report.ts';
import { waitFor } from './wait-deadline.ts';

/** A read the caller may not make, or that failed: nothing can be planned without it. */
export class ExistingUnreadable extends Error {
  override name = 'ExistingUnreadable';
}

/** What exists in the target: sanitized for the plan, and as the API server has it for a replace. */
export interface Existing {
  sanitized: ApiObject[];
  live: ReadonlyMap<string, Record<string, unknown>>;
  /** Cluster-scoped objects whose read was refused, by `objectKey`, with why. */
  unreadable: ReadonlyMap<string, string>;
}

/**
 * The live objects, in `target`, of each kind of `objects` (the file's chosen ones, moved to the
 * target); with no target (the cluster-scoped objects), each object read on its own, and one the
 * caller may not read is unreadable rather than the end of the restore.
 */
export async function readExisting(
  client: KubeClient,
  file: ObjectsFile,
  objects: readonly ApiObject[],
  target: string | undefined,
): Promise<Existing> {
  const live = new Map<string, Record<string, unknown>>();
  const unreadable = new Map<string, string>();
  const keep = (item: KubeObject, resource: HeaderResource) => {
    const object = { ...item, apiVersion: apiVersionOf(resource), kind: resource.kind } as Record<string, unknown>;
    live.set(keyOf(object), object);
  };
  const kindsToRead = new Set(objects.map((o) => groupKind(groupOf(o.apiVersion), o.kind)));
  for (const key of kindsToRead) {
    const resource = resourceOf(file, key);
    const k = resourceKind(resource);
    if (resource.namespaced) {
      if (target === undefined) throw new Error(`${key} is namespaced: a restore of cluster-scoped objects reads none`);
      const listed = await readOrNotFound(`list ${describe(resource)} in namespace ${target}`, () =>
        client.list<KubeObject>(k, { namespace: target }),
      );
      for (const item of listed?.items ?? []) keep(item, resource);
      continue;
    }
    for (const object of objects.filter((o) => groupKind(groupOf(o.apiVersion), o.kind) === key)) {
      const name = object.metadata.name;
      try {
        const got = await readOrNotFound(`get ${resource.kind} ${name}`, () => client.get(k, { name }));
        if (got !== undefined) keep(got, resource);
      } catch (error) {
        if (!(error instanceof ExistingUnreadable) || target !== undefined) throw error;
        unreadable.set(objectKey(object), error.message);
      }
    }
  }
  const sanitized = [...live.values()].flatMap((o) => {
    const s = sanitizeObject(o);
    return s.keep ? [s.object] : [];
  });
  return { sanitized, live, unreadable };
}

/** Whether the namespace exists; unknown when the caller may not read namespaces (a tenant). */
export async function namespaceExists(client: KubeClient, name: string): Promise<boolean | 'unknown'> {
  try {
    await client.get(kinds.namespace, { name });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    if (error instanceof ApiError && error.status === 403) return 'unknown';
    throw error;
  }
}

export interface ApplyOptions {
  force: boolean;
  nowMs: () => number;
}

/** Creates or replaces one planned object; a conflict is left alone. Never throws for the API's answer. */
export async function applyStep(
  client: KubeClient,
  file: ObjectsFile,
  step: PlannedObject,
  existing: Existing,
  options: ApplyOptions,
): Promise<StepOutcome> {
  const resource = resourceOf(file, groupKind(groupOf(step.object.apiVersion), step.object.kind));
  try {
    return await apply(client, resource, step, existing.live.get(keyOf(step.object)), options);
  } catch (error) {
    const verb = step.action === 'create' ? 'create' : 'update';
    return { result: 'failed', message: `${step.ref}: ${verb} failed: ${apiMessage(error)}` };
  }
}

async function apply(
  client: KubeClient,
  resource: HeaderResource,
  step: PlannedObject,
  live: Record<string, unknown> | undefined,
  options: ApplyOptions,
): Promise<StepOutcome> {
  const k = resourceKind(resource);
  const { name, namespace } = step.object.metadata;
  switch (step.action) {
    case 'unchanged':
      return { result: 'unchanged' };
    case 'conflict':
      return { result: 'skipped', message: `${step.ref} exists and differs: left as it is (--force replaces it)` };
    case 'managed':
      return { result: 'skipped', message: `${step.ref}: left as it is: ${step.reason}` };
    case 'unreadable':
      return { result: 'failed', message: `${step.ref}: not restored: ${step.reason}` };
    case 'create':
      try {
        await client.create(k, step.object);
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        // Made meanwhile (a new namespace's default ServiceAccount, by the control plane): decided again.
        const now = await client.get(k, { name, namespace });
        const current = { ...now, apiVersion: apiVersionOf(resource), kind: resource.kind } as Record<string, unknown>;
        const sanitized = sanitizeObject(current);
        const [again] = planRestore({
          objects: [step.object],
          existing: sanitized.keep ? [sanitized.object] : [],
          force: options.force,
        }).steps;
        if (again === undefined || again.action === 'create') throw error;
        return apply(client, resource, again, current, options);
      }
      await establishedIfDefinition(client, resource, name, options.nowMs);
      return { result: 'created' };
    case 'replace':
      if (live === undefined) return { result: 'failed', message: `${step.ref}: no longer there to replace` };
      await client.replace(k, replacementBody(live, step.object));
      await establishedIfDefinition(client, resource, name, options.nowMs);
      return { result: 'replaced' };
  }
}

/**
 * The backup's object to PUT over the live one: what sanitizing removed from the live object and
 * the backup does not set (its resourceVersion, a claim's bound volume, a Service's cluster IP) is
 * kept, so the API server accepts the update and the result reads back as the backup's object.
 */
export function replacementBody(live: Record<string, unknown>, planned: ApiObject): ApiObject {
  const sanitized = sanitizeObject(live);
  const body = structuredClone(planned);
  keepAssigned(body, live, sanitized.keep ? sanitized.object : {}, true);
  return body;
}

function keepAssigned(
  body: Record<string, unknown>,
  live: Record<string, unknown>,
  sanitized: Record<string, unknown>,
  top: boolean,
): void {
  for (const [field, value] of Object.entries(live)) {
    if (top && field === 'status') continue;
    const [inBody, inSanitized, inLive] = [body[field], sanitized[field], record(value)];
    if (inSanitized === undefined && inBody === undefined) {
      body[field] = structuredClone(value);
      continue;
    }
    // Into maps both have (metadata, spec) or the backup lacks (annotations the sanitizer took all of).
    const [bodyMap, sanitizedMap] = [record(inBody), record(inSanitized)];
    if (inLive === undefined || (inBody !== undefined && bodyMap === undefined)) continue;
    if (inSanitized !== undefined && sanitizedMap === undefined) continue;
    const into = bodyMap ?? {};
    keepAssigned(into, inLive, sanitizedMap ?? {}, false);
    if (inBody === undefined && Object.keys(into).length > 0) body[field] = into;
  }
}

const definitionKey = groupKind(kinds.customResourceDefinition.group, kinds.customResourceDefinition.kind);
const establishTimeoutMs = 60_000;

/** A restored CRD is waited for until Established: its custom resources come next in the plan. */
async function establishedIfDefinition(
  client: KubeClient,
  resource: HeaderResource,
  name: string,
  nowMs: () => number,
): Promise<void> {
  if (groupKind(resource.group, resource.kind) !== definitionKey) return;
  type Definition = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
  await waitFor({
    what: `CustomResourceDefinition ${name}`,
    timeoutMs: establishTimeoutMs,
    intervalMs: 500,
    nowMs,
    get: () => client.get<Definition>(kinds.customResourceDefinition, { name }),
    done: (crd) => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true,
    describe: () => 'not Established',
  });
}

/** Where the kind lives: the header's resource, or the built-in one for a Namespace made for the target. */
function resourceOf(file: ObjectsFile, key: string): HeaderResource {
  const resource = file.resources.get(key);
  if (resource !== undefined) return resource;
  if (key === kinds.namespace.kind) return kinds.namespace;
  throw new Error(`${key} is not among the objects file's resources`);
}

function resourceKind(resource: HeaderResource): ResourceKind {
  const { group, version, kind, plural, namespaced } = resource;
  return { group, version, kind, plural, namespaced };
}

function apiVersionOf(resource: HeaderResource): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

function describe(resource: HeaderResource): string {
  return resource.group === '' ? resource.plural : `${resource.plural}.${resource.group}`;
}

/** Runs a read; a kind or object the API server does not have is undefined, a refusal is ExistingUnreadable. */
async function readOrNotFound<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw new ExistingUnreadable(`cannot ${what}: ${apiMessage(error)}`, { cause: error });
  }
}

/** The API server's own words: "403 Forbidden: configmaps is forbidden: User ...". */
export function apiMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  const prefix = `${error.method} ${error.path}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

function keyOf(object: Record<string, unknown>): string {
  const meta = record(object['metadata']);
  const apiVersion = typeof object['apiVersion'] === 'string' ? object['apiVersion'] : '';
  const kind = typeof object['kind'] === 'string' ? object['kind'] : '';
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return `${groupKind(groupOf(apiVersion), kind)}|${text(meta?.['namespace'])}|${text(meta?.['name'])}`;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
