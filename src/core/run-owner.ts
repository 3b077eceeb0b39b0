// Which run a temporary object belongs to, and whether that run is gone. An
// object in Safehold's namespace, or a PV, cannot carry an owner reference to
// a run in a tenant's namespace (garbage collection would delete it at once),
// so it carries an owner record instead: the run's kind, namespace, name and
// uid. The sweep deletes only objects labelled as a run's AND owned by a run
// that no longer exists; anything a user labelled by mistake has no owner and
// stays.
import { apiGroup, bucketRestoreLabel, dumpLabels, runLabels } from '../api/index.ts';
import { maintenanceLabel } from './mover-job.ts';

export const ownerAnnotation = 'safehold.io/owner';

export const runKindNames = [
  'VolumeBackup',
  'VolumeRestore',
  'BackupDownload',
  'RepositoryMaintenance',
  'DumpRun',
  'RestoreDrill',
  'BucketRestore',
] as const;
export type RunKindName = (typeof runKindNames)[number];

export interface RunOwner {
  kind: RunKindName;
  namespace: string;
  name: string;
  uid: string;
}

/** The labels that mark an object as one of a run's temporaries. */
export const runObjectLabelKeys = [
  runLabels.run,
  runLabels.restore,
  runLabels.download,
  maintenanceLabel,
  dumpLabels.run,
  runLabels.drill,
  bucketRestoreLabel,
] as const;

/** The owner record of a run's temporary object, "Kind/namespace/name/uid". */
export function ownerRecord(kind: RunKindName, run: { metadata: { namespace: string; name: string; uid?: string } }) {
  return { [ownerAnnotation]: `${kind}/${run.metadata.namespace}/${run.metadata.name}/${run.metadata.uid ?? ''}` };
}

export function parseOwnerRecord(value: string | undefined): RunOwner | undefined {
  const parts = value?.split('/');
  if (parts?.length !== 4) return undefined;
  const [kind, namespace, name, uid] = parts as [string, string, string, string];
  if (!isRunKind(kind) || namespace === '' || name === '' || uid === '') return undefined;
  return { kind, namespace, name, uid };
}

interface OwnedObject {
  metadata?: {
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  };
}

/** The run an object was made for: its owner record, else an owner reference to a Safehold run in its namespace. */
export function runOwnerOf(object: OwnedObject): RunOwner | undefined {
  const recorded = parseOwnerRecord(object.metadata?.annotations?.[ownerAnnotation]);
  if (recorded !== undefined) return recorded;
  const namespace = object.metadata?.namespace;
  if (namespace === undefined) return undefined;
  const reference = object.metadata?.ownerReferences?.find(
    (r) => r.apiVersion.startsWith(`${apiGroup}/`) && isRunKind(r.kind),
  );
  if (reference === undefined || !isRunKind(reference.kind)) return undefined;
  return { kind: reference.kind, namespace, name: reference.name, uid: reference.uid };
}

/**
 * Whether the sweep may delete an object: it carries a run label and an owner, and no run of that
 * kind, namespace and name with that uid exists (`currentUid` says which uid exists now, if any).
 */
export function isLeftover(object: OwnedObject, currentUid: (owner: RunOwner) => string | undefined): boolean {
  const labels = object.metadata?.labels ?? {};
  if (!runObjectLabelKeys.some((key) => labels[key] !== undefined)) return false;
  if (labels['safehold.io/kept'] === 'true') return false;
  const owner = runOwnerOf(object);
  return owner !== undefined && currentUid(owner) !== owner.uid;
}

function isRunKind(kind: string): kind is RunKindName {
  return (runKindNames as readonly string[]).includes(kind);
}
