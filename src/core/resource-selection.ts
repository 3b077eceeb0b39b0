// Which kinds of API object a backup of cluster state (M11) reads, from what
// API discovery lists: one version of each kind, of the backup's scope, that
// can be listed, read and created again. Kinds that are derived from other
// objects, transient, or never stored are left out, each with the reason the
// run's status shows. Per-object decisions (a Pod its ReplicaSet makes, a
// service account token) are in resource-sanitize.ts.
import { apiGroup } from '../api/index.ts';

/** One resource of API discovery, in one version of its group ('' for the core group). */
export interface DiscoveredResource {
  group: string;
  version: string;
  kind: string;
  /** The plural name in URLs; `pods/log` and other names with a slash are subresources. */
  plural: string;
  namespaced: boolean;
  verbs: readonly string[];
}

export type BackupScope = 'namespace' | 'cluster';

export interface SkippedResource {
  resource: DiscoveredResource;
  reason: string;
}

export interface ResourceSelection {
  /** One version per group and kind, sorted by group, then kind. */
  included: DiscoveredResource[];
  /** Kinds of the scope left out, each with why; versions not chosen and subresources are not listed. */
  skipped: SkippedResource[];
  /** `groupKind` keys of the included kinds, for `ownedByController`. */
  kinds: ReadonlySet<string>;
}

/** A kind's key across versions: `Deployment.apps`, or `Pod` for the core group. */
export function groupKind(group: string, kind: string): string {
  return group === '' ? kind : `${kind}.${group}`;
}

/** The group of an apiVersion: `apps` of `apps/v1`, '' of `v1`. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** How a resource is named in reasons, as kubectl names it: `leases.coordination.k8s.io`, `events`. */
export function resourceName(resource: Pick<DiscoveredResource, 'group' | 'plural'>): string {
  return resource.group === '' ? resource.plural : `${resource.plural}.${resource.group}`;
}

const notStored = 'a request answered by the API server, never stored';
const events = 'a record of what happened, not desired state; the API server expires events after an hour';
const derivedEndpoints =
  "derived: the control plane rebuilds them from each Service's selector and the ready Pods (a Service without a selector loses hand-written endpoints)";
// A VolumeSnapshot's data is in the storage system, not in the object. Restored, a dynamic one
// snapshots the restored PVC again (a new moment under an old name) and a pre-provisioned one
// points at content that may be gone; Safehold's own snapshots are temporaries of its runs. The
// volume's data is what Safehold backs up, through its own catalogue.
const storageSnapshot =
  "a handle on a snapshot inside the storage system, whose data is not in the object: restored, it would snapshot again or point at content that may be gone (Safehold backs up the volume's data itself)";
const safeholdRun =
  'a record of one Safehold run: restored, its status gone, it would run again (the VolumeHistory keeps the catalogue)';

/** Namespaced kinds left out of a namespace backup, by `resourceName`. */
const namespacedSkips: Readonly<Record<string, string>> = {
  events: events,
  'events.events.k8s.io': events,
  endpoints: derivedEndpoints,
  'endpointslices.discovery.k8s.io': derivedEndpoints,
  'leases.coordination.k8s.io':
    'a lock or heartbeat held by a running process; a restored lease would name a holder that is gone',
  'controllerrevisions.apps':
    'history the StatefulSet and DaemonSet controllers write; they start it again from the restored workload',
  bindings: 'a request to place a Pod on a node, never stored',
  'localsubjectaccessreviews.authorization.k8s.io': notStored,
  'csistoragecapacities.storage.k8s.io': "published by CSI drivers from their storage's free capacity",
  'volumesnapshots.snapshot.storage.k8s.io': storageSnapshot,
  [`volumebackups.${apiGroup}`]: safeholdRun,
  [`volumerestores.${apiGroup}`]: safeholdRun,
  [`backupdownloads.${apiGroup}`]: safeholdRun,
  [`repositorymaintenances.${apiGroup}`]: safeholdRun,
  [`dumpruns.${apiGroup}`]: safeholdRun,
  [`restoredrills.${apiGroup}`]: safeholdRun,
  [`bucketrestores.${apiGroup}`]: safeholdRun,
};

/** Cluster-scoped kinds left out of a cluster backup, by `resourceName`. */
const clusterSkips: Readonly<Record<string, string>> = {
  nodes: "registered by each node's kubelet: it describes a machine as it is now",
  componentstatuses: 'a health probe of the control plane, never stored',
  // Local ones are made by the API server for built-in groups and CRDs; an aggregated one comes
  // with its Service from its installer, and restored before that Service runs it breaks
  // discovery for every client.
  'apiservices.apiregistration.k8s.io':
    'registered by the API server for built-in groups and CRDs, and by the installer of an aggregated API with its Service; restored alone it breaks discovery',
  'certificatesigningrequests.certificates.k8s.io':
    "a one-time request for a certificate; the signed certificate lives in its requester's Secret",
  'tokenreviews.authentication.k8s.io': notStored,
  'selfsubjectreviews.authentication.k8s.io': notStored,
  'subjectaccessreviews.authorization.k8s.io': notStored,
  'selfsubjectaccessreviews.authorization.k8s.io': notStored,
  'selfsubjectrulesreviews.authorization.k8s.io': notStored,
  'volumesnapshotcontents.snapshot.storage.k8s.io': storageSnapshot,
  'volumeattachments.storage.k8s.io': 'the attach state of volumes in use, kept by the attach-detach controller',
  'csinodes.storage.k8s.io': "written by each node's CSI drivers",
  'ipaddresses.networking.k8s.io': 'the API server records the IP of each Service; restored Services get new ones',
  'resourceslices.resource.k8s.io': "published by each node's device drivers",
  'storageversions.internal.apiserver.k8s.io': "the API server's own record of how it stores each kind",
  'storageversionmigrations.storagemigration.k8s.io': 'a one-off migration run',
};

/** Whole groups left out: what they serve is measured, not stored. */
const groupSkips: Readonly<Record<string, string>> = {
  'metrics.k8s.io': 'live resource usage measured by the metrics server, never stored',
  'custom.metrics.k8s.io': 'live metrics from an adapter, never stored',
  'external.metrics.k8s.io': 'live metrics from an adapter, never stored',
};

const neededVerbs = ['list', 'get', 'create'] as const;

/**
 * The kinds a backup of one scope reads: for each group and kind, the group's preferred version
 * when it serves the kind (else the most stable, newest one), kept when it can be listed, read and
 * created and is not derived, transient or never stored.
 */
export function selectResources(input: {
  resources: readonly DiscoveredResource[];
  scope: BackupScope;
  /** Discovery's preferred version of each group; without one, the most stable version wins. */
  preferredVersions?: ReadonlyMap<string, string>;
}): ResourceSelection {
  const wanted = input.scope === 'namespace';
  const byKind = new Map<string, DiscoveredResource[]>();
  for (const resource of input.resources) {
    if (resource.plural.includes('/') || resource.namespaced !== wanted) continue;
    const key = groupKind(resource.group, resource.kind);
    byKind.set(key, [...(byKind.get(key) ?? []), resource]);
  }
  const chosen = [...byKind.values()]
    .map((versions) => preferredOf(versions, input.preferredVersions))
    .sort((a, b) => compareText(a.group, b.group) || compareText(a.kind, b.kind));
  const included: DiscoveredResource[] = [];
  const skipped: SkippedResource[] = [];
  for (const resource of chosen) {
    const reason = skipReason(resource, input.scope);
    if (reason === undefined) included.push(resource);
    else skipped.push({ resource, reason: `${resourceName(resource)}: ${reason}` });
  }
  return { included, skipped, kinds: new Set(included.map((r) => groupKind(r.group, r.kind))) };
}

function skipReason(resource: DiscoveredResource, scope: BackupScope): string | undefined {
  const named = (scope === 'namespace' ? namespacedSkips : clusterSkips)[resourceName(resource)];
  if (named !== undefined) return named;
  const group = groupSkips[resource.group];
  if (group !== undefined) return group;
  const missing = neededVerbs.filter((verb) => !resource.verbs.includes(verb));
  if (missing.length > 0)
    return `the API does not allow ${missing.join(', ')} (a backup lists and gets, a restore creates)`;
  return undefined;
}

function preferredOf(
  versions: readonly DiscoveredResource[],
  preferredVersions: ReadonlyMap<string, string> | undefined,
): DiscoveredResource {
  const first = versions[0] as DiscoveredResource;
  const preferred = preferredVersions?.get(first.group);
  const match = versions.find((v) => v.version === preferred);
  if (match !== undefined) return match;
  return [...versions].sort((a, b) => compareVersions(a.version, b.version))[0] ?? first;
}

const kubeVersion = /^v(\d+)(?:(alpha|beta)(\d+))?$/;
const stability = { ga: 0, beta: 1, alpha: 2 } as const;

/** Kubernetes' order of versions, most preferred first: v2, v1, v1beta2, v1beta1, v1alpha1, then others by name. */
export function compareVersions(a: string, b: string): number {
  const pa = kubeVersion.exec(a);
  const pb = kubeVersion.exec(b);
  if (pa === null || pb === null) return (pa === null ? 1 : 0) - (pb === null ? 1 : 0) || compareText(a, b);
  const level = (m: RegExpExecArray) => stability[(m[2] ?? 'ga') as keyof typeof stability];
  return level(pa) - level(pb) || Number(pb[1]) - Number(pa[1]) || Number(pb[3] ?? 0) - Number(pa[3] ?? 0);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
