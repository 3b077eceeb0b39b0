// What a VolumeBackup needs before it can start, decided from plain facts:
// whether anything blocks it (and whether waiting can help), how its volume
// is captured (`auto`), and whether a mover slot is free under the global,
// per-repository and per-node limits. The controller gathers the facts from
// its caches; every branch is tested here without a cluster.
import type { BackupPolicy, BackupReason } from '../api/index.ts';
import type { RunMethod, RunObservation } from './backup-run.ts';
import type { CoverageDecision } from './coverage.ts';

export interface BackupStartFacts {
  namespace: string;
  pvc: string;
  /** The spec's problems, each naming its field, if any. */
  invalidSpec: string | undefined;
  claim: { bound: boolean } | undefined;
  /** The claim's PV as cached: its name, CSI driver, and whether it is CephFS. */
  volume: { name: string; driver: string | undefined; cephfs: boolean } | undefined;
  /** The coverage decision for the claim, once made. */
  decision: CoverageDecision | undefined;
  /** spec.policy: a run may name its policy (safehold backup --policy). */
  requestedPolicy: string | undefined;
  /** The policy that applies (recorded, requested or protecting) by name, and the valid one of that name. */
  policyName: string | undefined;
  policy: BackupPolicy | undefined;
  repository: string | undefined;
}

/**
 * Why the run cannot be attempted now, if so; `final` when waiting cannot help. Facts the caches
 * have not delivered yet (an unbound claim, no decision yet) are not blockers: the run waits for them.
 */
export function backupBlocker(f: BackupStartFacts): RunObservation['blocker'] {
  const volume = `${f.namespace}/${f.pvc}`;
  if (f.invalidSpec !== undefined) return { reason: 'InvalidSpec', message: f.invalidSpec };
  if (f.claim === undefined) return { reason: 'ClaimNotFound', message: `PVC ${volume} does not exist` };
  if (!f.claim.bound || f.decision === undefined) return undefined;
  // spec.policy lets a tenant back up a volume no policy protects, not one an admin excluded.
  const decision = f.decision;
  if (f.requestedPolicy !== undefined && decision.state === 'excluded' && decision.by !== 'PersistentVolumeClaim')
    return {
      reason: 'NotProtected',
      message: `${volume} is excluded by its ${decision.by} (${decision.reason}); spec.policy does not override an admin's exclusion`,
      final: true,
    };
  if (f.policy === undefined)
    return {
      reason: 'NotProtected',
      message:
        f.policyName === undefined
          ? `no policy protects ${volume} (${decision.reason}); name one in spec.policy`
          : `BackupPolicy ${f.policyName} does not exist or is invalid`,
    };
  if (f.policy.spec.method === 'cephfs-snapshot' && f.volume !== undefined && !f.volume.cephfs)
    return {
      reason: 'InvalidSpec',
      message: `BackupPolicy ${f.policy.metadata.name} has method cephfs-snapshot, but PV ${f.volume.name} of ${volume} is not CephFS (${f.volume.driver ?? 'no CSI driver'})`,
    };
  if (f.repository === undefined)
    return {
      reason: 'RepositoryNotFound' satisfies BackupReason,
      message: `BackupPolicy ${f.policy.metadata.name} names no usable BackupRepository (spec.repository.name${f.policy.spec.repository === undefined ? ' is unset and there is not exactly one repository' : ` = ${f.policy.spec.repository.name}`})`,
    };
  return undefined;
}

/** auto: a CSI snapshot when a VolumeSnapshotClass serves the volume's driver, else the live volume. */
export function backupMethod(
  policyMethod: BackupPolicy['spec']['method'] | undefined,
  driver: string | undefined,
  snapshotDrivers: readonly string[],
): RunMethod {
  const method = policyMethod ?? 'auto';
  if (method !== 'auto') return method;
  return driver !== undefined && snapshotDrivers.includes(driver) ? 'snapshot' : 'live';
}

export interface SlotFacts {
  /** The other active runs (started or starting), with where they write and run. */
  others: readonly { repository: string | undefined; node: string | undefined }[];
  /** The operator's limit is a ceiling: a policy's global limit may only lower it. */
  operatorLimit: number;
  policyLimit: number | undefined;
  perRepository: number | undefined;
  perNode: number | undefined;
  repository: string | undefined;
  /** The node a live RWO volume must be read on, if any. */
  node: string | undefined;
}

/** A free mover slot under the global, per-repository and per-node limits. */
export function moverSlotFree(f: SlotFacts): boolean {
  const count = (same: (o: SlotFacts['others'][number]) => boolean) => f.others.filter(same).length;
  if (f.others.length >= Math.min(f.operatorLimit, f.policyLimit ?? f.operatorLimit)) return false;
  if (f.perRepository !== undefined && count((o) => o.repository === f.repository) >= f.perRepository) return false;
  if (f.perNode !== undefined && f.node !== undefined && count((o) => o.node === f.node) >= f.perNode) return false;
  return true;
}
