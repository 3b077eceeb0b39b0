// The content of an objects dump (an ApplicationDump with spec.objects): the
// namespace's API objects (or, scope Cluster, the cluster-scoped ones) as JSON
// lines, read with the operator's rights. A
// header names the kinds read (discovery, core/resource-selection.ts) and those
// left out with why; then each object, stripped of what the API server fills in
// (core/resource-sanitize.ts), by group, kind and name; then a trailer with the
// count. A file without its trailer, or whose count differs, is incomplete:
// `safehold restore-resources` refuses it. A kind the operator may not list
// fails the dump, naming it: never a dump that silently lacks a kind.
import { objectsFileFormat, type ObjectsFileHeader, type ObjectsFileTrailer } from '../../api/index.ts';
import {
  groupKind,
  objectRef,
  ownedByController,
  resourceName,
  sanitizeObject,
  selectResources,
  type DiscoveredResource,
} from '../../core/index.ts';
import { ApiError, type KubeClient, type KubeObject, type ResourceKind } from '../../kube/index.ts';

interface ApiResourceList {
  groupVersion: string;
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

interface ApiGroupList {
  groups: { name: string; preferredVersion?: { version: string }; versions: { version: string }[] }[];
}

/** Every resource the API server serves, in every version, and each group's preferred version. */
export async function discoverResources(
  client: KubeClient,
): Promise<{ resources: DiscoveredResource[]; preferredVersions: Map<string, string> }> {
  const lists: ApiResourceList[] = [await client.request<ApiResourceList>('GET', '/api/v1')];
  const groups = await client.request<ApiGroupList>('GET', '/apis');
  const preferredVersions = new Map<string, string>([['', 'v1']]);
  for (const group of groups.groups) {
    if (group.preferredVersion !== undefined) preferredVersions.set(group.name, group.preferredVersion.version);
    for (const { version } of group.versions)
      lists.push(await client.request<ApiResourceList>('GET', `/apis/${group.name}/${version}`));
  }
  const resources = lists.flatMap((list) => {
    const [group, version] = list.groupVersion.includes('/') ? list.groupVersion.split('/') : ['', list.groupVersion];
    return list.resources.map((r) => ({
      group: group ?? '',
      version: version ?? '',
      kind: r.kind,
      plural: r.name,
      namespaced: r.namespaced,
      verbs: r.verbs,
    }));
  });
  return { resources, preferredVersions };
}

/** Whether a kind is left out by `excludeKinds` (Kind, or Kind.group). */
function excluded(resource: DiscoveredResource, excludeKinds: readonly string[]): boolean {
  return excludeKinds.includes(resource.kind) || excludeKinds.includes(groupKind(resource.group, resource.kind));
}

/**
 * The objects file of one namespace (`namespace`), or of the cluster-scoped objects (undefined),
 * line by line (each line ends with a newline).
 */
export async function* namespaceObjects(
  client: KubeClient,
  namespace: string | undefined,
  excludeKinds: readonly string[],
  now: Date,
): AsyncGenerator<Buffer> {
  const { resources, preferredVersions } = await discoverResources(client);
  const scope = namespace === undefined ? 'cluster' : 'namespace';
  const selection = selectResources({ resources, scope, preferredVersions });
  const included = selection.included.filter((r) => !excluded(r, excludeKinds));
  const skipped = [
    ...selection.skipped.map((s) => ({ resource: resourceName(s.resource), reason: s.reason })),
    ...selection.included
      .filter((r) => excluded(r, excludeKinds))
      .map((r) => ({ resource: resourceName(r), reason: 'left out by spec.objects.excludeKinds' })),
  ];
  const line = (value: unknown) => Buffer.from(`${JSON.stringify(value)}\n`);
  const header: ObjectsFileHeader = {
    format: objectsFileFormat,
    ...(namespace === undefined ? { scope: 'Cluster' } : { namespace }),
    capturedAt: now.toISOString(),
    resources: included.map(({ group, version, kind, plural, namespaced }) => ({
      group,
      version,
      kind,
      plural,
      namespaced,
    })),
    skipped,
  };
  yield line(header);
  let objects = 0;
  const skippedObjects: { object: string; reason: string }[] = [];
  for (const resource of included) {
    const apiVersion = resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
    const k: ResourceKind = { ...resource };
    try {
      for await (const page of client.listPages<KubeObject>(k, namespace === undefined ? {} : { namespace })) {
        for (const item of page.items) {
          const object = { ...item, apiVersion, kind: resource.kind };
          const owned = ownedByController(object, selection.kinds);
          const sanitized = owned === undefined ? sanitizeObject(object) : { keep: false as const, reason: owned };
          if (!sanitized.keep) {
            skippedObjects.push({ object: objectRef(object), reason: sanitized.reason });
            continue;
          }
          objects++;
          yield line(sanitized.object);
        }
      }
    } catch (error) {
      const why = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error);
      const where = namespace === undefined ? 'the cluster' : `namespace ${namespace}`;
      throw new Error(`could not list ${resourceName(resource)} in ${where}: ${why}`, { cause: error });
    }
  }
  const trailer: ObjectsFileTrailer = { end: true, objects, skippedObjects };
  yield line(trailer);
}
