// Coverage of the whole cluster: one row per PVC with its decision, the age of
// its last good backup and its next run. Computed from plain objects, so the
// CLI (reading the API once) and the operator (from its informers) agree.
import type { Deployment, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Namespace, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { annotations, applicationDumpSpec, runLabels, type ApplicationDump, type BackupPolicy } from '../api/index.ts';
import { unboundClaim, type UnboundCause } from './claim-binding.ts';
import { decide, storageClassOf, type Decision, type PolicyContext, type Problem, type Rule } from './decision.ts';
import { nextRun } from './schedule.ts';
import { drillWindow, proofState, readVerification, type ProofState, type Verification } from './volume-proof.ts';
import { workloadClaims, type WorkloadIndex } from './workloads.ts';

export interface ClusterView {
  claims: readonly PersistentVolumeClaim[];
  volumes: ReadonlyMap<string, PersistentVolume>;
  namespaces: ReadonlyMap<string, Namespace>;
  storageClasses: ReadonlyMap<string, StorageClass>;
  /** True when the StorageClasses could not be read (a tenant's view): none is then called missing. */
  storageClassesUnknown?: boolean;
  policies: readonly BackupPolicy[];
  pods: readonly Pod[];
  deployments: readonly Deployment[];
  statefulSets: readonly StatefulSet[];
  /** The ApplicationDumps, with the volumes each covers: a volume no policy backs up may be protected by one. */
  dumps?: readonly ApplicationDump[];
}

/**
 * A volume a policy would protect whose claim is not bound: it holds no data yet (or lost it), so
 * it is not shown as protected, is not backed up, and its missing backups are not failures.
 */
export interface UnboundDecision {
  state: 'unbound';
  policy: string;
  rule: Rule;
  cause: UnboundCause;
  reason: string;
}

export type CoverageDecision = Decision | UnboundDecision;

export interface CoverageRow {
  namespace: string;
  name: string;
  size: string;
  storageClass: string;
  volumeMode: string;
  phase: string;
  decision: CoverageDecision;
  lastBackup: string | undefined;
  /** The volume's last backup attempt failed (safehold.io/last-result), and why, until one succeeds. */
  lastFailure?: LastFailure | undefined;
  nextRun: string | undefined;
  /** The volume's last restore drill with a verdict (safehold.io/last-verified and verify-result). */
  verification?: Verification | undefined;
  /** A protected volume: proven (a drill passed within its policy's drill window), overdue, failed or unproven. */
  proof?: ProofState | undefined;
  problems: Problem[];
}

export function policyContext(view: ClusterView): PolicyContext {
  const byNamespace = <T extends { metadata?: { namespace?: string } }>(items: readonly T[]) => {
    const map = new Map<string, T[]>();
    for (const item of items) {
      const ns = item.metadata?.namespace ?? '';
      const list = map.get(ns);
      if (list === undefined) map.set(ns, [item]);
      else list.push(item);
    }
    return map;
  };
  const keyed = <T extends { metadata?: { namespace?: string; name?: string } }>(items: readonly T[]) =>
    new Map(items.map((item) => [`${item.metadata?.namespace ?? ''}/${item.metadata?.name ?? ''}`, item]));
  const index: WorkloadIndex = {
    deployments: keyed(view.deployments),
    statefulSets: keyed(view.statefulSets),
    podsByNamespace: byNamespace(view.pods),
    claimsByNamespace: byNamespace(view.claims),
  };
  const claimsOfPolicies = new Map<string, Set<string>>();
  for (const policy of view.policies) {
    const refs = policy.spec.selector?.workloads;
    if (refs === undefined) continue;
    const claims = new Set<string>();
    for (const ref of refs) for (const key of workloadClaims(ref, index)) claims.add(key);
    claimsOfPolicies.set(policy.metadata.name, claims);
  }
  const aliasAnnotations = new Set(view.policies.flatMap((p) => p.spec.aliases?.annotations ?? []));
  const aliasLabels = new Set(view.policies.flatMap((p) => p.spec.aliases?.labels ?? []));
  return {
    policies: view.policies,
    workloadClaims: claimsOfPolicies,
    aliases: { annotations: [...aliasAnnotations], labels: [...aliasLabels] },
  };
}

export function coverage(view: ClusterView, now: Date): CoverageRow[] {
  const context = policyContext(view);
  const policies = new Map(view.policies.map((p) => [p.metadata.name, p]));
  const dumps = dumpsByVolume(view.dumps ?? []);
  // A run's own claims (a snapshot's clone, the mover's read-only alias) are copies, not volumes to protect.
  return view.claims
    .filter((claim) => !isRunClaim(claim.metadata?.labels))
    .map((claim) => {
      const namespace = claim.metadata?.namespace ?? '';
      const name = claim.metadata?.name ?? '';
      const volume = claim.spec?.volumeName === undefined ? undefined : view.volumes.get(claim.spec.volumeName);
      const facts = {
        claim,
        volume,
        namespace: view.namespaces.get(namespace),
        storageClass: undefined as StorageClass | undefined,
      };
      facts.storageClass = view.storageClasses.get(storageClassOf(facts));
      const verdict = decide(facts, context);
      const { problems } = verdict;
      const unbound =
        verdict.decision.state === 'protected'
          ? unboundClaim(claim, view.storageClassesUnknown === true ? undefined : view.storageClasses)
          : undefined;
      const decision: CoverageDecision =
        unbound === undefined || verdict.decision.state !== 'protected'
          ? verdict.decision
          : { state: 'unbound', policy: verdict.decision.policy, rule: verdict.decision.rule, ...unbound };
      // An unbound claim has no run until it binds: its next run is not promised.
      const policy = decision.state === 'protected' ? policies.get(decision.policy) : undefined;
      const next = policy === undefined ? undefined : nextRun(policy.spec.schedule, `${namespace}/${name}`, now);
      const ownBackup =
        volume?.metadata?.annotations?.[annotations.lastBackup] ??
        claim.metadata?.annotations?.[annotations.lastBackup];
      const verification = readVerification(claim.metadata?.annotations);
      const dumped = byDumps(dumps.get(`${namespace}/${name}`), decision, `${namespace}/${name}`, now);
      return {
        namespace,
        name,
        size: claim.status?.capacity?.storage ?? claim.spec?.resources?.requests?.storage ?? '',
        storageClass: storageClassOf(facts),
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        phase: claim.status?.phase ?? 'Pending',
        decision: dumped?.decision ?? decision,
        lastBackup: ownBackup ?? dumped?.lastDump,
        lastFailure: lastFailure(volume?.metadata?.annotations) ?? lastFailure(claim.metadata?.annotations),
        nextRun: (next ?? dumped?.next)?.toISOString(),
        verification,
        ...(decision.state === 'protected' ? { proof: proofState(verification, drillWindow(policy), now) } : {}),
        problems,
      };
    });
}

/** What a volume protected by an application dump shows as its policy (and metrics label): dump:<namespace>/<name>. */
export function dumpPolicyName(namespace: string, dump: string): string {
  return `dump:${namespace}/${dump}`;
}

interface CoveringDump {
  name: string;
  lastSuccess: string | undefined;
  schedule: ReturnType<typeof applicationDumpSpec.parse>['schedule'];
}

/** The dumps covering each volume ("namespace/pvc"): those the operator resolved (status), else those the spec names. */
function dumpsByVolume(dumps: readonly ApplicationDump[]): Map<string, CoveringDump[]> {
  const map = new Map<string, CoveringDump[]>();
  for (const dump of dumps) {
    const parsed = applicationDumpSpec.safeParse(dump.spec);
    if (!parsed.success) continue;
    const covering = {
      name: dump.metadata.name,
      lastSuccess: dump.status?.lastSuccess?.time,
      schedule: parsed.data.schedule,
    };
    for (const pvc of dump.status?.covers ?? parsed.data.covers ?? []) {
      const key = `${dump.metadata.namespace}/${pvc}`;
      map.set(key, [...(map.get(key) ?? []), covering]);
    }
  }
  return map;
}

/**
 * A volume that no policy backs up (none applies, or it is excluded from volume backups) but an
 * application dump covers is protected by that dump, with the age of its newest dump. A volume a
 * policy protects stays the policy's. A malformed annotation or a conflict stays unprotected: a
 * problem to fix, whatever else covers the volume.
 */
function byDumps(covering: CoveringDump[] | undefined, decision: CoverageDecision, key: string, now: Date) {
  if (covering === undefined || covering.length === 0) return undefined;
  if (!(decision.state === 'excluded' || (decision.state === 'unprotected' && decision.cause === 'NoPolicy')))
    return undefined;
  const newest = [...covering].sort((a, b) => (b.lastSuccess ?? '').localeCompare(a.lastSuccess ?? ''))[0];
  if (newest === undefined) return undefined;
  const namespace = key.slice(0, key.indexOf('/'));
  const next = covering
    .map((d) => (d.schedule === undefined ? undefined : nextRun(d.schedule, `${namespace}/${d.name}`, now)))
    .filter((t): t is Date => t !== undefined)
    .sort((a, b) => a.getTime() - b.getTime())[0];
  return {
    decision: {
      state: 'protected' as const,
      policy: dumpPolicyName(namespace, newest.name),
      rule: 'application-dump' as const,
      reason: `protected by ApplicationDump ${namespace}/${newest.name} (${newest.lastSuccess === undefined ? 'no dump stored yet' : `last dump ${newest.lastSuccess}`}), not by a volume backup`,
    },
    lastDump: newest.lastSuccess,
    next,
  };
}

export interface LastFailure {
  /** When it failed (RFC 3339), if the annotation says. */
  at: string | undefined;
  reason: string;
  message: string;
}

/** The last attempt's failure from safehold.io/last-result and last-error ("<time> <reason>: <message>"). */
export function lastFailure(values: Record<string, string> | undefined): LastFailure | undefined {
  if (values?.[annotations.lastResult] !== 'Failed') return undefined;
  const error = values[annotations.lastError] ?? '';
  const match = /^(\S+) ([A-Za-z]+): ([\s\S]*)$/.exec(error);
  if (match === null) return { at: undefined, reason: 'Failed', message: error };
  return { at: match[1], reason: match[2] ?? 'Failed', message: match[3] ?? '' };
}

export interface CoverageCounts {
  protected: number;
  unbound: number;
  excluded: number;
  unprotected: number;
}

export function countDecisions(rows: readonly CoverageRow[]): CoverageCounts {
  const counts = { protected: 0, unbound: 0, excluded: 0, unprotected: 0 };
  for (const row of rows) counts[row.decision.state]++;
  return counts;
}

/** A claim a backup or restore run made for itself (a clone, an alias): not a volume of anyone's. */
function isRunClaim(labels: Record<string, string> | undefined): boolean {
  return (
    labels?.[runLabels.run] !== undefined ||
    labels?.[runLabels.restore] !== undefined ||
    labels?.[runLabels.drill] !== undefined
  );
}
