// What the backup kind sees of one VolumeBackup's world, read from the
// informer caches (never from memory of its own): the facts core decides on
// (the claim and PV, the coverage decision, the policy and repository, the
// other active runs), the exposure of the volume, and the mover's outcome.
import {
  cephfsCsiDriver,
  tenantOf,
  volumeBackupSpec,
  type BackupRepository,
  type VolumeBackup,
} from '../../api/index.ts';
import {
  backupBlocker,
  backupMethod,
  historyRepositories,
  moverJobName,
  moverSlotFree,
  ownerRecord,
  ownerReference,
  groupCapture,
  groupCaptureLabel,
  groupBusy,
  groupMembers,
  hooksBusy,
  snapshotClassFor,
  type GroupVolume,
  planHooks,
  type HookPod,
  runObjectBase,
  runObjectLabels,
  type RunMethod,
  type RunObservation,
} from '../../core/index.ts';
import { objectKey } from '../../kube/index.ts';
import { nodeUsing, type Exposure } from '../expose/index.ts';
import { moverOutcome } from '../run/mover-outcome.ts';
import type { BackupDeps } from './backup-kind.ts';
import type { ClusterCache } from '../cluster-cache.ts';

export interface ObservedRun {
  observation: RunObservation;
  repository: BackupRepository | undefined;
}

/** In Safehold's namespace. */
export function credentialsSecretName(backup: VolumeBackup): string {
  return `${runObjectBase(backup)}-creds`;
}

/** The run's VolumeSnapshot, in the volume's namespace: named after it, unless its group snapshot took it. */
export function backupSnapshotName(backup: VolumeBackup): string {
  return backup.status?.snapshotName ?? backup.metadata.name;
}

/** The group snapshot API's mark of a driver's default VolumeGroupSnapshotClass. */
const groupSnapshotDefaultAnnotation = 'groupsnapshot.storage.kubernetes.io/is-default-class';

/** How a backup's volume is exposed to its mover: through its snapshot, or the volume itself. */
export function backupExposure(backup: VolumeBackup, method: RunMethod | undefined): Exposure {
  return {
    namespace: backup.metadata.namespace,
    claim: backup.spec.pvc,
    through: method === 'snapshot' ? 'snapshot' : 'volume',
    // A cephfs-snapshot mover makes its snapshot in the volume's .snap folder: it needs the volume writable.
    readOnly: method !== 'cephfs-snapshot',
    snapshotName: backupSnapshotName(backup),
    cloneName: `${backup.metadata.name.slice(0, 240)}-src`,
    aliasName: runObjectBase(backup),
    labels: runObjectLabels(backup),
    ownerReference: ownerReference(backup),
    aliasLabels: runObjectLabels(backup, true),
    aliasAnnotations: ownerRecord('VolumeBackup', backup),
  };
}

export function observeRun(deps: BackupDeps, backup: VolumeBackup, now: Date): ObservedRun {
  const { cache } = deps;
  const ns = backup.metadata.namespace;
  const spec = volumeBackupSpec.safeParse(backup.spec);
  const claim = cache.claims.get(`${ns}/${backup.spec.pvc}`);
  const pvName = claim?.spec?.volumeName;
  const pv = pvName === undefined ? undefined : cache.volumes.get(pvName);
  const row = deps.coverage.row(`${ns}/${backup.spec.pvc}`);
  const policyName =
    backup.status?.policy ??
    backup.spec.policy ??
    (row?.decision.state === 'protected' || row?.decision.state === 'unbound' ? row.decision.policy : undefined);
  const policy = cache.parsedPolicies().valid.find((p) => p.metadata.name === policyName);
  const repository = policy === undefined ? undefined : cache.policyRepository(policy);
  const driver = pv?.spec?.csi?.driver;
  const blocker = backupBlocker({
    namespace: ns,
    pvc: backup.spec.pvc,
    invalidSpec: spec.success
      ? undefined
      : spec.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
    claim: claim === undefined ? undefined : { bound: claim.status?.phase === 'Bound' },
    volume:
      pv === undefined
        ? undefined
        : { name: pvName ?? '', driver, cephfs: driver === cephfsCsiDriver || pv.spec?.cephfs !== undefined },
    decision: row?.decision,
    requestedPolicy: backup.spec.policy,
    policyName,
    policy,
    repository: repository?.metadata.name,
  });

  // Runs this operator just started count as active before the cache shows it.
  const others = cache
    .activeBackups(deps.gate.starting('writes'))
    .filter((b) => b.metadata.uid !== backup.metadata.uid);
  const volumeBusy = others.some((b) => b.metadata.namespace === ns && b.spec.pvc === backup.spec.pvc);
  const creator = repository === undefined ? undefined : repositoryCreator(cache, repository, ns, others);
  const method = backupMethod(
    policy?.spec.method,
    driver,
    cache.snapshotClasses.list().map((c) => c.driver),
  );
  const node = method === 'live' ? nodeUsing(cache, ns, backup.spec.pvc) : undefined;
  const slotFree = moverSlotFree({
    // A run admitted a moment ago counts with where it writes and runs, before the caches show its status.
    others: others.map((b) => {
      const admitted = deps.gate.admission(b.metadata.uid ?? '');
      return {
        repository: b.status?.repository ?? admitted?.repository,
        node: b.status?.node ?? admitted?.node,
      };
    }),
    operatorLimit: deps.maxConcurrentMovers,
    policyLimit: policy?.spec.concurrency?.global,
    perRepository: repository?.spec.maxConcurrentMovers ?? policy?.spec.concurrency?.perRepository,
    perNode: policy?.spec.concurrency?.perNode,
    repository: repository?.metadata.name,
    node,
  });
  const attempt = backup.status?.attempt ?? 0;
  // Only a new attempt plans its hooks; an active one reads its plan from its status. A member of
  // a group (spec.groupOf) had its hooks run by the backup that took its snapshot.
  const pending = (backup.status?.phase ?? 'Pending') === 'Pending';
  const hookPlan =
    pending && backup.spec.groupOf === undefined
      ? planHooks(policy?.spec.hooks, hookPods(cache, ns, backup.spec.pvc))
      : { hooks: [] };
  const hooked = 'hooks' in hookPlan && hookPlan.hooks.length > 0;
  const groupClass =
    pending && backup.spec.groupOf === undefined && method === 'snapshot'
      ? snapshotClassFor(cache.groupSnapshotClasses.list(), driver, groupSnapshotDefaultAnnotation)?.metadata?.name
      : undefined;
  const capture =
    hooked || groupClass !== undefined
      ? groupCapture({
          hooked,
          leader: { driver, keepsSnapshots: (policy?.spec.keepSnapshots ?? 0) > 0 },
          members: groupMembers({
            leader: backup.metadata.name,
            attempt: attempt + 1,
            pvc: backup.spec.pvc,
            // The hooked Pods' volumes; without hooks, those of every Pod that mounts the volume.
            hookedPods: new Set(
              hooked ? hookPlan.hooks.map((h) => h.pod) : cache.podsMounting(ns, backup.spec.pvc).map(podName),
            ),
            pods: cache.podsMounting(ns, backup.spec.pvc).map((p) => ({
              pod: podName(p),
              claims: (p.spec?.volumes ?? []).flatMap((v) =>
                v.persistentVolumeClaim === undefined ? [] : [v.persistentVolumeClaim.claimName],
              ),
            })),
            capturable: (pvc) => capturedBySnapshot(deps, ns, pvc),
          }).map((m) => ({ ...m, ...groupVolume(deps, ns, m.pvc) })),
          groupSnapshotClass: groupClass,
        })
      : { members: [], groupSnapshotClass: undefined };
  const groupSnapshotName = backup.status?.groupSnapshot?.name;
  const groupSnapshot =
    groupSnapshotName === undefined ? undefined : cache.groupSnapshots.get(`${ns}/${groupSnapshotName}`);
  const groupClaims = [backup.spec.pvc, ...(backup.status?.group ?? []).map((m) => m.pvc)];
  const leader =
    backup.spec.groupOf === undefined ? undefined : cache.volumeBackups.get(`${ns}/${backup.spec.groupOf}`);
  return {
    repository,
    observation: {
      now,
      backup,
      policy,
      blocker,
      method,
      node,
      driver,
      block: claim?.spec?.volumeMode === 'Block',
      volumeBusy,
      repositoryBeingCreated: creator === undefined ? undefined : objectKey(creator),
      // The method depends on the PV's driver: decide it only once the PV is in the cache.
      waitingFor: waitingFor(),
      slotFree,
      exposure: deps.exposer.observe(backupExposure(backup, backup.status?.method ?? method)),
      maintenance: repository === undefined ? undefined : deps.maintenanceFor(repository, ns),
      job: attempt === 0 ? undefined : moverOutcome(cache, deps.namespace, moverJobName(backup, attempt)),
      hookPlan,
      groupPlan: capture.members,
      groupSnapshotClass: capture.groupSnapshotClass,
      groupSnapshot:
        groupSnapshot === undefined
          ? undefined
          : {
              ready: groupSnapshot.status?.readyToUse === true,
              error: groupSnapshot.status?.error?.message,
              deleting: groupSnapshot.metadata?.deletionTimestamp !== undefined,
            },
      groupClaimsLabelled: groupClaims.every(
        (pvc) => cache.claims.get(`${ns}/${pvc}`)?.metadata?.labels?.[groupCaptureLabel] === backup.metadata.uid,
      ),
      group: (backup.status?.group ?? []).map((member) => {
        const run = cache.volumeBackups.get(`${ns}/${member.backup}`);
        return {
          ...member,
          exists: run !== undefined,
          snapshot: run === undefined ? undefined : deps.exposer.observe(backupExposure(run, 'snapshot')).snapshot,
        };
      }),
      memberOf:
        backup.spec.groupOf === undefined
          ? undefined
          : {
              leader: backup.spec.groupOf,
              leaderActive:
                leader !== undefined && leader.status?.phase !== 'Succeeded' && leader.status?.phase !== 'Failed',
            },
      workloadBusy:
        (hooked
          ? hooksBusy(
              hookPlan.hooks,
              others
                .filter((b) => b.metadata.namespace === ns && b.spec.pvc !== backup.spec.pvc)
                .map((b) => ({
                  name: b.metadata.name,
                  pvc: b.spec.pvc,
                  hooks: b.status?.hooks,
                  started: b.status?.phase === 'Snapshotting' || b.status?.phase === 'Running',
                  mountedBy: cache.podsMounting(ns, b.spec.pvc).map((p) => p.metadata?.name ?? ''),
                })),
            )
          : undefined) ??
        (capture.groupSnapshotClass === undefined
          ? undefined
          : groupBusy(
              backup.spec.pvc,
              capture.members,
              others
                .filter((b) => b.metadata.namespace === ns)
                .map((b) => ({
                  name: b.metadata.name,
                  pvc: b.spec.pvc,
                  members: (b.status?.group ?? []).map((m) => m.pvc),
                })),
            )),
    },
  };

  function waitingFor(): string | undefined {
    if (claim === undefined) return undefined;
    if (claim.status?.phase !== 'Bound')
      return `PVC ${ns}/${backup.spec.pvc} to be bound${row?.decision.state === 'unbound' ? ` (${row.decision.reason})` : ''}`;
    if (pvName !== undefined && pv === undefined) return `PV ${pvName}`;
    if (row === undefined) return `the coverage decision of PVC ${ns}/${backup.spec.pvc}`;
    return undefined;
  }
}

/** What decides whether a volume can join a group snapshot: its driver, and whether its policy keeps snapshots. */
function groupVolume(deps: BackupDeps, namespace: string, pvc: string): GroupVolume {
  const { cache } = deps;
  const decision = deps.coverage.row(`${namespace}/${pvc}`)?.decision;
  const policy =
    decision?.state === 'protected'
      ? cache.parsedPolicies().valid.find((p) => p.metadata.name === decision.policy)
      : undefined;
  const claim = cache.claims.get(`${namespace}/${pvc}`);
  const pv = claim?.spec?.volumeName === undefined ? undefined : cache.volumes.get(claim.spec.volumeName);
  return { driver: pv?.spec?.csi?.driver, keepsSnapshots: (policy?.spec.keepSnapshots ?? 0) > 0 };
}

const podName = (p: { metadata?: { name?: string } }) => p.metadata?.name ?? '';

/** Whether a backup of this claim would go through a snapshot, and a policy protects it. */
function capturedBySnapshot(deps: BackupDeps, namespace: string, pvc: string): boolean {
  const { cache } = deps;
  const decision = deps.coverage.row(`${namespace}/${pvc}`)?.decision;
  if (decision?.state !== 'protected') return false;
  const policy = cache.parsedPolicies().valid.find((p) => p.metadata.name === decision.policy);
  const claim = cache.claims.get(`${namespace}/${pvc}`);
  const pv = claim?.spec?.volumeName === undefined ? undefined : cache.volumes.get(claim.spec.volumeName);
  const method = backupMethod(
    policy?.spec.method,
    pv?.spec?.csi?.driver,
    cache.snapshotClasses.list().map((c) => c.driver),
  );
  return method === 'snapshot';
}

/** The Pods that mount the claim, as hooks see them. */
function hookPods(cache: ClusterCache, namespace: string, claim: string): HookPod[] {
  return cache
    .podsMounting(namespace, claim)
    .filter((p) => p.metadata?.deletionTimestamp === undefined)
    .map((p) => ({
      name: p.metadata?.name ?? '',
      labels: p.metadata?.labels ?? {},
      annotations: p.metadata?.annotations ?? {},
      containers: (p.spec?.containers ?? []).map((c) => c.name),
      running: p.status?.phase === 'Running',
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
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
  const created =
    cache.volumeBackups.list().some((b) => b.status?.phase === 'Succeeded' && sameRepository(b)) ||
    cache.histories
      .list()
      .some(
        (h) =>
          tenantOf(repository.spec, h.metadata.namespace) === tenant &&
          historyRepositories(h).has(repository.metadata.name),
      );
  return created ? undefined : candidate;
}
