// What the restore controller sees of one VolumeRestore's world, from the
// informer caches: whether the spec can be carried out, the backup it asks
// for, the repository and its maintenance, the kept snapshot, the target PVC
// and who mounts it, the writable alias, and the mover's outcome.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import {
  runLabels,
  volumePath,
  volumeRestoreSpec,
  type BackupRepository,
  type ChosenBackup,
  type VolumeBackup,
  type VolumeRestore,
} from '../../api/index.ts';
import {
  chooseBackup,
  dumpCatalogue,
  ownerRecord,
  ownerReference,
  readRefusal,
  runObjectBase,
  snapshotClassFor,
  undoKeep,
  undoSnapshotName,
  type BackupAnswer,
  type RestoreObservation,
  type UndoObservation,
} from '../../core/index.ts';
import { isNotFound, kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Exposer, Exposure } from '../expose/index.ts';
import { moverOutcome } from '../run/mover-outcome.ts';
import type { StartGate } from '../run/start-gate.ts';

export interface RestoreObservationDeps {
  cache: ClusterCache;
  /** Safehold's namespace, where movers run. */
  namespace: string;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  gate: StartGate;
  /** Restores and downloads running at once, cluster-wide (their own limit, apart from backups'). */
  maxConcurrentRestores: number;
}

export interface ObservedRestore {
  observation: RestoreObservation;
  /** The backup being restored: settled in status once started, else the one the spec asks for. */
  backup: ChosenBackup | undefined;
  repository: BackupRepository | undefined;
  /** What a new target PVC is made of. */
  newTarget: NewTarget | undefined;
  /** The VolumeSnapshotClass an undo snapshot of the target is taken with. */
  undoClass: string | undefined;
}

export interface NewTarget {
  size: string;
  storageClassName: string | undefined;
  accessModes: string[];
  volumeMode: string;
}

const restoreKind = 'restore:';

/** The base name of a restore's objects in Safehold's namespace (alias claim, Secret, Job). */
export function restoreObjectBase(restore: VolumeRestore): string {
  return runObjectBase(restore, restoreKind);
}

export function restoreJobName(restore: VolumeRestore): string {
  return `${restoreObjectBase(restore)}-restore`;
}

export function restoreLabels(restore: VolumeRestore): Record<string, string> {
  return {
    [runLabels.restore]: restore.metadata.name,
    [runLabels.namespace]: restore.metadata.namespace,
    [runLabels.component]: 'mover',
  };
}

/** The restore's target, exposed writable to its mover through an alias in Safehold's namespace. */
export function restoreExposure(restore: VolumeRestore): Exposure {
  return {
    namespace: restore.metadata.namespace,
    claim: restore.spec.target.pvc,
    through: 'volume',
    readOnly: false,
    aliasName: restoreObjectBase(restore),
    labels: restoreLabels(restore),
    ownerReference: ownerReference(restore, 'VolumeRestore'),
    aliasLabels: restoreLabels(restore),
    aliasAnnotations: ownerRecord('VolumeRestore', restore),
  };
}

export function restoreFinished(restore: { status?: { phase?: string | undefined } | undefined }): boolean {
  return restore.status?.phase === 'Succeeded' || restore.status?.phase === 'Failed';
}

export function restoreSourceNamespace(restore: VolumeRestore): string {
  return restore.spec.source.namespace ?? restore.metadata.namespace;
}

/** A restore's or download's part that is the same for both: the backup asked for, its repository, and whether it may be read. */
export function observeBackupChoice(
  deps: RestoreObservationDeps,
  run: {
    metadata: { namespace: string; uid?: string | undefined };
    spec: {
      source: { pvc?: string | undefined; dump?: string | undefined; namespace?: string | undefined };
      backup?: string | undefined;
      asOf?: string | undefined;
    };
    status?: { backup?: ChosenBackup | undefined } | undefined;
  },
) {
  const { cache } = deps;
  const sourceNs = run.spec.source.namespace ?? run.metadata.namespace;
  // An application dump's runs stand in for a volume's backups (a download of a dump).
  const { dump, pvc = '' } = run.spec.source;
  const catalogue =
    dump === undefined ? cache.backupsOf(sourceNs, pvc) : dumpCatalogue(cache.runsOfDump(`${sourceNs}/${dump}`));
  const choice: BackupAnswer =
    run.status?.backup !== undefined
      ? { ok: true, backup: run.status.backup }
      : chooseBackup(catalogue, {
          namespace: sourceNs,
          pvc: run.spec.source.dump ?? run.spec.source.pvc ?? '',
          backup: run.spec.backup ?? 'latest',
          asOf: run.spec.asOf,
        });
  const backup = choice.ok ? choice.backup : undefined;
  const repository = backup === undefined ? undefined : cache.repository(backup.repository);
  return {
    sourceNs,
    choice,
    backup,
    repository,
    forbidden: readRefusal(sourceNs, run.metadata.namespace, cache.namespaces.get(sourceNs)?.metadata?.annotations),
    maintenance: repository === undefined ? undefined : deps.maintenanceFor(repository, sourceNs),
    readers: { running: runningReaders(deps, run.metadata.uid), limit: deps.maxConcurrentRestores },
  };
}

/** Restores, downloads and bucket restores other than `uid` that are running, or were started a moment ago and the caches do not show it yet. */
function runningReaders(deps: RestoreObservationDeps, uid: string | undefined): number {
  const starting = deps.gate.starting('reads');
  const runs = [...deps.cache.restores.list(), ...deps.cache.downloads.list(), ...deps.cache.bucketRestores.list()];
  return runs.filter(
    (r) => r.metadata.uid !== uid && (r.status?.phase === 'Running' || starting.has(r.metadata.uid ?? '')),
  ).length;
}

export async function observeRestore(
  deps: RestoreObservationDeps & { client: KubeClient; exposer: Exposer },
  restore: VolumeRestore,
): Promise<ObservedRestore> {
  const { cache } = deps;
  const ns = restore.metadata.namespace;
  const spec = restore.spec;
  const { choice, backup, repository, forbidden, maintenance, readers } = observeBackupChoice(deps, restore);
  const claim = cache.claims.get(`${ns}/${spec.target.pvc}`);
  const newTarget = backup === undefined ? undefined : newTargetOf(cache, restore, backup);
  const invalid = invalidSpec(restore, choice.ok && spec.target.existing !== true && newTarget === undefined);
  const kept = backup === undefined ? undefined : cache.snapshots.get(`${backup.namespace}/${backup.name}`);
  // The claim this restore just created may not be in the cache yet: never take that for "deleted".
  const targetNotCachedYet =
    claim === undefined && restore.status?.targetCreated === true && (await exists(deps.client, ns, spec.target.pvc));
  const undo = spec.target.existing === true ? observeUndo(cache, restore, claim) : undefined;
  return {
    backup,
    repository,
    newTarget,
    undoClass: undo?.className,
    observation: {
      restore,
      invalid,
      forbidden,
      choice,
      repositoryFound: repository !== undefined,
      maintenance,
      readers,
      keptSnapshot: kept?.status?.readyToUse === true && kept.metadata?.labels?.['safehold.io/kept'] === 'true',
      target:
        claim === undefined
          ? undefined
          : {
              ours: claim.metadata?.labels?.[runLabels.restore] === restore.metadata.name,
              phase: claim.status?.phase,
              mountedBy: mountedBy(cache, claim),
            },
      targetNotCachedYet,
      alias: deps.exposer.observe(restoreExposure(restore)).alias,
      job: moverOutcome(cache, deps.namespace, restoreJobName(restore)),
      undo: undo?.observation,
    },
  };
}

/** Whether the target's CSI driver has a VolumeSnapshotClass (as a backup's `auto` method asks), and the undo snapshot taken. */
function observeUndo(
  cache: ClusterCache,
  restore: VolumeRestore,
  claim: PersistentVolumeClaim | undefined,
): { observation: UndoObservation; className?: string | undefined } {
  const pvc = `${restore.metadata.namespace}/${restore.spec.target.pvc}`;
  if (undoKeep(restore).kind === 'none')
    return { observation: { kind: 'none', why: 'spec.target.keepUndoSnapshot is none' } };
  const pvName = claim?.spec?.volumeName;
  const pv = pvName === undefined ? undefined : cache.volumes.get(pvName);
  if (pv === undefined) return { observation: { kind: 'unknown' } };
  const driver = pv.spec?.csi?.driver;
  if (driver === undefined)
    return {
      observation: {
        kind: 'none',
        why: `PVC ${pvc} is not a CSI volume (PV ${pvName ?? ''}): no VolumeSnapshot can be taken of it`,
      },
    };
  const snapshotClass = snapshotClassFor(cache.snapshotClasses.list(), driver);
  if (snapshotClass === undefined)
    return {
      observation: {
        kind: 'none',
        why: `no VolumeSnapshotClass for CSI driver ${driver} (PVC ${pvc}): no VolumeSnapshot can be taken of it`,
      },
    };
  const name = undoSnapshotName(restore);
  const snapshot = cache.snapshots.get(`${restore.metadata.namespace}/${name}`);
  return {
    className: snapshotClass.metadata?.name,
    observation: {
      kind: 'snapshot',
      name,
      snapshot:
        snapshot === undefined
          ? undefined
          : { ready: snapshot.status?.readyToUse === true, error: snapshot.status?.error?.message },
    },
  };
}

async function exists(client: KubeClient, namespace: string, name: string): Promise<boolean> {
  try {
    await client.get(kinds.persistentVolumeClaim, { namespace, name });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Pods that have the claim mounted and are not finished, "ns/name". */
function mountedBy(cache: ClusterCache, claim: PersistentVolumeClaim): string[] {
  return cache
    .podsMounting(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '')
    .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
    .map((p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
}

/** What a new target PVC is made of: the spec's fields, else the volume as backed up, else the source PVC as it is. */
function newTargetOf(cache: ClusterCache, restore: VolumeRestore, backup: ChosenBackup): NewTarget | undefined {
  const recorded: VolumeBackup['status'] = cache
    .backupsOf(backup.namespace, backup.pvc)
    .find((b) => b.metadata.name === backup.name)?.status;
  const source = cache.claims.get(`${backup.namespace}/${backup.pvc}`);
  const target = restore.spec.target;
  const size =
    target.size ??
    recorded?.volume?.capacity ??
    source?.status?.capacity?.storage ??
    source?.spec?.resources?.requests?.storage;
  if (size === undefined) return undefined;
  return {
    size,
    storageClassName: target.storageClassName ?? recorded?.volume?.storageClassName ?? source?.spec?.storageClassName,
    accessModes: target.accessModes ?? recorded?.volume?.accessModes ?? source?.spec?.accessModes ?? ['ReadWriteOnce'],
    volumeMode: recorded?.volume?.volumeMode ?? source?.spec?.volumeMode ?? 'Filesystem',
  };
}

/** Every problem of the spec, each naming its field; undefined when it can be carried out. */
function invalidSpec(restore: VolumeRestore, sizeUnknown: boolean): string | undefined {
  const problems: string[] = [];
  const parsed = volumeRestoreSpec.safeParse(restore.spec);
  if (!parsed.success)
    for (const issue of parsed.error.issues) problems.push(`spec.${issue.path.join('.')}: ${issue.message}`);
  const spec = restore.spec;
  (spec.paths ?? []).forEach((path, index) => {
    const checked = volumePath.safeParse(path);
    if (!checked.success) problems.push(`spec.paths[${index}]: "${path}": ${checked.error.issues[0]?.message ?? ''}`);
  });
  if (spec.asOf !== undefined && (spec.backup ?? 'latest') !== 'latest')
    problems.push('spec.asOf: give either a time (asOf) or a backup, not both');
  if (spec.target.existing === true)
    for (const field of ['size', 'storageClassName', 'accessModes'] as const)
      if (spec.target[field] !== undefined)
        problems.push(`spec.target.${field}: only for a new PVC (spec.target.existing is true)`);
  if (spec.target.keepUndoSnapshot !== undefined && /^0+(ms|s|m|h|d|w)$/.test(spec.target.keepUndoSnapshot))
    problems.push(
      `spec.target.keepUndoSnapshot: ${spec.target.keepUndoSnapshot} would keep the undo snapshot for no time: write none to restore without one`,
    );
  if (spec.target.existing !== true) {
    if (spec.target.force === true) problems.push('spec.target.force: only for an existing PVC');
    if (spec.target.keepUndoSnapshot !== undefined)
      problems.push('spec.target.keepUndoSnapshot: only for an existing PVC (a new PVC has nothing to undo)');
    if (spec.target.keepExtraFiles === true) problems.push('spec.target.keepExtraFiles: only for an existing PVC');
  }
  if (sizeUnknown)
    problems.push(
      `spec.target.size: required here: PVC ${spec.source.pvc} no longer exists and its backup does not record its size`,
    );
  return problems.length === 0 ? undefined : problems.join('; ');
}
