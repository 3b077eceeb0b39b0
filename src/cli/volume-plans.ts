// The retention plans of volumes as the CLI shows them: the VolumeBackup
// catalogue and the coverage decisions read from the API, planned by the same
// function the operator's maintenance uses.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { VolumeBackup } from '../api/index.ts';
import { coverage, planRetention, type VolumePlan } from '../core/index.ts';
import { kinds, type KubeClient } from '../kube/index.ts';
import { loadCluster } from './load-cluster.ts';

/** NS/PVC or PVC (in the given namespace). */
function parseVolume(text: string | undefined, namespace: string): { namespace: string; pvc: string } | undefined {
  if (text === undefined) return undefined;
  const slash = text.indexOf('/');
  return slash < 0 ? { namespace, pvc: text } : { namespace: text.slice(0, slash), pvc: text.slice(slash + 1) };
}

/** The retention plan of every volume with backups, as the operator would compute it now. */
export async function volumePlans(
  client: KubeClient,
  backups: readonly VolumeBackup[],
  claimKeys: ReadonlySet<string>,
  namespace: string | undefined,
  now: Date,
): Promise<VolumePlan[]> {
  const { view } = await loadCluster(client, namespace);
  const rows = new Map(coverage(view, now).map((r) => [`${r.namespace}/${r.name}`, r]));
  return planRetention({
    backups,
    policies: view.policies,
    protectingPolicy: (key) => {
      const d = rows.get(key)?.decision;
      return d?.state === 'protected' ? d.policy : undefined;
    },
    claimExists: (key) => claimKeys.has(key),
    now,
  });
}

/** The VolumeBackups and PVC names of a namespace (or all), for planning. */
export async function loadCatalogue(client: KubeClient, namespace: string | undefined) {
  const scoped = namespace === undefined ? {} : { namespace };
  const [backups, claims] = await Promise.all([
    client.list<VolumeBackup>(kinds.volumeBackup, scoped),
    client.list<PersistentVolumeClaim>(kinds.persistentVolumeClaim, scoped),
  ]);
  const claimKeys = new Set(claims.items.map((c) => `${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`));
  return { backups: backups.items, claimKeys };
}

/** The plans of the volume named (NS/PVC or PVC), else of the namespace (-n, the current one) or of all (-A). */
export async function loadPlans(
  client: KubeClient,
  volume: string | undefined,
  options: { namespace?: string; allNamespaces?: boolean },
  now: Date,
): Promise<VolumePlan[]> {
  const target = parseVolume(volume, options.namespace ?? client.defaultNamespace);
  const namespace =
    options.allNamespaces === true && target === undefined
      ? undefined
      : (target?.namespace ?? options.namespace ?? client.defaultNamespace);
  const { backups, claimKeys } = await loadCatalogue(client, namespace);
  const plans = await volumePlans(client, backups, claimKeys, namespace, now);
  return plans.filter((p) => target === undefined || (p.namespace === target.namespace && p.pvc === target.pvc));
}
