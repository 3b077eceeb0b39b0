// What the backup controller sees of one VolumeBackup's world, read from the
// informer caches (never from memory of its own): the policy and repository
// that apply, the method, the run's snapshot, clone, Job and mover result,
// and whether the volume or a mover slot is taken.
import type { PersistentVolume, Pod } from 'kubernetes-types/core/v1.js';
import {
  cephfsCsiDriver,
  moverResult,
  runLabels,
  tenantOf,
  volumeBackupSpec,
  type BackupPolicy,
  type BackupRepository,
  type MoverResult,
  type VolumeBackup,
} from '../../api/index.ts';
import { moverJobName, runObjectBase, type RunMethod, type RunObservation } from '../../core/index.ts';
import { objectKey } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';

export interface ObservationDeps {
  cache: ClusterCache;
  /** Safehold's namespace, where movers run. */
  namespace: string;
  coverage: CoverageController;
  maxConcurrentMovers: number;
  /** UIDs of runs whose start was written but whose new phase the cache has not shown yet. */
  starting: ReadonlySet<string>;
  /** The unfinished maintenance of the repository a namespace's backups go to, if any ("ns/name"). */
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
}

export interface ObservedRun {
  observation: RunObservation;
  repository: BackupRepository | undefined;
}

const activePhases = new Set(['Snapshotting', 'Running']);

export function snapshotName(backup: VolumeBackup): string {
  return backup.metadata.name;
}

export function tempClaimName(backup: VolumeBackup): string {
  return `${backup.metadata.name.slice(0, 240)}-src`;
}

/** "namespace/name" of the VolumeBackup a run object belongs to; objects in Safehold's namespace (and PVs) name it in a label. */
export function runKeyOf(object: { metadata?: { namespace?: string; labels?: Record<string, string> } }) {
  const labels = object.metadata?.labels ?? {};
  const run = labels[runLabels.run];
  const namespace = labels[runLabels.namespace] ?? object.metadata?.namespace;
  return run === undefined || namespace === undefined ? undefined : `${namespace}/${run}`;
}

/** In Safehold's namespace. */
export function credentialsSecretName(backup: VolumeBackup): string {
  return `${runObjectBase(backup)}-creds`;
}

/** The alias claim in Safehold's namespace (its PV is "safehold-" + this). */
export function aliasName(backup: VolumeBackup): string {
  return runObjectBase(backup);
}

export function observeRun(deps: ObservationDeps, backup: VolumeBackup, now: Date): ObservedRun {
  const { cache } = deps;
  const ns = backup.metadata.namespace;
  const spec = volumeBackupSpec.safeParse(backup.spec);
  const claim = cache.claims.get(`${ns}/${backup.spec.pvc}`);
  const row = deps.coverage.row(`${ns}/${backup.spec.pvc}`);
  const policies = cache.parsedPolicies().valid;
  const policyName =
    backup.status?.policy ??
    backup.spec.policy ??
    (row?.decision.state === 'protected' ? row.decision.policy : undefined);
  const policy = policies.find((p) => p.metadata.name === policyName);
  const repository = policy === undefined ? undefined : pickRepository(cache, policy);
  const blocker = blockerOf();
  function blockerOf(): RunObservation['blocker'] {
    if (!spec.success)
      return {
        reason: 'InvalidSpec',
        message: spec.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
      };
    if (claim === undefined) return { reason: 'ClaimNotFound', message: `PVC ${ns}/${backup.spec.pvc} does not exist` };
    if (claim.status?.phase !== 'Bound' || row === undefined) return undefined; // waited for below
    // spec.policy lets a tenant back up a volume no policy protects, not one an admin excluded.
    const decision = row.decision;
    if (backup.spec.policy !== undefined && decision.state === 'excluded' && decision.by !== 'PersistentVolumeClaim')
      return {
        reason: 'NotProtected',
        message: `${ns}/${backup.spec.pvc} is excluded by its ${decision.by} (${decision.reason}); spec.policy does not override an admin's exclusion`,
        final: true,
      };
    if (policy === undefined)
      return {
        reason: 'NotProtected',
        message:
          policyName === undefined
            ? `no policy protects ${ns}/${backup.spec.pvc} (${row.decision.reason}); name one in spec.policy`
            : `BackupPolicy ${policyName} does not exist or is invalid`,
      };
    const pv = cache.volumes.get(claim.spec?.volumeName ?? '');
    if (policy.spec.method === 'cephfs-snapshot' && pv !== undefined && !isCephfs(pv))
      return {
        reason: 'InvalidSpec',
        message: `BackupPolicy ${policy.metadata.name} has method cephfs-snapshot, but PV ${pv.metadata?.name ?? ''} of ${ns}/${backup.spec.pvc} is not CephFS (${pv.spec?.csi?.driver ?? 'no CSI driver'})`,
      };
    if (repository === undefined)
      return {
        reason: 'RepositoryNotFound',
        message: `BackupPolicy ${policy.metadata.name} names no usable BackupRepository (spec.repository.name${policy.spec.repository === undefined ? ' is unset and there is not exactly one repository' : ` = ${policy.spec.repository.name}`})`,
      };
    return undefined;
  }

  function waitingFor(): string | undefined {
    if (claim === undefined) return undefined;
    if (claim.status?.phase !== 'Bound') return `PVC ${ns}/${backup.spec.pvc} to be bound`;
    const pv = claim.spec?.volumeName;
    if (pv !== undefined && cache.volumes.get(pv) === undefined) return `PV ${pv}`;
    if (row === undefined) return `the coverage decision of PVC ${ns}/${backup.spec.pvc}`;
    return undefined;
  }

  // Runs this operator just started count as active before the cache shows it.
  const others = cache.volumeBackups
    .list()
    .filter(
      (b) =>
        b.metadata.uid !== backup.metadata.uid &&
        (activePhases.has(b.status?.phase ?? '') || deps.starting.has(b.metadata.uid ?? '')),
    );
  const volumeBusy = others.some((b) => b.metadata.namespace === ns && b.spec.pvc === backup.spec.pvc);
  const creator = repository === undefined ? undefined : repositoryCreator(cache, repository, ns, others);
  const perRepository = repository?.spec.maxConcurrentMovers ?? policy?.spec.concurrency?.perRepository;
  const globalLimit = policy?.spec.concurrency?.global ?? deps.maxConcurrentMovers;
  const method = methodFor(cache, policy, claim?.spec?.volumeName);
  const node = method === 'live' ? nodeUsing(cache, ns, backup.spec.pvc) : undefined;
  const perNode = policy?.spec.concurrency?.perNode;
  const slotFree =
    others.length < globalLimit &&
    (perRepository === undefined ||
      others.filter((b) => b.status?.repository === repository?.metadata.name).length < perRepository) &&
    (perNode === undefined || node === undefined || others.filter((b) => b.status?.node === node).length < perNode);

  const snapshot = cache.snapshots.get(`${ns}/${snapshotName(backup)}`);
  const temp = cache.claims.get(`${ns}/${tempClaimName(backup)}`);
  const attempt = backup.status?.attempt ?? 0;
  const job = attempt === 0 ? undefined : cache.jobs.get(`${deps.namespace}/${moverJobName(backup, attempt)}`);
  const alias = cache.claims.get(`${deps.namespace}/${aliasName(backup)}`);
  return {
    repository,
    observation: {
      now,
      backup,
      policy,
      blocker,
      method,
      volumeBusy,
      repositoryBeingCreated: creator === undefined ? undefined : objectKey(creator),
      // The method depends on the PV's driver: decide it only once the PV is in the cache.
      waitingFor: waitingFor(),
      slotFree,
      snapshot:
        snapshot === undefined
          ? undefined
          : { ready: snapshot.status?.readyToUse === true, error: snapshot.status?.error?.message },
      tempClaim: temp === undefined ? undefined : { bound: temp.status?.phase === 'Bound' },
      alias:
        alias === undefined
          ? undefined
          : {
              bound: alias.status?.phase === 'Bound',
              volumeBound: cache.volumes.get(`safehold-${aliasName(backup)}`)?.status?.phase === 'Bound',
            },
      maintenance: repository === undefined ? undefined : deps.maintenanceFor(repository, ns),
      job:
        job === undefined
          ? undefined
          : jobOutcome(cache, deps.namespace, job.metadata?.name ?? '', job.status?.conditions ?? []),
    },
  };
}

/**
 * The active run creating a repository no backup has succeeded in yet, if any. Runs of the same
 * tenant whose repository is not in their status yet (just starting) count too.
 */
function repositoryCreator(
  cache: ClusterCache,
  repository: BackupRepository,
  namespace: string,
  others: readonly VolumeBackup[],
): VolumeBackup | undefined {
  const tenant = tenantOf(repository.spec, namespace);
  const sameRepository = (b: VolumeBackup) =>
    tenantOf(repository.spec, b.metadata.namespace) === tenant &&
    (b.status?.repository ?? repository.metadata.name) === repository.metadata.name;
  // Only the few active runs first: the whole catalogue is scanned only when one of them shares the repository.
  const candidate = others.find(sameRepository);
  if (candidate === undefined) return undefined;
  const created = cache.volumeBackups.list().some((b) => b.status?.phase === 'Succeeded' && sameRepository(b));
  return created ? undefined : candidate;
}

/** The node of a running Pod that mounts the claim: a live RWO volume can only be read there. */
export function nodeUsing(cache: ClusterCache, namespace: string, claimName: string): string | undefined {
  return cache.pods
    .list()
    .find(
      (p) =>
        p.metadata?.namespace === namespace &&
        p.status?.phase === 'Running' &&
        (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claimName),
    )?.spec?.nodeName;
}

/** The policy's repository, or the only one when the policy names none. */
function pickRepository(cache: ClusterCache, policy: BackupPolicy): BackupRepository | undefined {
  if (policy.spec.repository !== undefined) return cache.repository(policy.spec.repository.name);
  const all = cache.repositories.list();
  return all.length === 1 ? cache.repository(all[0]?.metadata?.name ?? '') : undefined;
}

/** auto: a CSI snapshot when a VolumeSnapshotClass serves the volume's driver, else the live volume. */
function methodFor(cache: ClusterCache, policy: BackupPolicy | undefined, pvName: string | undefined): RunMethod {
  const method = policy?.spec.method ?? 'auto';
  if (method !== 'auto') return method;
  const driver = pvName === undefined ? undefined : cache.volumes.get(pvName)?.spec?.csi?.driver;
  return driver !== undefined && cache.snapshotClasses.list().some((c) => c.driver === driver) ? 'snapshot' : 'live';
}

/** A CephFS volume: ceph-csi's, or the in-tree cephfs plugin's. */
function isCephfs(pv: PersistentVolume): boolean {
  return pv.spec?.csi?.driver === cephfsCsiDriver || pv.spec?.cephfs !== undefined;
}

/** A mover Job's outcome: finished or not, and the result its Pod left in the termination message. */
export function jobOutcome(
  cache: ClusterCache,
  namespace: string,
  jobName: string,
  conditions: { type: string; status: string; message?: string }[],
) {
  const finished = conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  const pod = cache.pods
    .list()
    .find(
      (p: Pod) =>
        p.metadata?.namespace === namespace && p.metadata.labels?.['batch.kubernetes.io/job-name'] === jobName,
    );
  const terminated = pod?.status?.containerStatuses?.find((c) => c.name === 'mover')?.state?.terminated;
  return {
    finished: finished || terminated !== undefined,
    result: parseResult(terminated?.message),
    failureMessage: failed?.message ?? terminated?.reason,
  };
}

export function parseResult(message: string | undefined): MoverResult | undefined {
  if (message === undefined || message.trim() === '') return undefined;
  try {
    const parsed = moverResult.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
