// What the drill controller sees of one RestoreDrill's world, from the
// informer caches: the backup it proves and what that backup recorded, the
// repository and its maintenance, the drills running beside it, the scratch
// volume in Safehold's namespace and the mover's outcome.
import {
  restoreDrillSpec,
  runLabels,
  type BackupPolicy,
  type BackupRepository,
  type RestoreDrill,
  type VolumeBackup,
} from '../../api/index.ts';
import { runObjectBase, type CommandOutcome, type DrillCounts, type DrillObservation } from '../../core/index.ts';
import { isNotFound, kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { moverOutcome } from '../run/mover-outcome.ts';
import type { StartGate } from '../run/start-gate.ts';
import { observeBackupChoice } from '../restore/restore-observation.ts';

export interface DrillObservationDeps {
  client: KubeClient;
  cache: ClusterCache;
  /** Safehold's namespace: the scratch volume and the mover live there. */
  namespace: string;
  now: () => Date;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  gate: StartGate;
  /** Drills running at once, cluster-wide. */
  maxConcurrentDrills: number;
}

export interface ObservedDrill {
  observation: DrillObservation;
  repository: BackupRepository | undefined;
  /** What the scratch volume is made of, from the backup's record of its volume. */
  scratchShape: ScratchShape | undefined;
}

export interface ScratchShape {
  size: string;
  storageClassName: string | undefined;
  volumeMode: 'Filesystem' | 'Block';
}

const drillKindPrefix = 'drill:';

/** The base name of a drill's objects in Safehold's namespace (scratch claim, Secret, Job). */
export function drillObjectBase(drill: RestoreDrill): string {
  return runObjectBase(drill, drillKindPrefix);
}

export function drillJobName(drill: RestoreDrill): string {
  return `${drillObjectBase(drill)}-drill`;
}

export function drillCommandJobName(drill: RestoreDrill): string {
  return `${drillObjectBase(drill)}-check`;
}

export function drillScratchName(drill: RestoreDrill): string {
  return `${drillObjectBase(drill)}-scratch`;
}

export function drillLabels(drill: RestoreDrill): Record<string, string> {
  return {
    [runLabels.drill]: drill.metadata.name,
    [runLabels.namespace]: drill.metadata.namespace,
    [runLabels.component]: 'mover',
  };
}

export function drillFinished(drill: { status?: { phase?: string | undefined } | undefined }): boolean {
  return drill.status?.phase === 'Succeeded' || drill.status?.phase === 'Failed';
}

export async function observeDrill(deps: DrillObservationDeps, drill: RestoreDrill): Promise<ObservedDrill> {
  const { cache } = deps;
  const { choice, backup, repository, maintenance } = observeBackupChoice(
    { ...deps, maxConcurrentRestores: 0 },
    { metadata: drill.metadata, spec: drill.spec, status: drill.status },
  );
  const recorded =
    backup === undefined
      ? undefined
      : cache.backupsOf(backup.namespace, backup.pvc).find((b) => b.metadata.name === backup.name)?.status;
  const scratchShape = backup === undefined ? undefined : shapeOf(cache, drill, recorded, backup.image !== undefined);
  const scratchName = drillScratchName(drill);
  const claim = cache.claims.get(`${deps.namespace}/${scratchName}`);
  const scratchNotCachedYet =
    claim === undefined &&
    drill.status?.scratch !== undefined &&
    (await exists(deps.client, deps.namespace, scratchName));
  return {
    repository,
    scratchShape,
    observation: {
      drill,
      now: deps.now(),
      invalid: invalidSpec(cache, drill, choice.ok && scratchShape === undefined),
      choice,
      repositoryFound: repository !== undefined,
      expected: expectedOf(recorded),
      maintenance,
      slots: { running: runningDrills(deps, drill.metadata.uid), limit: deps.maxConcurrentDrills },
      scratch: claim === undefined ? undefined : { phase: claim.status?.phase },
      scratchNotCachedYet,
      job: moverOutcome(cache, deps.namespace, drillJobName(drill)),
      command: policyOf(cache, recorded)?.spec.drill?.command,
      commandJob: commandOutcome(cache, deps.namespace, drillCommandJobName(drill)),
    },
  };
}

/** What the backup recorded: a block volume's size, or a folder's files and bytes. */
function expectedOf(status: VolumeBackup['status']): DrillCounts | undefined {
  if (status?.block !== undefined) return { bytes: status.block.virtualSize };
  if (status?.bytes === undefined) return undefined;
  return { files: status.files?.total, bytes: status.bytes.total };
}

/** The scratch volume: the size and mode the volume had when backed up, in the drill's, the policy's or the volume's class. */
function shapeOf(
  cache: ClusterCache,
  drill: RestoreDrill,
  recorded: VolumeBackup['status'],
  block: boolean,
): ScratchShape | undefined {
  const source = cache.claims.get(`${drill.metadata.namespace}/${drill.spec.source.pvc}`);
  const size =
    recorded?.volume?.capacity ?? source?.status?.capacity?.storage ?? source?.spec?.resources?.requests?.storage;
  if (size === undefined) return undefined;
  const policy = policyOf(cache, recorded);
  return {
    size,
    storageClassName:
      drill.spec.storageClassName ??
      policy?.spec.drill?.storageClassName ??
      recorded?.volume?.storageClassName ??
      source?.spec?.storageClassName,
    volumeMode: block ? 'Block' : 'Filesystem',
  };
}

/** The policy the backup was taken under, as it is now. */
function policyOf(cache: ClusterCache, recorded: VolumeBackup['status']): BackupPolicy | undefined {
  return recorded?.policy === undefined
    ? undefined
    : cache.parsedPolicies().valid.find((p) => p.metadata.name === recorded.policy);
}

/** How the drill command's Job ended: its container's exit code and termination message, or why it has none. */
function commandOutcome(cache: ClusterCache, namespace: string, jobName: string): CommandOutcome | undefined {
  const job = cache.jobs.get(`${namespace}/${jobName}`);
  if (job === undefined) return undefined;
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  const pod = cache.podsOfJob(namespace, jobName)[0];
  const terminated = pod?.status?.containerStatuses?.find((c) => c.name === 'drill')?.state?.terminated;
  if (terminated !== undefined)
    return { finished: true, exitCode: terminated.exitCode, message: terminated.message ?? terminated.reason };
  return failed === undefined
    ? { finished: false, exitCode: undefined, message: undefined }
    : { finished: true, exitCode: undefined, message: failed.message ?? failed.reason };
}

/** Drills other than `uid` that are running, or were started a moment ago and the caches do not show it yet. */
function runningDrills(deps: DrillObservationDeps, uid: string | undefined): number {
  const starting = deps.gate.starting('reads');
  return deps.cache.drills
    .list()
    .filter((d) => d.metadata.uid !== uid && (d.status?.phase === 'Running' || starting.has(d.metadata.uid ?? '')))
    .length;
}

function invalidSpec(cache: ClusterCache, drill: RestoreDrill, sizeUnknown: boolean): string | undefined {
  const problems: string[] = [];
  const parsed = restoreDrillSpec.safeParse(drill.spec);
  if (!parsed.success)
    for (const issue of parsed.error.issues) problems.push(`spec.${issue.path.join('.')}: ${issue.message}`);
  const className = drill.spec.storageClassName;
  if (className !== undefined && cache.storageClasses.get(className) === undefined)
    problems.push(`spec.storageClassName: there is no StorageClass ${className}`);
  if (sizeUnknown)
    problems.push(
      `spec.source.pvc: the size of PVC ${drill.spec.source.pvc} is not known: it no longer exists and its backup does not record it`,
    );
  return problems.length === 0 ? undefined : problems.join('; ');
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
