// `safehold restore-resources NAMESPACE [--dump NAME | --file PATH] [--to NS]
// [--force] [--dry-run] [--kind K] [--name N]`: puts a namespace's API objects
// back from an objects dump (an ApplicationDump with spec.objects), with the
// caller's own rights. It reads what exists in the target, plans (create,
// unchanged, conflict, or with --force replace; core/resource-restore-plan.ts),
// prints the plan and applies it in order. A conflict or an object that fails
// makes the exit status 1; a file cut short is refused before anything is made.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { dumpFileOf, type ApplicationDump } from '../api/index.ts';
import { planRestore, type ApiObject, type PlannedObject } from '../core/index.ts';
import { isNotFound, kinds, type KubeClient } from '../kube/index.ts';
import { download, downloadTimeout } from './browse-commands.ts';
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
      "restore a namespace's API objects (ConfigMaps, Secrets, Deployments, RBAC, custom resources...) from an objects dump, with your own rights",
    )
    .argument('<namespace>', 'the namespace whose objects were dumped (where its ApplicationDump is)')
    .option('--dump <name>', 'the ApplicationDump with spec.objects (default: the only one in the namespace)')
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
    .action(async (namespace: string, options: RestoreResourcesOptions) => {
      if (options.file !== undefined && [options.dump, options.backup, options.asOf].some((o) => o !== undefined))
        program.error('error: --file reads a saved file: give it without --dump, --backup or --as-of', {
          exitCode: 2,
        });
      try {
        const source = await readSource(program, deps, namespace, options);
        if (source === undefined) return;
        const parsed = parseObjectsFile(source.text);
        if (!parsed.ok) throw new Refused(`${source.what}: ${parsed.error}`);
        const file = parsed.file;
        if (file.namespace !== namespace)
          program.error(
            `error: ${source.what} holds the objects of namespace ${file.namespace}, not ${namespace}: to put them in ${namespace}, run restore-resources ${file.namespace}${options.file === undefined ? '' : ` --file ${options.file}`} --to ${namespace}`,
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

/** A reason to restore nothing at all: the source cannot be read, or is not a whole objects file. */
class Refused extends Error {
  override name = 'Refused';
}

async function restore(
  deps: CliDeps,
  client: KubeClient,
  file: ObjectsFile,
  what: string,
  options: RestoreResourcesOptions,
): Promise<void> {
  const target = options.to ?? file.namespace;
  const namespaces = new Map(target === file.namespace ? [] : [[file.namespace, target]]);
  const include = { kinds: options.kind, names: options.name };
  // Only the kinds chosen are read: a tenant restores what their rights allow, kind by kind.
  const chosen = planRestore({ objects: file.objects, existing: [], namespaces, include }).steps.map((s) => s.object);
  const existing = await readExisting(client, file, chosen, target);
  const objects: ApiObject[] = [...file.objects];
  // The target is made when it is missing; a tenant who may not read namespaces restores into one that exists.
  const missing = chosen.length > 0 && (await namespaceExists(client, target)) === false;
  if (missing && !objects.some(isNamespace(file.namespace)))
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: file.namespace } });
  const plan = planRestore({
    objects,
    existing: existing.sanitized,
    namespaces,
    force: options.force === true,
    include,
  });
  const table = options.output === 'table';
  for (const entry of plan.unmatched) deps.stderr(`warning: --${entry} matches no object in ${what}\n`);
  for (const reason of file.leftOut) deps.stderr(`warning: left out: ${reason}\n`);
  if (table) {
    deps.stdout(
      `${what}: namespace ${file.namespace} as captured at ${file.capturedAt}, into namespace ${target}${options.dryRun === true ? ' (dry run)' : ''}\n`,
    );
    deps.stdout(plan.steps.length === 0 ? 'No objects to restore.\n' : renderPlan(plan.steps));
  }
  const records: StepRecord[] = [];
  let blocked: string | undefined;
  for (const step of plan.steps) {
    const outcome: StepOutcome =
      blocked !== undefined
        ? { result: 'failed', message: `${step.ref}: not attempted: ${blocked}` }
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
    records.push(stepRecord(step, outcome));
  }
  if (blocked !== undefined) deps.stderr(`error: ${blocked}: nothing in it was restored\n`);
  const conflicts = records.filter((r) => r.result === 'skipped').length;
  const failed = records.filter((r) => r.result === 'failed').length;
  if (table) deps.stdout(`${summaryLine(records, options.dryRun === true)}\n`);
  else
    deps.stdout(
      forPrograms(options.output, {
        source: what,
        namespace: file.namespace,
        capturedAt: file.capturedAt,
        target,
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
  if (conflicts > 0 || failed > 0) deps.setExitCode(1);
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
  }
}

const isNamespace = (name: string) => (o: ApiObject) => o.kind === 'Namespace' && o.metadata.name === name;

/** The objects file's text and how to name it; undefined when a download failed (said already). */
async function readSource(
  program: Command,
  deps: CliDeps,
  namespace: string,
  options: RestoreResourcesOptions,
): Promise<{ text: string; what: string } | undefined> {
  if (options.file !== undefined) {
    try {
      return { text: await readFile(options.file, 'utf8'), what: options.file };
    } catch (error) {
      throw new Refused(
        `cannot read --file ${options.file}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const client = deps.connect(program.opts());
  let dump: ApplicationDump;
  try {
    dump = await chooseDump(client, namespace, options.dump);
  } finally {
    client.close();
  }
  const ref = `${namespace}/${dump.metadata.name}`;
  const chunks: Uint8Array[] = [];
  const request = { ...options, path: `/${dumpFileOf(dump.spec)}`, what: 'file' as const, depth: 1, dump: true };
  const got = await download(program, deps, ref, request, async (body) => {
    for await (const chunk of body) chunks.push(chunk);
  });
  return got ? { text: Buffer.concat(chunks).toString('utf8'), what: `ApplicationDump ${ref}` } : undefined;
}

const restoreRateLimit = { qps: 200, burst: 200 };

/** The named objects dump, or the only one in the namespace. */
async function chooseDump(client: KubeClient, namespace: string, name: string | undefined): Promise<ApplicationDump> {
  if (name !== undefined) {
    const dump = await client
      .get<ApplicationDump>(kinds.applicationDump, { namespace, name })
      .catch((error: unknown) => {
        if (isNotFound(error)) throw new Refused(`ApplicationDump ${namespace}/${name} not found`);
        throw error;
      });
    if (dump.spec.objects === undefined)
      throw new Refused(
        `ApplicationDump ${namespace}/${name} runs a command, it does not dump objects (spec.objects): read it with safehold dump --application ${namespace}/${name}`,
      );
    return dump;
  }
  const listed = await client.list<ApplicationDump>(kinds.applicationDump, { namespace });
  const objectDumps = listed.items.filter((d) => d.spec.objects !== undefined);
  const [only] = objectDumps;
  if (only === undefined)
    throw new Refused(
      `no ApplicationDump in namespace ${namespace} dumps objects (spec.objects): declare one, or give --file`,
    );
  if (objectDumps.length > 1)
    throw new Refused(
      `namespace ${namespace} has ${objectDumps.length} objects dumps (${objectDumps.map((d) => d.metadata.name).join(', ')}): choose one with --dump NAME`,
    );
  return only;
}
