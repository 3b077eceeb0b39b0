// The retention plans of volumes as the CLI shows them: the catalogue
// (VolumeHistories and VolumeBackups) and the coverage decisions read from the API, planned by the same
// function the operator's maintenance uses.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { parseBackupPolicies, type BackupPolicy, type VolumeBackup, type VolumeHistory } from '../api/index.ts';
import { catalogueOf, coverage, planRetention, type VolumePlan } from '../core/index.ts';
import { isForbidden, isNotFound, kinds, type KubeClient, type KubeObject } from '../kube/index.ts';
import { loadCluster } from './load-cluster.ts';

/** NS/PVC or PVC (in the given namespace). */
function parseVolume(text: string | undefined, namespace: string): { namespace: string; pvc: string } | undefined {
  if (text === undefined) return undefined;
  const slash = text.indexOf('/');
  return slash < 0 ? { namespace, pvc: text } : { namespace: text.slice(0, slash), pvc: text.slice(slash + 1) };
}

export interface LoadedPlans {
  plans: VolumePlan[];
  /**
   * What this user may not read that the plans rest on: the BackupPolicy each volume's backups
   * recorded (a tenant may not list policies). Plans of those volumes would show built-in defaults.
   */
  unreadable: string[];
}

/** The retention plan of every volume with backups, as the operator would compute it now. */
export async function volumePlans(
  client: KubeClient,
  backups: readonly VolumeBackup[],
  claimKeys: ReadonlySet<string>,
  namespace: string | undefined,
  now: Date,
): Promise<LoadedPlans> {
  const { view, forbidden } = await loadCluster(client, namespace);
  const listed = !forbidden.includes(kinds.backupPolicy.plural);
  // Without the list, which policy protects a volume is unknown: each volume's backups say which one made them.
  const recorded = listed ? { policies: view.policies, unreadable: [] } : await recordedPolicies(client, backups);
  const rows = new Map(coverage(view, now).map((r) => [`${r.namespace}/${r.name}`, r]));
  const plans = planRetention({
    backups,
    policies: recorded.policies,
    protectingPolicy: (key) => {
      const d = rows.get(key)?.decision;
      return listed && (d?.state === 'protected' || d?.state === 'unbound') ? d.policy : undefined;
    },
    claimExists: (key) => claimKeys.has(key),
    now,
  });
  return { plans, unreadable: recorded.unreadable };
}

/** The policies the backups recorded, each read by name; what cannot be read (or was never recorded), named. */
async function recordedPolicies(
  client: KubeClient,
  backups: readonly VolumeBackup[],
): Promise<{ policies: BackupPolicy[]; unreadable: string[] }> {
  const names = new Set<string>();
  const withPolicy = new Set<string>();
  const volumes = new Set<string>();
  for (const backup of backups) {
    if (backup.status?.phase !== 'Succeeded') continue;
    const key = `${backup.metadata.namespace}/${backup.spec.pvc}`;
    const name = backup.status.policy ?? backup.spec.policy;
    volumes.add(key);
    if (name === undefined) continue;
    names.add(name);
    withPolicy.add(key);
  }
  const unreadable = [...volumes]
    .filter((key) => !withPolicy.has(key))
    .map((key) => `the BackupPolicy of ${key} (its backups do not record one)`);
  const raw: KubeObject[] = [];
  for (const name of [...names].sort()) {
    try {
      raw.push(await client.get(kinds.backupPolicy, { name }));
    } catch (error) {
      if (isForbidden(error)) unreadable.push(`BackupPolicy ${name} (forbidden)`);
      // A deleted policy's backups are kept by the built-in defaults, as the operator's maintenance keeps them.
      else if (!isNotFound(error)) throw error;
    }
  }
  const { valid, invalid } = parseBackupPolicies(raw);
  for (const bad of invalid) unreadable.push(`BackupPolicy ${bad.name} (${bad.error})`);
  return { policies: valid, unreadable };
}

/** The catalogue (VolumeHistories' kept backups and VolumeBackups) and PVC names of a namespace (or all), for planning. */
export async function loadCatalogue(client: KubeClient, namespace: string | undefined) {
  const scoped = namespace === undefined ? {} : { namespace };
  const [histories, runs, claims] = await Promise.all([
    client.list<VolumeHistory>(kinds.volumeHistory, scoped),
    client.list<VolumeBackup>(kinds.volumeBackup, scoped),
    client.list<PersistentVolumeClaim>(kinds.persistentVolumeClaim, scoped),
  ]);
  const claimKeys = new Set(claims.items.map((c) => `${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`));
  return { backups: catalogueOf(histories.items, runs.items), claimKeys };
}

/** The plans of the volume named (NS/PVC or PVC), else of the namespace (-n, the current one) or of all (-A). */
export async function loadPlans(
  client: KubeClient,
  volume: string | undefined,
  options: { namespace?: string; allNamespaces?: boolean },
  now: Date,
): Promise<LoadedPlans> {
  const target = parseVolume(volume, options.namespace ?? client.defaultNamespace);
  const namespace =
    options.allNamespaces === true && target === undefined
      ? undefined
      : (target?.namespace ?? options.namespace ?? client.defaultNamespace);
  const { backups, claimKeys } = await loadCatalogue(client, namespace);
  const { plans, unreadable } = await volumePlans(client, backups, claimKeys, namespace, now);
  const chosen = plans.filter(
    (p) => target === undefined || (p.namespace === target.namespace && p.pvc === target.pvc),
  );
  return { plans: chosen, unreadable };
}
