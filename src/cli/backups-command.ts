// `safehold backups [NS/PVC]`: the catalogue, the Succeeded VolumeBackups with
// their restic snapshot, newest first; `--orphans` shows only the backups of
// PVCs that no longer exist, with when their grace period ends. Reads only
// VolumeBackups, PVCs and policies, so a tenant can run it in their namespace.
import type { Command } from 'commander';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { stringify } from 'yaml';
import type { VolumeBackup } from '../api/index.ts';
import { age, coverage, formatBytes, planRetention, type VolumePlan } from '../core/index.ts';
import { kinds, type KubeClient } from '../kube/index.ts';
import { loadCluster } from './load-cluster.ts';
import type { CliDeps } from './program.ts';
import { renderTable } from './table.ts';

interface BackupsOptions {
  namespace?: string;
  allNamespaces?: boolean;
  orphans?: boolean;
  output: string;
}

export function addBackupsCommand(program: Command, deps: CliDeps): void {
  program
    .command('backups')
    .argument('[volume]', 'NAMESPACE/PVC, or PVC in the current namespace')
    .description("list a volume's kept backups (restic snapshot, time, size, files, method), newest first")
    .option('-n, --namespace <namespace>', 'only this namespace')
    .option('-A, --all-namespaces', 'every namespace')
    .option('--orphans', 'only backups of PVCs that were deleted, and until when they are all kept')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (volume: string | undefined, options: BackupsOptions) => {
      const client = deps.connect(program.opts());
      try {
        const target = parseVolume(volume, options.namespace ?? client.defaultNamespace);
        const namespace =
          options.allNamespaces === true && target === undefined
            ? undefined
            : (target?.namespace ?? options.namespace ?? client.defaultNamespace);
        const { backups, claimKeys } = await loadCatalogue(client, namespace);
        const now = deps.now();
        const plans = await volumePlans(client, backups, claimKeys, namespace, now);
        const rows = plans
          .filter((p) => target === undefined || (p.namespace === target.namespace && p.pvc === target.pvc))
          .filter((p) => options.orphans !== true || !p.claimExists)
          .flatMap((p) =>
            p.verdicts.map(({ entry }) => ({
              namespace: p.namespace,
              pvc: p.pvc,
              snapshot: entry.id.slice(0, 8),
              time: entry.time.toISOString(),
              age: age(entry.time.toISOString(), now) ?? '',
              added: entry.backup.status?.bytes?.added,
              size: entry.backup.status?.bytes?.total,
              files: entry.backup.status?.files?.total,
              method: entry.backup.status?.method ?? '',
              ...(p.claimExists ? {} : { orphanGraceUntil: p.orphanGraceUntil?.toISOString() ?? 'over' }),
            })),
          );
        if (options.output === 'json') deps.stdout(`${JSON.stringify(rows, null, 2)}\n`);
        else if (options.output === 'yaml') deps.stdout(stringify(rows));
        else if (rows.length === 0)
          deps.stdout(options.orphans === true ? 'No backups of deleted PVCs.\n' : 'No backups.\n');
        else
          deps.stdout(
            renderTable(
              [
                'NAMESPACE',
                'PVC',
                'SNAPSHOT',
                'TIME',
                'AGE',
                'SIZE',
                'ADDED',
                'FILES',
                'METHOD',
                ...(options.orphans === true ? ['KEPT UNTIL'] : []),
              ],
              rows.map((r) => [
                r.namespace,
                r.pvc,
                r.snapshot,
                r.time,
                r.age,
                r.size === undefined ? '' : formatBytes(r.size),
                r.added === undefined ? '' : formatBytes(r.added),
                r.files === undefined ? '' : String(r.files),
                r.method,
                ...(options.orphans === true ? [r.orphanGraceUntil ?? ''] : []),
              ]),
            ),
          );
      } finally {
        client.close();
      }
    });
}

/** NS/PVC or PVC (in the given namespace). */
export function parseVolume(
  text: string | undefined,
  namespace: string,
): { namespace: string; pvc: string } | undefined {
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
