// The objects dumps a policy keeps (BackupPolicy spec.objects): in each
// namespace it protects a volume in, or that its namespaceSelector matches,
// one ApplicationDump `safehold-objects` of the namespace's API objects, on
// the policy's schedule and retention unless spec.objects names its own; with
// spec.objects.cluster, one `safehold-cluster-objects` of the cluster-scoped
// objects in Safehold's namespace. Where several policies would, the one of
// highest priority (then name) does. And the Git dumps a policy keeps
// (spec.git): one `safehold-git-<name>` beside each Flux GitRepository, with
// its URL and Secret, and one in Safehold's namespace per URL the policy
// lists. Pure: the operator creates, updates and deletes the objects (only
// those labelled as made from a policy).
import type { ApplicationDumpSpec, BackupPolicy } from '../api/index.ts';
import { matchesSelector } from './label-selector.ts';
import { controlPlaneNamespaces } from './objects-coverage.ts';

export const policyObjectsDumpName = 'safehold-objects';
export const clusterObjectsDumpName = 'safehold-cluster-objects';
/** The value of declaredByLabel (annotated-dumps.ts) on the dumps made from a policy. */
export const declaredByPolicy = 'policy';
/** On those dumps: the policy they follow. */
export const objectsPolicyLabel = 'safehold.io/policy';

export interface NamespaceFacts {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** The namespace says safehold.io/backup=false: nothing of it is backed up. */
  excluded: boolean;
  /** The policies that protect a volume in it. */
  protectedBy: ReadonlySet<string>;
}

export interface DesiredObjectsDump {
  namespace: string;
  name: string;
  policy: string;
  spec: ApplicationDumpSpec;
}

function dumpSpec(policy: BackupPolicy, scope: 'Namespace' | 'Cluster'): ApplicationDumpSpec {
  const objects = policy.spec.objects;
  return {
    objects: { scope, ...(objects?.excludeKinds === undefined ? {} : { excludeKinds: objects.excludeKinds }) },
    schedule: objects?.schedule ?? policy.spec.schedule,
    retention: objects?.retention ?? policy.spec.retention,
    ...(policy.spec.repository === undefined ? {} : { repository: policy.spec.repository.name }),
  };
}

const byPriority = (a: BackupPolicy, b: BackupPolicy) =>
  b.spec.priority - a.spec.priority || a.metadata.name.localeCompare(b.metadata.name);

/** Every objects dump the policies call for, one per namespace at most, and one of the cluster's. */
export function policyObjectsDumps(input: {
  policies: readonly BackupPolicy[];
  namespaces: readonly NamespaceFacts[];
  /** Safehold's namespace, where the cluster's objects dump is. */
  operatorNamespace: string;
}): DesiredObjectsDump[] {
  const keeping = input.policies.filter((p) => p.spec.objects !== undefined).sort(byPriority);
  const desired: DesiredObjectsDump[] = [];
  for (const ns of input.namespaces) {
    if (ns.excluded || controlPlaneNamespaces.has(ns.name)) continue;
    const policy = keeping.find((p) => {
      const selector = p.spec.selector?.namespaceSelector;
      return ns.protectedBy.has(p.metadata.name) || (selector !== undefined && matchesSelector(selector, ns.labels));
    });
    if (policy !== undefined)
      desired.push({
        namespace: ns.name,
        name: policyObjectsDumpName,
        policy: policy.metadata.name,
        spec: dumpSpec(policy, 'Namespace'),
      });
  }
  const cluster = keeping.find((p) => p.spec.objects?.cluster === true);
  if (cluster !== undefined)
    desired.push({
      namespace: input.operatorNamespace,
      name: clusterObjectsDumpName,
      policy: cluster.metadata.name,
      spec: dumpSpec(cluster, 'Cluster'),
    });
  return desired;
}

/** A Flux GitRepository, as a Git dump needs it. */
export interface FluxGitRepository {
  namespace: string;
  name: string;
  url: string;
  secretName: string | undefined;
}

/** The name of the Git dump beside a repository (or for a policy's URL named so), within a name's limits. */
export function gitDumpName(name: string): string {
  return `safehold-git-${name}`.slice(0, 63).replace(/[-.]+$/, '');
}

/** The Git dumps the policy of highest priority with spec.git calls for. */
export function policyGitDumps(input: {
  policies: readonly BackupPolicy[];
  repositories: readonly FluxGitRepository[];
  operatorNamespace: string;
}): DesiredObjectsDump[] {
  const policy = input.policies.filter((p) => p.spec.git !== undefined).sort(byPriority)[0];
  const git = policy?.spec.git;
  if (policy === undefined || git === undefined) return [];
  const spec = (url: string, secretName: string | undefined): ApplicationDumpSpec => ({
    git: { url, ...(secretName === undefined ? {} : { secretRef: { name: secretName } }) },
    schedule: git.schedule ?? policy.spec.schedule,
    retention: git.retention ?? policy.spec.retention,
    ...(policy.spec.repository === undefined ? {} : { repository: policy.spec.repository.name }),
  });
  const name = policy.metadata.name;
  return [
    ...(git.flux ? input.repositories : []).map((r) => ({
      namespace: r.namespace,
      name: gitDumpName(r.name),
      policy: name,
      spec: spec(r.url, r.secretName),
    })),
    ...(git.urls ?? []).map((u) => ({
      namespace: input.operatorNamespace,
      name: gitDumpName(u.name),
      policy: name,
      spec: spec(u.url, u.secretRef?.name),
    })),
  ];
}
