// An API object as a backup of cluster state keeps it: a copy that applies
// cleanly in another namespace or cluster. What the API server or a controller
// assigned (uid, resourceVersion, status, a Service's cluster IP, the volume a
// PVC bound) is removed; objects that something else makes again (a Pod of a
// ReplicaSet, the kube-root-ca.crt ConfigMap, a service account token) are left
// out, each with a reason naming the object.
import { bucketRestoreLabel, runLabels } from '../api/index.ts';
import { groupKind, groupOf } from './resource-selection.ts';

/** An API object as JSON, once sanitized: apiVersion, kind and a name are known to be there. */
export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export type Sanitized = { keep: true; object: ApiObject } | { keep: false; reason: string };

type Json = Record<string, unknown>;

/** Fields the API server sets on every object; uids and owners do not survive a restore. */
const assignedMeta = new Set([
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'ownerReferences',
]);

/** ConfigMaps the control plane makes in every namespace. */
const perNamespaceConfigMaps = new Set(['kube-root-ca.crt', 'openshift-service-ca.crt']);
/** Labels of the temporary objects of Safehold's own runs, which a sweep removes. */
const temporaryLabels = [runLabels.run, runLabels.restore, runLabels.download, runLabels.drill, bucketRestoreLabel];
const jobUidLabels = ['controller-uid', 'batch.kubernetes.io/controller-uid'];
/** Annotations the PV controller and provisioners write on a claim as they bind it. */
const bindingAnnotation = /^(pv\.kubernetes\.io|volume\.kubernetes\.io|volume\.beta\.kubernetes\.io)\//;

/** "Kind namespace/name", or "Kind name" for a cluster-scoped object: how reasons name an object. */
export function objectRef(obj: { kind?: unknown; metadata?: unknown }): string {
  const meta = record(obj.metadata);
  const kind = typeof obj.kind === 'string' && obj.kind !== '' ? obj.kind : '(no kind)';
  const name = typeof meta?.['name'] === 'string' && meta['name'] !== '' ? meta['name'] : '(no name)';
  return typeof meta?.['namespace'] === 'string' && meta['namespace'] !== ''
    ? `${kind} ${meta['namespace']}/${name}`
    : `${kind} ${name}`;
}

/**
 * The copy of an object a backup keeps, or why it keeps none: never throws, never changes `obj`.
 * Status goes for every kind (on create the API server ignores or recomputes it).
 */
export function sanitizeObject(obj: unknown): Sanitized {
  const source = record(obj);
  if (source === undefined) return { keep: false, reason: 'not an API object: not a JSON object' };
  const ref = objectRef(source);
  const meta = record(source['metadata']);
  if (typeof source['apiVersion'] !== 'string' || source['apiVersion'] === '')
    return { keep: false, reason: `${ref}: no apiVersion` };
  if (typeof source['kind'] !== 'string' || source['kind'] === '') return { keep: false, reason: `${ref}: no kind` };
  if (typeof meta?.['name'] !== 'string' || meta['name'] === '')
    return { keep: false, reason: `${ref}: no metadata.name` };
  const skip = skipReason(source, meta);
  if (skip !== undefined) return { keep: false, reason: `${ref}: ${skip}` };

  const copy = clone(source) as ApiObject;
  delete copy['status'];
  const copyMeta = Object.fromEntries(
    Object.entries(copy.metadata).filter(([field]) => !assignedMeta.has(field)),
  ) as ObjectMeta;
  copy.metadata = copyMeta;
  copyMeta.labels = stringMap(copyMeta.labels);
  copyMeta.annotations = stringMap(copyMeta.annotations);
  byKind(copy);
  if (Object.keys(copyMeta.labels ?? {}).length === 0) delete copyMeta.labels;
  if (Object.keys(copyMeta.annotations ?? {}).length === 0) delete copyMeta.annotations;
  return { keep: true, object: copy };
}

function skipReason(obj: Json, meta: Json): string | undefined {
  if (meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null)
    return 'it was being deleted when it was read (metadata.deletionTimestamp is set)';
  const labels = record(meta['labels']);
  const temporary = temporaryLabels.find((l) => labels?.[l] !== undefined);
  if (temporary !== undefined)
    return `a temporary object of a Safehold run (label ${temporary}), which its sweep removes`;
  const key = groupKind(groupOf(obj['apiVersion'] as string), obj['kind'] as string);
  if (key === 'Secret' && obj['type'] === 'kubernetes.io/service-account-token')
    return 'a service account token (type kubernetes.io/service-account-token) is signed for the uid of its ServiceAccount, which a restore changes; to have one again, create the Secret with only its kubernetes.io/service-account.name annotation and the control plane fills in a new token';
  if (key === 'ConfigMap' && perNamespaceConfigMaps.has(meta['name'] as string))
    return 'the control plane makes this ConfigMap in every namespace';
  return undefined;
}

/** What the API server or a controller assigned to this kind, removed in place. */
function byKind(obj: ApiObject): void {
  const spec = record(obj['spec']);
  const meta = obj.metadata;
  switch (groupKind(groupOf(obj.apiVersion), obj.kind)) {
    case 'Service': {
      if (spec === undefined) return;
      // "None" makes a Service headless: that is the user's choice, not an allocation.
      if (spec['clusterIP'] !== 'None') {
        delete spec['clusterIP'];
        delete spec['clusterIPs'];
      }
      // The families follow from ipFamilyPolicy and what the target cluster has.
      delete spec['ipFamilies'];
      delete spec['healthCheckNodePort'];
      // Fixed node ports of a NodePort or LoadBalancer Service are what outside firewalls know.
      if (spec['type'] !== 'NodePort' && spec['type'] !== 'LoadBalancer')
        for (const port of array(spec['ports'])) delete record(port)?.['nodePort'];
      return;
    }
    case 'PersistentVolumeClaim': {
      // Restored, a claim binds to a restored PV that names it in claimRef, or gets a new volume.
      if (spec !== undefined) {
        delete spec['volumeName'];
        // A snapshot source is kept; a clone or populator would copy its source as it is now.
        if (!fromSnapshot(spec['dataSourceRef'] ?? spec['dataSource'])) {
          delete spec['dataSource'];
          delete spec['dataSourceRef'];
        }
      }
      dropKeys(meta.annotations, (k) => bindingAnnotation.test(k));
      return;
    }
    case 'PersistentVolume': {
      // Without the old claim's uid, the PV binds to the restored claim of the same name.
      const claimRef = record(spec?.['claimRef']);
      delete claimRef?.['uid'];
      delete claimRef?.['resourceVersion'];
      return;
    }
    case 'Pod':
      delete spec?.['nodeName'];
      // Ephemeral containers may only be added to a running Pod, never on create.
      delete spec?.['ephemeralContainers'];
      return;
    case 'ServiceAccount': {
      const tokenSecret = new RegExp(`^${escape(meta.name)}-token-[a-z0-9]{5}$`);
      const secrets = array(obj['secrets']).filter((s) => {
        const name = record(s)?.['name'];
        return typeof name !== 'string' || !tokenSecret.test(name);
      });
      if (secrets.length > 0) obj['secrets'] = secrets;
      else delete obj['secrets'];
      return;
    }
    case 'Job.batch': {
      // The API server makes a Job's selector from its new uid, and refuses one made for the old.
      if (spec?.['manualSelector'] !== true) delete spec?.['selector'];
      dropKeys(meta.labels, (k) => jobUidLabels.includes(k));
      const template = record(record(spec?.['template'])?.['metadata']);
      dropKeys(record(template?.['labels']), (k) => jobUidLabels.includes(k));
      return;
    }
    case 'Deployment.apps':
      dropKeys(meta.annotations, (k) => k === 'deployment.kubernetes.io/revision');
      return;
    case 'DaemonSet.apps':
      dropKeys(meta.annotations, (k) => k === 'deprecated.daemonset.template.generation');
      return;
    default:
      return;
  }
}

/** Controller-owned kinds their owner makes again from a template, and the owner kinds that do (any). */
const remadeByOwner = new Set(['Pod', 'ReplicaSet.apps', 'Job.batch']);

/**
 * Why an object is left out because its controller makes it again (a Pod of a ReplicaSet, Job,
 * StatefulSet or DaemonSet; a ReplicaSet of a Deployment; a Job of a CronJob; an ephemeral
 * volume's PVC), or undefined. `backedUp` holds the `groupKind`s the backup includes: the owner
 * must be one. Other owned kinds are kept: an operator given back its resource may otherwise make
 * a new Secret (a new password for data restored under the old one) or an empty PVC.
 */
export function ownedByController(obj: unknown, backedUp: ReadonlySet<string>): string | undefined {
  const source = record(obj);
  const meta = record(source?.['metadata']);
  if (source === undefined || typeof source['apiVersion'] !== 'string' || typeof source['kind'] !== 'string')
    return undefined;
  const owner = array(meta?.['ownerReferences'])
    .map(record)
    .find((r) => r?.['controller'] === true);
  if (typeof owner?.['apiVersion'] !== 'string' || typeof owner['kind'] !== 'string') return undefined;
  const ownerKey = groupKind(groupOf(owner['apiVersion']), owner['kind']);
  if (!backedUp.has(ownerKey)) return undefined;
  const ownerName = typeof owner['name'] === 'string' ? owner['name'] : '(no name)';
  const key = groupKind(groupOf(source['apiVersion']), source['kind']);
  if (remadeByOwner.has(key))
    return `${objectRef(source)}: made by its ${owner['kind']} ${ownerName}, which the backup holds and which makes it again`;
  if (key === 'PersistentVolumeClaim' && ownerKey === 'Pod')
    return `${objectRef(source)}: the ephemeral volume of Pod ${ownerName}, made and deleted with it`;
  return undefined;
}

function fromSnapshot(source: unknown): boolean {
  const ref = record(source);
  return ref?.['kind'] === 'VolumeSnapshot' && ref['apiGroup'] === 'snapshot.storage.k8s.io';
}

function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The string entries of a label or annotation map; anything else is not one the API server keeps. */
function stringMap(value: unknown): Record<string, string> | undefined {
  const map = record(value);
  if (map === undefined) return undefined;
  return Object.fromEntries(Object.entries(map).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function dropKeys(map: Json | undefined, drop: (key: string) => boolean): void {
  for (const key of Object.keys(map ?? {})) if (drop(key)) delete map?.[key];
}

/** A deep copy of JSON data: functions, undefined and repeated (cyclic) references are left out. */
function clone(value: unknown, seen = new Set<object>()): unknown {
  if (typeof value !== 'object' || value === null)
    return ['string', 'number', 'boolean'].includes(typeof value) || value === null ? value : undefined;
  if (seen.has(value)) return undefined;
  seen.add(value);
  const copy = Array.isArray(value)
    ? value.map((item) => clone(item, seen) ?? null)
    : Object.fromEntries(
        Object.entries(value)
          .map(([k, v]) => [k, clone(v, seen)] as const)
          .filter(([, v]) => v !== undefined),
      );
  seen.delete(value);
  return copy;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
