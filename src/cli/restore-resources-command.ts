// `safehold restore-resources NAMESPACE [--dump NAME | --file PATH] [--to NS]
// [--force] [--dry-run] [--kind K] [--name N]`: puts a namespace's API objects
// back from an objects dump (an ApplicationDump with spec.objects), with the
// caller's own rights; `--cluster` instead the cluster-scoped objects, from
// the dump with objects.scope Cluster in Safehold's namespace. It reads what exists in the target, plans (create,
// unchanged, conflict, or with --force replace; core/resource-restore-plan.ts),
// prints the plan and applies it in order. A conflict or an object that fails
// makes the exit status 1; a file cut short is refused before anything is made.
import type { Command } from 'commander';
import { groupKind, groupOf, planRestore, type ApiObject, type PlannedObject } from '../core/index.ts';
import type { KubeClient } from '../kube/index.ts';
import { downloadTimeout } from './browse-commands.ts';
import { readSource, Refused, type ObjectsScope } from './objects-dump-source.ts';
import { parseObjectsFile, type ObjectsFile } from './objects-file.ts';
import { forPrograms, outputOption, type OutputFormat } from './output-format.ts';
import type { CliDeps } from './program.ts';
import { applyStep, ExistingUnreadable, namespaceExists, readExisting } from './resource-apply.ts';
import { renderPlan, stepRecord, summaryLine, type StepOutcome, type StepRecord } from './resource-restore-report.ts';

interface RestoreResourcesOptions {
  dump?: string;
  backup?: string;
  asOf?: string;
  file?: string;
  to?: string;
  cluster?: boolean;
  safeholdNamespace?: string;
  force?: boolean;
  dryRun?: boolean;
  kind: string[];
  name: string[];
  output: OutputFormat;
  timeout: number;
}

const repeat = (value: string, previous: string[]) => [...previous, value];

export function addRestoreResourcesCommand(program: Command, deps: CliDeps): void {
  program
    .command('restore-resources')
    .description(
      "restore a namespace's API objects (ConfigMaps, Secrets, Deployments, RBAC, custom resources...), or with --cluster the cluster-scoped ones (CRDs, ClusterRoles, StorageClasses, PersistentVolumes...), from an objects dump, with your own rights",
    )
    .argument('[namespace]', 'the namespace whose objects were dumped (where its ApplicationDump is)')
    .option('--cluster', "the cluster-scoped objects instead of a namespace's (the dump with objects.scope: Cluster)")
    .option(
      '--safehold-namespace <namespace>',
      "with --cluster: Safehold's namespace, where the cluster's objects dump is (default: safehold-system)",
    )
    .option(
      '--dump <name>',
      'the ApplicationDump with spec.objects (default: the only one in the namespace, of the scope asked for)',
    )
    .option('--backup <id>', 'a DumpRun name or restic snapshot id (default: the latest dump)')
    .option('--as-of <time>', 'the newest dump taken at or before this time (RFC 3339)')
    .option('--file <path>', 'an objects file saved with `safehold dump --application NS/DUMP > objects.jsonl`')
    .option('--to <namespace>', 'restore into this namespace instead (created when missing)')
    .option('--force', 'replace objects that exist and differ (default: leave them and exit 1)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--kind <kind>', 'only objects of this kind (Deployment or Deployment.apps); repeatable', repeat, [])
    .option('--name <name>', 'only objects with this name; repeatable', repeat, [])
    .addOption(outputOption())
    .addOption(downloadTimeout())
    .action(async (namespace: string | undefined, options: RestoreResourcesOptions) => {
      if (options.file !== undefined && [options.dump, options.backup, options.asOf].some((o) => o !== undefined))
        program.error('error: --file reads a saved file: give it without --dump, --backup or --as-of', {
          exitCode: 2,
        });
      const whose = scopeOf(program, namespace, options);
      try {
        const source = await readSource(program, deps, whose, options);
        if (source === undefined) return;
        const parsed = parseObjectsFile(source.text);
        if (!parsed.ok) throw new Refused(`${source.what}: ${parsed.error}`);
        const file = parsed.file;
        const fileOption = options.file === undefined ? '' : ` --file ${options.file}`;
        if (whose.scope === 'Cluster' && file.namespace !== undefined)
          program.error(
            `error: ${source.what} holds the objects of namespace ${file.namespace}, not the cluster-scoped ones: run restore-resources ${file.namespace}${fileOption}`,
            { exitCode: 2 },
          );
        if (whose.scope === 'Namespace' && file.namespace === undefined)
          program.error(
            `error: ${source.what} holds the cluster-scoped objects (scope Cluster), not namespace ${whose.namespace}'s: run restore-resources --cluster${fileOption}`,
            { exitCode: 2 },
          );
        if (whose.scope === 'Namespace' && file.namespace !== whose.namespace)
          program.error(
            `error: ${source.what} holds the objects of namespace ${file.namespace}, not ${whose.namespace}: to put them in ${whose.namespace}, run restore-resources ${file.namespace}${fileOption} --to ${whose.namespace}`,
            { exitCode: 2 },
          );
        // One person's restore, one object after another: up to 200 requests a second (kubectl sets no limit of
        // its own), left to the API server's priority and fairness; at the default 50 it waited 18 s for 1,000.
        const client = deps.connect(program.opts()).derive({ rateLimit: restoreRateLimit });
        try {
          await restore(deps, client, file, source.what, options);
        } finally {
          client.close();
        }
      } catch (error) {
        if (!(error instanceof Refused || error instanceof ExistingUnreadable)) throw error;
        deps.stderr(`error: ${error.message}; nothing was restored\n`);
        deps.setExitCode(1);
      }
    });
}

/** A namespace's objects, or with --cluster the cluster-scoped ones; both, or neither, is a usage error. */
function scopeOf(program: Command, namespace: string | undefined, options: RestoreResourcesOptions): ObjectsScope {
  const usage = (message: string) => program.error(`error: ${message}`, { exitCode: 2 });
  if (options.cluster !== true) {
    if (namespace === undefined)
      return usage('give the NAMESPACE whose objects to restore, or --cluster for the cluster-scoped objects');
    if (options.safeholdNamespace !== undefined)
      return usage('--safehold-namespace names where the cluster-scoped objects dump is: give it with --cluster');
    return { scope: 'Namespace', namespace };
  }
  if (namespace !== undefined)
    return usage(
      `--cluster restores the cluster-scoped objects, which are in no namespace: give NAMESPACE (${namespace}) or --cluster, not both`,
    );
  if (options.to !== undefined)
    return usage("--to moves a namespace's objects into another one: the cluster-scoped objects have no namespace");
  return { scope: 'Cluster', safeholdNamespace: options.safeholdNamespace ?? 'safehold-system' };
}

async function restore(
  deps: CliDeps,
  client: KubeClient,
  file: ObjectsFile,
  what: string,
  options: RestoreResourcesOptions,
): Promise<void> {
  // Undefined for the cluster-scoped objects: they go where they were, into no namespace.
  const source = file.namespace;
  const target = source === undefined ? undefined : (options.to ?? source);
  const namespaces = new Map(source === undefined || target === source ? [] : [[source, target ?? source]]);
  const include = { kinds: options.kind, names: options.name };
  // Only the kinds chosen are read: a tenant restores what their rights allow, kind by kind.
  const chosen = planRestore({ objects: file.objects, existing: [], namespaces, include }).steps.map((s) => s.object);
  const existing = await readExisting(client, file, chosen, target);
  const objects: ApiObject[] = [...file.objects];
  // The target is made when it is missing; a tenant who may not read namespaces restores into one that exists.
  const missing = target !== undefined && chosen.length > 0 && (await namespaceExists(client, target)) === false;
  if (missing && source !== undefined && !objects.some(isNamespace(source)))
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: source } });
  const plan = planRestore({
    objects,
    existing: existing.sanitized,
    unreadable: existing.unreadable,
    namespaces,
    force: options.force === true,
    include,
  });
  const table = options.output === 'table';
  for (const entry of plan.unmatched) deps.stderr(`warning: --${entry} matches no object in ${what}\n`);
  for (const reason of file.leftOut) deps.stderr(`warning: left out: ${reason}\n`);
  if (table) {
    const whose = source === undefined ? 'the cluster-scoped objects' : `namespace ${source}`;
    const into = target === undefined ? '' : `, into namespace ${target}`;
    deps.stdout(
      `${what}: ${whose} as captured at ${file.capturedAt}${into}${options.dryRun === true ? ' (dry run)' : ''}\n`,
    );
    deps.stdout(plan.steps.length === 0 ? 'No objects to restore.\n' : renderPlan(plan.steps));
  }
  const records: StepRecord[] = [];
  let blocked: string | undefined;
  // The kinds of a CustomResourceDefinition that could not be restored: their objects are not attempted.
  const missingKinds = new Map<string, string>();
  for (const step of plan.steps) {
    const kindMissing = missingKinds.get(groupKind(groupOf(step.object.apiVersion), step.object.kind));
    const outcome: StepOutcome =
      blocked !== undefined || kindMissing !== undefined
        ? { result: 'failed', message: `${step.ref}: not attempted: ${blocked ?? kindMissing}` }
        : options.dryRun === true
          ? planned(step)
          : await applyStep(client, file, step, existing, {
              force: options.force === true,
              nowMs: () => deps.now().getTime(),
            });
    if (outcome.result === 'failed' && blocked === undefined) {
      deps.stderr(`error: ${outcome.message}\n`);
      if (step.object.kind === 'Namespace' && step.object.metadata.name === target)
        blocked = `namespace ${target} could not be created`;
    }
    const defined = definedKind(step.object);
    if (outcome.result === 'failed' && defined !== undefined) missingKinds.set(defined, `${step.ref} was not restored`);
    records.push(stepRecord(step, outcome));
  }
  if (blocked !== undefined) deps.stderr(`error: ${blocked}: nothing in it was restored\n`);
  const conflicts = records.filter((r) => r.action === 'conflict' && r.result === 'skipped').length;
  const managed = records.filter((r) => r.action === 'managed').length;
  const failed = records.filter((r) => r.result === 'failed').length;
  if (table) deps.stdout(`${summaryLine(records, options.dryRun === true)}\n`);
  else
    deps.stdout(
      forPrograms(options.output, {
        source: what,
        ...(source === undefined ? { scope: 'Cluster' } : { namespace: source, target }),
        capturedAt: file.capturedAt,
        dryRun: options.dryRun === true,
        steps: records,
        unmatched: plan.unmatched,
        leftOut: file.leftOut,
        skippedWhenDumped: { resources: file.skipped, objects: file.skippedObjects },
      }) ?? '',
    );
  if (conflicts > 0)
    deps.stderr(
      `${conflicts} object${conflicts === 1 ? '' : 's'} exist${conflicts === 1 ? 's' : ''} and differ${conflicts === 1 ? 's' : ''}: left as ${conflicts === 1 ? 'it is' : 'they are'}; pass --force to replace ${conflicts === 1 ? 'it' : 'them'}\n`,
    );
  if (managed > 0)
    deps.stderr(
      `${managed} object${managed === 1 ? '' : 's'} that Kubernetes manages differ${managed === 1 ? 's' : ''} from the backup: left as ${managed === 1 ? 'it is' : 'they are'}, even with --force (the plan says why)\n`,
    );
  if (conflicts > 0 || failed > 0) deps.setExitCode(1);
}

/** The kind (`groupKind`) a CustomResourceDefinition serves, or undefined for any other object. */
function definedKind(object: ApiObject): string | undefined {
  if (groupKind(groupOf(object.apiVersion), object.kind) !== 'CustomResourceDefinition.apiextensions.k8s.io')
    return undefined;
  const spec = object['spec'] as { group?: unknown; names?: { kind?: unknown } } | undefined;
  const [group, kind] = [spec?.group, spec?.names?.kind];
  return typeof group === 'string' && typeof kind === 'string' ? groupKind(group, kind) : undefined;
}

function planned(step: PlannedObject): StepOutcome {
  switch (step.action) {
    case 'create':
    case 'replace':
      return { result: 'planned' };
    case 'unchanged':
      return { result: 'unchanged' };
    case 'conflict':
      return { result: 'skipped', message: `${step.ref} exists and differs (--force replaces it)` };
    case 'managed':
      return { result: 'skipped', message: `${step.ref}: left as it is: ${step.reason}` };
    case 'unreadable':
      return { result: 'failed', message: `${step.ref}: cannot be planned: ${step.reason}` };
  }
}

const isNamespace = (name: string) => (o: ApiObject) => o.kind === 'Namespace' && o.metadata.name === name;

const restoreRateLimit = { qps: 200, burst: 200 };
