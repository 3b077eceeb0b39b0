// Reads what coverage needs from the API server in one pass of LISTs, and the
// BackupPolicies through their zod schema (a policy the schema refuses is
// reported, not guessed at).
import type { Deployment, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Namespace, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import {
  parseBackupPolicies,
  policyBucketsStatus,
  type ApplicationDump,
  type ParsedPolicies,
  type PolicyBucketsStatus,
} from '../api/index.ts';
import { bucketsPolicy, type ClusterView } from '../core/index.ts';
import {
  isForbidden,
  isNotFound,
  kinds,
  type KubeClient,
  type KubeObject,
  type ObjectList,
  type ResourceKind,
} from '../kube/index.ts';

export interface LoadedCluster {
  view: ClusterView;
  invalidPolicies: ParsedPolicies['invalid'];
  /** The object store's buckets as the policy with spec.buckets last found them (its status.buckets). */
  buckets: PolicyBucketsStatus | undefined;
  /** Kinds this user may not list: decisions that rest on them (namespace or StorageClass defaults, policies) may be wrong. */
  forbidden: string[];
}

export async function loadCluster(client: KubeClient, namespace?: string): Promise<LoadedCluster> {
  const scoped = namespace === undefined ? {} : { namespace };
  const forbidden: string[] = [];
  const listOrEmpty = <T extends KubeObject>(kind: ResourceKind) => listOrNothing<T>(client, kind, forbidden);
  const [claims, volumes, namespaces, storageClasses, rawPolicies, pods, deployments, statefulSets, dumps] =
    await Promise.all([
      client.list<PersistentVolumeClaim>(kinds.persistentVolumeClaim, scoped),
      listOrEmpty<PersistentVolume>(kinds.persistentVolume),
      listOrEmpty<Namespace>(kinds.namespace),
      listOrEmpty<StorageClass>(kinds.storageClass),
      listOrEmpty<KubeObject & { spec?: unknown }>(kinds.backupPolicy),
      client.list<Pod>(kinds.pod, scoped),
      client.list<Deployment>(kinds.deployment, scoped),
      client.list<StatefulSet>(kinds.statefulSet, scoped),
      listOrNothing<ApplicationDump>(client, kinds.applicationDump, forbidden, scoped),
    ]);
  const { valid: policies, invalid: invalidPolicies } = parseBackupPolicies(rawPolicies.items);
  const bucketsName = bucketsPolicy(policies)?.metadata.name;
  const bucketsStatus = rawPolicies.items.find((p) => p.metadata?.name === bucketsName) as
    { status?: { buckets?: unknown } } | undefined;
  const byName = <T extends KubeObject>(items: T[]) => new Map(items.map((item) => [item.metadata?.name ?? '', item]));
  return {
    view: {
      claims: claims.items,
      volumes: byName(volumes.items),
      namespaces: byName(namespaces.items),
      storageClasses: byName(storageClasses.items),
      storageClassesUnknown: forbidden.includes(kinds.storageClass.plural),
      policies,
      pods: pods.items,
      deployments: deployments.items,
      statefulSets: statefulSets.items,
      dumps: dumps.items,
    },
    invalidPolicies,
    buckets: policyBucketsStatus.safeParse(bucketsStatus?.status?.buckets).data,
    forbidden: forbidden.sort(),
  };
}

// Cluster-scoped kinds may be unreadable to a tenant (noted in `forbidden`), and the CRD may not be installed yet.
async function listOrNothing<T extends KubeObject>(
  client: KubeClient,
  kind: ResourceKind,
  forbidden: string[],
  scoped: { namespace?: string } = {},
): Promise<ObjectList<T>> {
  try {
    return await client.list<T>(kind, scoped);
  } catch (error) {
    if (isForbidden(error)) forbidden.push(kind.plural);
    if (isNotFound(error) || isForbidden(error)) return { metadata: {}, items: [] };
    throw error;
  }
}
