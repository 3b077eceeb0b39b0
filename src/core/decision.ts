// The decision for one PVC: protected (by which policy), excluded (by whom)
// or UNPROTECTED (why), with the rule that decided. Seed 001's precedence:
// an explicit value on the PV decides; otherwise a namespace `false`
// excludes; otherwise a namespace `true` includes unless the PVC says
// `false`; otherwise the PVC decides; otherwise the StorageClass; otherwise
// the policies (highest priority selector match, then the default policy).
// Admins (namespaces, PVs) override users (PVCs). A malformed value at the
// level that would decide makes the volume UNPROTECTED until someone fixes it:
// it is never taken as true or false.
import type { Namespace, PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { readBackupFlag, type BackupFlag, type BackupPolicy } from '../api/index.ts';
import { matchesSelector } from './label-selector.ts';

export type ObjectKind = 'PersistentVolume' | 'Namespace' | 'PersistentVolumeClaim' | 'StorageClass';
export type Rule =
  | 'pv-annotation'
  | 'namespace-annotation'
  | 'pvc-annotation'
  | 'storage-class-annotation'
  | 'policy-selector'
  | 'default-policy'
  /** Not a policy: an ApplicationDump that names the volume in what it covers. */
  | 'application-dump';
export type UnprotectedCause = 'NoPolicy' | 'MalformedAnnotation' | 'PolicyConflict';

export type Decision =
  | { state: 'protected'; policy: string; rule: Rule; reason: string }
  | { state: 'excluded'; by: ObjectKind; rule: Rule; reason: string }
  | { state: 'unprotected'; cause: UnprotectedCause; reason: string };

/** A malformed annotation or label, to be reported on the object that carries it. */
export interface Problem {
  kind: ObjectKind;
  namespace?: string;
  name: string;
  key: string;
  value: string;
  message: string;
}

export interface Verdict {
  decision: Decision;
  problems: Problem[];
}

export interface VolumeFacts {
  claim: PersistentVolumeClaim;
  volume?: PersistentVolume | undefined;
  namespace?: Namespace | undefined;
  storageClass?: StorageClass | undefined;
}

export interface PolicyContext {
  policies: readonly BackupPolicy[];
  /** Per policy name, the namespace/name keys of PVCs its workloads use. */
  workloadClaims: ReadonlyMap<string, ReadonlySet<string>>;
  aliases: { annotations: readonly string[]; labels: readonly string[] };
}

interface Layer {
  kind: ObjectKind;
  namespace?: string | undefined;
  name: string;
  flag: BackupFlag;
}

export function decide(facts: VolumeFacts, context: PolicyContext): Verdict {
  const claimNs = facts.claim.metadata?.namespace ?? '';
  const layer = (
    kind: ObjectKind,
    object:
      | { metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> } }
      | undefined,
    namespace?: string,
  ): Layer => ({
    kind,
    namespace,
    name: object?.metadata?.name ?? '',
    flag:
      object === undefined
        ? { kind: 'unset' }
        : readBackupFlag(object.metadata?.annotations, object.metadata?.labels, context.aliases),
  });
  const pv = layer('PersistentVolume', facts.volume);
  const ns = layer('Namespace', facts.namespace);
  const pvc = layer('PersistentVolumeClaim', facts.claim, claimNs);
  const sc = layer('StorageClass', facts.storageClass);
  const problems = [pv, ns, pvc, sc].flatMap(problemOf);

  const decision = byAnnotations(pv, ns, pvc, sc, facts, context);
  return { decision, problems };
}

function byAnnotations(
  pv: Layer,
  ns: Layer,
  pvc: Layer,
  sc: Layer,
  facts: VolumeFacts,
  context: PolicyContext,
): Decision {
  const { flag: pvFlag } = pv;
  if (pvFlag.kind === 'malformed') return malformed(pv);
  if (pvFlag.kind === 'set')
    return pvFlag.value
      ? include(facts, context, 'pv-annotation', `PV ${pv.name} says ${pvFlag.key}=true`)
      : exclude(pv, 'pv-annotation');

  const nsFlag = ns.flag;
  if (nsFlag.kind === 'malformed') return malformed(ns);
  if (nsFlag.kind === 'set' && !nsFlag.value) return exclude(ns, 'namespace-annotation');
  if (nsFlag.kind === 'set') {
    if (pvc.flag.kind === 'malformed') return malformed(pvc);
    if (pvc.flag.kind === 'set' && !pvc.flag.value) return exclude(pvc, 'pvc-annotation');
    return include(facts, context, 'namespace-annotation', `namespace ${ns.name} says ${nsFlag.key}=true`);
  }

  const pvcFlag = pvc.flag;
  if (pvcFlag.kind === 'malformed') return malformed(pvc);
  if (pvcFlag.kind === 'set')
    return pvcFlag.value
      ? include(facts, context, 'pvc-annotation', `the PVC says ${pvcFlag.key}=true`)
      : exclude(pvc, 'pvc-annotation');

  const scFlag = sc.flag;
  if (scFlag.kind === 'malformed') return malformed(sc);
  if (scFlag.kind === 'set') {
    return scFlag.value
      ? include(facts, context, 'storage-class-annotation', `StorageClass ${sc.name} says ${scFlag.key}=true`)
      : exclude(sc, 'storage-class-annotation');
  }
  return byPolicies(facts, context, undefined);
}

/** Annotations asked for a backup: the policy that selects the volume runs it, else the default policy. */
function include(facts: VolumeFacts, context: PolicyContext, rule: Rule, why: string): Decision {
  return byPolicies(facts, context, { rule, why });
}

function byPolicies(
  facts: VolumeFacts,
  context: PolicyContext,
  annotated: { rule: Rule; why: string } | undefined,
): Decision {
  const key = `${facts.claim.metadata?.namespace ?? ''}/${facts.claim.metadata?.name ?? ''}`;
  const selecting = context.policies.filter((p) => selects(p, facts, key, context));
  const chosen = highest(selecting);
  if (chosen.kind === 'conflict') return conflict(chosen.names, chosen.priority);
  if (chosen.kind === 'one') {
    const policy = chosen.policy.metadata.name;
    return annotated === undefined
      ? { state: 'protected', policy, rule: 'policy-selector', reason: `selected by policy ${policy}` }
      : { state: 'protected', policy, rule: annotated.rule, reason: `${annotated.why}; policy ${policy} selects it` };
  }
  const fallback = highest(context.policies.filter((p) => p.spec.default));
  if (fallback.kind === 'conflict') return conflict(fallback.names, fallback.priority);
  if (fallback.kind === 'one') {
    const policy = fallback.policy.metadata.name;
    return annotated === undefined
      ? {
          state: 'protected',
          policy,
          rule: 'default-policy',
          reason: `no policy selects it; default policy ${policy} applies`,
        }
      : {
          state: 'protected',
          policy,
          rule: annotated.rule,
          reason: `${annotated.why}; default policy ${policy} applies`,
        };
  }
  return {
    state: 'unprotected',
    cause: 'NoPolicy',
    reason:
      annotated === undefined
        ? 'no BackupPolicy selects it and there is no default policy'
        : `${annotated.why}, but no BackupPolicy selects it and there is no default policy`,
  };
}

/** Whether a policy's selector picks the volume: every selector field it sets must match. */
export function selects(policy: BackupPolicy, facts: VolumeFacts, claimKey: string, context: PolicyContext): boolean {
  const selector = policy.spec.selector;
  if (selector === undefined) return false;
  const fields = [
    selector.namespaceSelector,
    selector.pvcSelector,
    selector.pvSelector,
    selector.storageClasses,
    selector.workloads,
  ];
  if (fields.every((f) => f === undefined)) return false;
  if (
    selector.namespaceSelector !== undefined &&
    !matchesSelector(selector.namespaceSelector, facts.namespace?.metadata?.labels)
  )
    return false;
  if (selector.pvcSelector !== undefined && !matchesSelector(selector.pvcSelector, facts.claim.metadata?.labels))
    return false;
  if (
    selector.pvSelector !== undefined &&
    (facts.volume === undefined || !matchesSelector(selector.pvSelector, facts.volume.metadata?.labels))
  )
    return false;
  if (selector.storageClasses !== undefined && !selector.storageClasses.includes(storageClassOf(facts))) return false;
  if (selector.workloads !== undefined && context.workloadClaims.get(policy.metadata.name)?.has(claimKey) !== true)
    return false;
  return true;
}

export function storageClassOf(facts: VolumeFacts): string {
  return facts.claim.spec?.storageClassName ?? facts.volume?.spec?.storageClassName ?? '';
}

type Choice =
  { kind: 'none' } | { kind: 'one'; policy: BackupPolicy } | { kind: 'conflict'; names: string[]; priority: number };

function highest(policies: readonly BackupPolicy[]): Choice {
  if (policies.length === 0) return { kind: 'none' };
  const top = Math.max(...policies.map((p) => p.spec.priority));
  const best = policies.filter((p) => p.spec.priority === top);
  if (best.length > 1) return { kind: 'conflict', names: best.map((p) => p.metadata.name).sort(), priority: top };
  return { kind: 'one', policy: best[0] as BackupPolicy };
}

function conflict(names: string[], priority: number): Decision {
  return {
    state: 'unprotected',
    cause: 'PolicyConflict',
    reason: `policies ${names.join(', ')} all select it with priority ${priority}; give one a higher priority`,
  };
}

function exclude(layer: Layer, rule: Rule): Decision {
  const key = layer.flag.kind === 'set' ? layer.flag.key : '';
  return { state: 'excluded', by: layer.kind, rule, reason: `${describe(layer)} says ${key}=false` };
}

function malformed(layer: Layer): Decision {
  const flag = layer.flag;
  const detail = flag.kind === 'malformed' ? `${flag.key}="${flag.value}"` : '';
  return {
    state: 'unprotected',
    cause: 'MalformedAnnotation',
    reason: `${describe(layer)} has ${detail}: use "true" or "false"`,
  };
}

function problemOf(layer: Layer): Problem[] {
  if (layer.flag.kind !== 'malformed') return [];
  return [
    {
      kind: layer.kind,
      ...(layer.namespace === undefined ? {} : { namespace: layer.namespace }),
      name: layer.name,
      key: layer.flag.key,
      value: layer.flag.value,
      message: `${layer.flag.key}="${layer.flag.value}" is neither "true" nor "false"; Safehold ignores it and reports the volume as UNPROTECTED where it would decide`,
    },
  ];
}

function describe(layer: Layer): string {
  switch (layer.kind) {
    case 'PersistentVolume':
      return `PV ${layer.name}`;
    case 'Namespace':
      return `namespace ${layer.name}`;
    case 'PersistentVolumeClaim':
      return 'the PVC';
    case 'StorageClass':
      return `StorageClass ${layer.name}`;
  }
}
