// The plan of a restore of API objects: each backed-up object moved to its
// target namespace, compared with what exists there now, and put in the order
// in which the API server accepts them (a CRD before its resources, a
// namespace before what it holds, a ServiceAccount before the Pods that run as
// it, admission webhooks last so they cannot refuse the rest). What
// Kubernetes itself keeps (kubernetes-managed.ts) is never replaced.
import { managedByKubernetes } from './kubernetes-managed.ts';
import { groupKind, groupOf } from './resource-selection.ts';
import { objectRef, type ApiObject } from './resource-sanitize.ts';

export type PlannedObject =
  | { action: 'create' | 'unchanged'; ref: string; object: ApiObject }
  /** Exists and differs: `conflict` is left alone, `replace` (given force) overwrites it. */
  | { action: 'conflict' | 'replace'; ref: string; object: ApiObject; diff: string[] }
  /** Exists and differs, but Kubernetes manages it: left as it is, even given force. */
  | { action: 'managed'; ref: string; object: ApiObject; diff: string[]; reason: string }
  /** What exists could not be read (the user may not): nothing is decided, nothing made. */
  | { action: 'unreadable'; ref: string; object: ApiObject; reason: string };

/** What the user restores: objects of these kinds (`Deployment` or `Deployment.apps`), with these names. */
export interface RestoreFilter {
  kinds?: readonly string[];
  names?: readonly string[];
}

export interface RestorePlan {
  steps: PlannedObject[];
  /** Entries of the filter that matched nothing in the backup, as `kind X` or `name Y`. */
  unmatched: string[];
}

/** Order of kinds; anything not listed (custom resources too) comes at `others`. */
const ranks: Readonly<Record<string, number>> = {
  'CustomResourceDefinition.apiextensions.k8s.io': 0,
  Namespace: 1,
  // A binding is accepted only when its role exists or the user holds every right it grants.
  'ClusterRole.rbac.authorization.k8s.io': 2,
  'ClusterRoleBinding.rbac.authorization.k8s.io': 3,
  'StorageClass.storage.k8s.io': 4,
  'VolumeSnapshotClass.snapshot.storage.k8s.io': 4,
  'IngressClass.networking.k8s.io': 4,
  'RuntimeClass.node.k8s.io': 4,
  'PriorityClass.scheduling.k8s.io': 5,
  PersistentVolume: 6,
  ServiceAccount: 7,
  'Role.rbac.authorization.k8s.io': 8,
  'RoleBinding.rbac.authorization.k8s.io': 9,
  Secret: 10,
  ConfigMap: 11,
  LimitRange: 12,
  ResourceQuota: 12,
  PersistentVolumeClaim: 13,
  Service: 14,
  'Deployment.apps': 15,
  'StatefulSet.apps': 16,
  'DaemonSet.apps': 17,
  'ReplicaSet.apps': 18,
  'CronJob.batch': 19,
  'Job.batch': 20,
  Pod: 21,
  // Restored before the Services they call run, they would refuse every object after them.
  'MutatingWebhookConfiguration.admissionregistration.k8s.io': 30,
  'ValidatingWebhookConfiguration.admissionregistration.k8s.io': 30,
  'ValidatingAdmissionPolicy.admissionregistration.k8s.io': 30,
  'ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io': 30,
};
const others = 25;
const maxDiffLines = 10;
const maxShownValue = 40;

/**
 * Each backed-up object (sanitized) moved by `namespaces` (source to target) and compared with
 * `existing` (the target's objects, sanitized the same way): created, unchanged, a conflict
 * (differs; left alone) or, with `force`, replaced; in the order the API server accepts them.
 * `unreadable` holds, by `objectKey`, why what exists of an object could not be read.
 */
export function planRestore(input: {
  objects: readonly ApiObject[];
  existing: readonly ApiObject[];
  unreadable?: ReadonlyMap<string, string>;
  namespaces?: ReadonlyMap<string, string>;
  force?: boolean;
  include?: RestoreFilter;
}): RestorePlan {
  const namespaces = input.namespaces ?? new Map<string, string>();
  const existing = new Map(input.existing.map((o) => [objectKey(o), o]));
  const chosen = input.objects.filter((o) => selected(o, input.include)).map((o) => retarget(o, namespaces));
  const chosenNamespaces = new Set(chosen.flatMap((o) => o.metadata.namespace ?? []));
  const steps: PlannedObject[] = [];
  for (const backedUp of input.objects) {
    const object = retarget(backedUp, namespaces);
    const key = objectKey(object);
    const current = existing.get(key);
    if (!selected(backedUp, input.include)) {
      // The namespace the chosen objects go into is made when it is missing, and left as it is.
      if (kindKey(object) === 'Namespace' && chosenNamespaces.has(object.metadata.name) && current === undefined)
        steps.push({ action: 'create', ref: objectRef(object), object });
      continue;
    }
    const unreadable = input.unreadable?.get(key);
    steps.push(
      unreadable === undefined
        ? decide(object, current, input.force === true)
        : { action: 'unreadable', ref: objectRef(object), object, reason: unreadable },
    );
  }
  steps.sort(
    (a, b) =>
      rankOf(a.object) - rankOf(b.object) ||
      compareText(a.object.kind, b.object.kind) ||
      compareText(a.object.metadata.namespace ?? '', b.object.metadata.namespace ?? '') ||
      compareText(a.object.metadata.name, b.object.metadata.name),
  );
  return { steps, unmatched: unmatchedFilter(input.objects, input.include) };
}

function decide(object: ApiObject, current: ApiObject | undefined, force: boolean): PlannedObject {
  const ref = objectRef(object);
  if (current === undefined) return { action: 'create', ref, object };
  if (sameJson(current, object)) return { action: 'unchanged', ref, object };
  const diff = describeDiff(current, object);
  const managed = managedByKubernetes(current);
  if (managed !== undefined) return { action: 'managed', ref, object, diff, reason: managed };
  // The default ServiceAccount is made in every namespace: an untouched one takes the backup's.
  const replace =
    force || (kindKey(object) === 'ServiceAccount' && object.metadata.name === 'default' && bare(current));
  return { action: replace ? 'replace' : 'conflict', ref, object, diff };
}

/** The object with its namespace, and the references that name one, moved to the target. */
function retarget(obj: ApiObject, namespaces: ReadonlyMap<string, string>): ApiObject {
  if (namespaces.size === 0) return obj;
  const moved = structuredClone(obj);
  const to = (ns: unknown) => (typeof ns === 'string' ? namespaces.get(ns) : undefined);
  const namespace = to(moved.metadata.namespace);
  if (namespace !== undefined) moved.metadata.namespace = namespace;
  switch (kindKey(moved)) {
    case 'Namespace': {
      const name = to(moved.metadata.name);
      if (name === undefined) break;
      moved.metadata.name = name;
      const labels = moved.metadata.labels;
      if (labels?.['kubernetes.io/metadata.name'] !== undefined) labels['kubernetes.io/metadata.name'] = name;
      break;
    }
    case 'RoleBinding.rbac.authorization.k8s.io':
    case 'ClusterRoleBinding.rbac.authorization.k8s.io':
      for (const subject of Array.isArray(moved['subjects']) ? moved['subjects'] : []) {
        const s = record(subject);
        const target = to(s?.['namespace']);
        if (s !== undefined && s['kind'] === 'ServiceAccount' && target !== undefined) s['namespace'] = target;
      }
      break;
    case 'PersistentVolume': {
      const claimRef = record(record(moved['spec'])?.['claimRef']);
      const target = to(claimRef?.['namespace']);
      if (claimRef !== undefined && target !== undefined) claimRef['namespace'] = target;
      break;
    }
    default:
      break;
  }
  return moved;
}

function selected(obj: ApiObject, filter: RestoreFilter | undefined): boolean {
  const kinds = filter?.kinds ?? [];
  const names = filter?.names ?? [];
  return (
    (kinds.length === 0 || kinds.some((k) => kindMatches(obj, k))) &&
    (names.length === 0 || names.includes(obj.metadata.name))
  );
}

function unmatchedFilter(objects: readonly ApiObject[], filter: RestoreFilter | undefined): string[] {
  const kinds = (filter?.kinds ?? []).filter((k) => !objects.some((o) => kindMatches(o, k))).map((k) => `kind ${k}`);
  const names = (filter?.names ?? [])
    .filter((n) => !objects.some((o) => o.metadata.name === n))
    .map((n) => `name ${n}`);
  return [...kinds, ...names];
}

function kindMatches(obj: ApiObject, wanted: string): boolean {
  const w = wanted.toLowerCase();
  return obj.kind.toLowerCase() === w || kindKey(obj).toLowerCase() === w;
}

/** Lines naming each field that differs, `path: now -> backup`; a Secret's values never show. */
export function describeDiff(current: ApiObject, backup: ApiObject): string[] {
  const lines: string[] = [];
  differences(current, backup, '', kindKey(backup) === 'Secret', lines);
  return lines.length <= maxDiffLines
    ? lines
    : [...lines.slice(0, maxDiffLines - 1), `... and ${lines.length - maxDiffLines + 1} more`];
}

function differences(now: unknown, wanted: unknown, path: string, secret: boolean, out: string[]): void {
  if (sameJson(now, wanted)) return;
  const a = record(now);
  const b = record(wanted);
  if (a !== undefined && b !== undefined) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareText);
    for (const key of keys) differences(a[key], b[key], fieldPath(path, key), secret, out);
    return;
  }
  if (Array.isArray(now) && Array.isArray(wanted) && now.length === wanted.length) {
    now.forEach((item, i) => differences(item, wanted[i], `${path}[${i}]`, secret, out));
    return;
  }
  if (secret) out.push(`${path}: ${now === undefined ? '(added)' : wanted === undefined ? '(removed)' : '(changed)'}`);
  else {
    const [from, to] = [show(now), show(wanted)];
    out.push(`${path}: ${from === undefined || to === undefined ? '(changed)' : `${from} -> ${to}`}`);
  }
}

/** A short value as JSON, or undefined when it is too long to show on one line. */
function show(value: unknown): string | undefined {
  if (value === undefined) return '(none)';
  if (Array.isArray(value)) return `(${value.length} items)`;
  if (record(value) !== undefined) return '(object)';
  const text = JSON.stringify(value);
  return text.length <= maxShownValue ? text : undefined;
}

function fieldPath(path: string, key: string): string {
  const part = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  return path === '' ? part : part.startsWith('[') ? `${path}${part}` : `${path}.${part}`;
}

/** Deep equality of JSON values, whatever the order of keys; a key set to undefined is absent. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b))
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  const ra = record(a);
  const rb = record(b);
  if (ra === undefined || rb === undefined) return false;
  const keys = (r: Record<string, unknown>) => Object.keys(r).filter((k) => r[k] !== undefined);
  const ka = keys(ra);
  return ka.length === keys(rb).length && ka.every((k) => sameJson(ra[k], rb[k]));
}

/** An object with nothing but its name: as the control plane makes a namespace's default ServiceAccount. */
function bare(obj: ApiObject): boolean {
  return (
    Object.keys(obj).every((k) => ['apiVersion', 'kind', 'metadata'].includes(k)) &&
    Object.keys(obj.metadata).every((k) => k === 'name' || k === 'namespace')
  );
}

/** An object's identity in a plan: group and kind, namespace, name. */
export function objectKey(obj: ApiObject): string {
  return `${kindKey(obj)}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
}

function kindKey(obj: ApiObject): string {
  return groupKind(groupOf(obj.apiVersion), obj.kind);
}

function rankOf(obj: ApiObject): number {
  return ranks[kindKey(obj)] ?? others;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
