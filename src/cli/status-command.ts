// `safehold status`: one row per PVC, computed from the API whether or not the
// operator runs; with --objects, one per namespace's API objects and one for
// the cluster-scoped objects.
import type { Command } from 'commander';
import type { ApplicationDump, DumpRun } from '../api/index.ts';
import { coverage, objectsCoverage, type RunMessage } from '../core/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../kube/index.ts';
import { loadCluster } from './load-cluster.ts';
import type { CliDeps } from './program.ts';
import { outputOption, type OutputFormat } from './output-format.ts';
import { repositoryWarnings } from './repository-readiness.ts';
import { renderObjectsStatus, renderStatus } from './status-table.ts';

interface StatusOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output: OutputFormat;
  unprotected?: boolean;
  failOnUnprotected?: boolean;
  objects?: boolean;
}

export function addStatusCommand(program: Command, deps: CliDeps): void {
  program
    .command('status')
    .description(
      'show every PVC: protected, excluded (by whom) or UNPROTECTED (why), with the age of its last good backup and its next run',
    )
    .option('-n, --namespace <namespace>', 'only this namespace')
    .option('-A, --all-namespaces', 'every namespace')
    .addOption(outputOption())
    .option('--unprotected', 'only UNPROTECTED volumes')
    .option('--fail-on-unprotected', 'exit with status 3 when any volume shown is UNPROTECTED')
    .option(
      '--objects',
      "the cluster's state instead of the volumes: each namespace's API objects, the GitOps repositories, and (with --all-namespaces) the cluster-scoped objects and etcd, each protected by a dump or not",
    )
    .action(async (options: StatusOptions) => {
      if (options.namespace !== undefined && options.allNamespaces === true) {
        program.error('error: use either --namespace or --all-namespaces, not both', { exitCode: 2 });
      }
      const client = deps.connect(program.opts());
      try {
        const namespace = options.allNamespaces === true ? undefined : (options.namespace ?? client.defaultNamespace);
        const { view, invalidPolicies, forbidden, buckets } = await loadCluster(client, namespace);
        for (const bad of invalidPolicies) deps.stderr(`warning: BackupPolicy ${bad.name} is ignored: ${bad.error}\n`);
        if (forbidden.length > 0)
          deps.stderr(
            `warning: you may not list ${forbidden.join(', ')}: decisions that rest on them (namespace and StorageClass defaults, policies) may be wrong here; the operator's own decisions are on its dashboard and in its metrics\n`,
          );
        const now = deps.now();
        if (options.objects === true) {
          // Flux's GitRepositories, where Flux is installed and the caller may read them.
          const gitRepositories = await client
            .list<KubeObject & { spec?: { url?: string } }>(
              kinds.fluxGitRepository,
              namespace === undefined ? {} : { namespace },
            )
            .then((list) => list.items)
            .catch(() => []);
          let rows = objectsCoverage({
            namespaces: [...view.namespaces.values()]
              .filter((n) => namespace === undefined || n.metadata?.name === namespace)
              .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')),
            dumps: view.dumps ?? [],
            cluster: namespace === undefined,
            gitRepositories: gitRepositories.flatMap((r) =>
              r.spec?.url === undefined
                ? []
                : [{ namespace: r.metadata?.namespace ?? '', name: r.metadata?.name ?? '', url: r.spec.url }],
            ),
            // The store's buckets are the cluster's: shown with the cluster's rows.
            buckets: namespace === undefined ? buckets : undefined,
            runMessage: await failedRunMessages(client, view.dumps ?? []),
            now,
          });
          if (options.unprotected === true) rows = rows.filter((r) => r.state === 'unprotected');
          deps.stdout(renderObjectsStatus(rows, options.output, now, deps.color && options.output === 'table'));
          if (options.failOnUnprotected === true && rows.some((r) => r.state === 'unprotected')) deps.setExitCode(3);
          return;
        }
        let rows = coverage(view, now).sort(
          (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
        );
        for (const warning of await repositoryWarnings(client, rows, view.policies))
          deps.stderr(`warning: ${warning}\n`);
        if (options.unprotected === true) rows = rows.filter((r) => r.decision.state === 'unprotected');
        deps.stdout(renderStatus(rows, options.output, now, deps.color && options.output === 'table'));
        if (options.failOnUnprotected === true && rows.some((r) => r.decision.state === 'unprotected'))
          deps.setExitCode(3);
      } finally {
        client.close();
      }
    });
}

/** What the failed last runs of etcd dumps said (the etcd row shows why it is UNPROTECTED), those the caller may read. */
async function failedRunMessages(client: KubeClient, dumps: readonly ApplicationDump[]): Promise<RunMessage> {
  const messages = new Map<string, string>();
  for (const dump of dumps) {
    const last = dump.status?.lastRun;
    if (last?.phase !== 'Failed' || (dump.spec as { etcd?: unknown }).etcd === undefined) continue;
    const run = await client
      .get<DumpRun>(kinds.dumpRun, { namespace: dump.metadata.namespace, name: last.name })
      .catch(() => undefined);
    if (run?.status?.message !== undefined) messages.set(`${dump.metadata.namespace}/${last.name}`, run.status.message);
  }
  return (namespace, name) => messages.get(`${namespace}/${name}`);
}
