// Reading an objects dump (objects.jsonl, format safehold.io/objects/v1): a
// header naming the namespace (or scope Cluster) and the kinds read, one sanitized object a line,
// and a trailer with the count. A file without its trailer, or whose count
// differs, was cut short: it is refused whole, so a restore never puts back
// half a namespace or half the cluster's objects. Parsing returns a result and never throws.
import type { z } from 'zod';
import {
  objectsFileFormat,
  objectsFileHeader as header,
  objectsFileTrailer as trailer,
  type ObjectsFileResource,
} from '../api/index.ts';
import { groupKind, groupOf, objectRef, sanitizeObject, type ApiObject } from '../core/index.ts';

export type HeaderResource = ObjectsFileResource;

export interface ObjectsFile {
  /** The namespace whose objects these are; undefined for the cluster-scoped objects (scope Cluster). */
  namespace: string | undefined;
  capturedAt: string;
  /** Each object once more through the sanitizer (a no-op for what the operator wrote). */
  objects: ApiObject[];
  /** Where each object's kind lives in the API, by `groupKind`. */
  resources: ReadonlyMap<string, HeaderResource>;
  /** What the dump left out when it was taken: kinds, then single objects. */
  skipped: { resource: string; reason: string }[];
  skippedObjects: { object: string; reason: string }[];
  /** Objects of the file the sanitizer refuses now (an edited file), with why. */
  leftOut: string[];
}

export type ObjectsFileResult = { ok: true; file: ObjectsFile } | { ok: false; error: string };

/** The file's content, validated whole: any fault is an error naming its line. */
export function parseObjectsFile(text: string): ObjectsFileResult {
  const lines = text
    .split('\n')
    .map((content, i) => ({ number: i + 1, content }))
    .filter((l) => l.content.trim() !== '');
  const first = lines[0];
  if (first === undefined) return fail(`the file is empty: not an objects file (${objectsFileFormat})`);
  const head = header.safeParse(json(first.content));
  if (!head.success) {
    const format = record(json(first.content))?.['format'];
    return fail(
      typeof format === 'string' && format !== objectsFileFormat
        ? `line 1: format "${format}", this safehold reads ${objectsFileFormat}`
        : `line 1: not the header of an objects file (${objectsFileFormat}): ${issue(head.error)}`,
    );
  }
  const namespace = head.data.namespace;
  if ((namespace === undefined) === (head.data.scope === undefined))
    return fail('line 1: the header names a namespace or scope Cluster, and only one of them');
  const last = lines.length > 1 ? lines[lines.length - 1] : undefined;
  const end = trailer.safeParse(json(last?.content ?? ''));
  if (last === undefined || !end.success)
    return fail(
      `incomplete: the file ends at line ${last?.number ?? first.number} without its trailer ({"end":true,...}): the dump was cut short`,
    );
  const body = lines.slice(1, -1);
  if (body.length !== end.data.objects)
    return fail(`incomplete: the trailer counts ${end.data.objects} objects, the file holds ${body.length}`);

  const resources = new Map(head.data.resources.map((r) => [groupKind(r.group, r.kind), r]));
  const objects: ApiObject[] = [];
  const leftOut: string[] = [];
  for (const line of body) {
    const read = readObject(line.content, namespace, resources);
    if (!read.ok) return fail(`line ${line.number}: ${read.error}`);
    if (read.object === undefined) leftOut.push(read.reason);
    else objects.push(read.object);
  }
  return {
    ok: true,
    file: {
      namespace,
      capturedAt: head.data.capturedAt,
      objects,
      resources,
      skipped: head.data.skipped,
      skippedObjects: end.data.skippedObjects,
      leftOut,
    },
  };
}

type ReadObject =
  | { ok: true; object: ApiObject; reason?: undefined }
  | { ok: true; object?: undefined; reason: string }
  | { ok: false; error: string };

function readObject(
  text: string,
  namespace: string | undefined,
  resources: ReadonlyMap<string, HeaderResource>,
): ReadObject {
  const value = record(json(text));
  if (value === undefined) return { ok: false, error: 'not a JSON object' };
  if (value['end'] === true) return { ok: false, error: 'a trailer before the last line' };
  const meta = record(value['metadata']);
  const [apiVersion, kind, name] = [value['apiVersion'], value['kind'], meta?.['name']];
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string')
    return { ok: false, error: 'not an API object (apiVersion, kind and metadata.name are needed)' };
  const group = groupOf(apiVersion);
  const resource = resources.get(groupKind(group, kind));
  if (resource === undefined || apiVersion !== (group === '' ? resource.version : `${group}/${resource.version}`))
    return { ok: false, error: `${objectRef(value)} (${apiVersion}) is not among the header's resources` };
  const own = meta?.['namespace'];
  if (resource.namespaced && namespace === undefined)
    return {
      ok: false,
      error: `${objectRef(value)}: a ${kind} is namespaced, and the file holds the cluster-scoped objects`,
    };
  if (resource.namespaced && own !== undefined && own !== namespace)
    return { ok: false, error: `${objectRef(value)} is not in namespace ${namespace}, the header's` };
  if (!resource.namespaced && own !== undefined)
    return { ok: false, error: `${objectRef(value)}: a ${kind} has no namespace` };
  const placed = resource.namespaced ? { ...value, metadata: { ...meta, namespace } } : value;
  const sanitized = sanitizeObject(placed);
  return sanitized.keep ? { ok: true, object: sanitized.object } : { ok: true, reason: sanitized.reason };
}

function fail(error: string): ObjectsFileResult {
  return { ok: false, error };
}

function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function issue(error: z.ZodError): string {
  const first = error.issues[0];
  return first === undefined ? 'invalid' : `${first.path.join('.') || '(the line)'}: ${first.message}`;
}
