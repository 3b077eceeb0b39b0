// `safehold ls NS/PVC [PATH]` and `safehold dump NS/PVC PATH > FILE`: read a
// backup from outside the cluster without the repository's keys; `safehold
// dump --application NS/DUMP [--into POD -- COMMAND...]` reads an application
// dump, to stdout or streamed into a command (psql, mysql) through pods/exec
// with the caller's own rights. Each creates
// a BackupDownload, waits for its short-lived URL (at most --timeout), fetches
// the listing or the file from S3 (streamed: a dump goes to stdout as it
// arrives), and deletes the BackupDownload (which deletes the staging object).
// The S3 endpoint must be reachable from here (see the repository's
// spec.s3.publicEndpoint).
import type { Command, Option } from 'commander';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  dumpFileOf,
  listingEntry,
  type ApplicationDump,
  type BackupDownload,
  type BackupDownloadSpec,
  type ListingEntry,
} from '../api/index.ts';
import { isNotFound, kinds, type KubeClient } from '../kube/index.ts';
import { parseVolumeRef } from './backup-command.ts';
import { defaultFetchLimits, fetchBody } from './http-fetch.ts';
import { renderListing } from './listing-table.ts';
import { outputOption, type OutputFormat } from './output-format.ts';
import type { CliDeps } from './program.ts';
import { timeoutOption, waitFor } from './wait-deadline.ts';

interface ChoiceOptions {
  backup?: string;
  asOf?: string;
  timeout: number;
}

export const downloadTimeout = (): Option =>
  timeoutOption('give up when the download is not ready within this long', '10m');

export function addLsCommand(program: Command, deps: CliDeps): void {
  program
    .command('ls')
    .description("list a folder of a volume's backup (default: the latest backup, the volume's root)")
    .argument('<namespace/pvc>', 'the backed-up volume')
    .argument('[path]', 'a folder (or file) inside the volume', '/')
    .option('--backup <id>', 'a restic snapshot id (or prefix) or VolumeBackup name')
    .option('--as-of <time>', 'the newest backup captured at or before this time')
    .option('-R, --depth <levels>', 'folder levels below path to list', '1')
    .addOption(outputOption())
    .addOption(downloadTimeout())
    .action(async (volume: string, path: string, options: ChoiceOptions & { depth: string; output: OutputFormat }) => {
      const depth = Number(options.depth);
      if (!Number.isInteger(depth) || depth < 1)
        program.error('error: --depth must be a whole number >= 1', { exitCode: 2 });
      const chunks: Uint8Array[] = [];
      const got = await download(program, deps, volume, { ...options, path, what: 'listing', depth }, async (body) => {
        for await (const chunk of body) chunks.push(chunk);
      });
      if (!got) return;
      const entries: ListingEntry[] = [];
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        const parsed = listingEntry.safeParse(JSON.parse(line));
        if (parsed.success) entries.push(parsed.data);
      }
      deps.stdout(renderListing(entries, options.output));
    });
}

export function addDumpCommand(program: Command, deps: CliDeps): void {
  program
    .command('dump')
    .description(
      "write one file of a volume's backup to stdout (default: the latest backup); with --application, an application dump, to stdout or streamed into a command in a Pod",
    )
    .argument('<ref>', 'NAMESPACE/PVC, the backed-up volume; with --application, NAMESPACE/APPLICATIONDUMP')
    .argument(
      '[rest...]',
      'the file inside the volume (e.g. /etc/app.conf); with --into, after --, the command the dump is streamed into',
    )
    .option('--application', 'read an application dump (an ApplicationDump) instead of a volume')
    .option('--into <pod>', 'with --application: stream the dump into a command in this Pod (its stdin)')
    .option('-c, --container <name>', "with --into: the container (the Pod's first by default)")
    .option('--backup <id>', 'a restic snapshot id (or prefix), or a VolumeBackup or DumpRun name')
    .option('--as-of <time>', 'the newest backup captured at or before this time')
    .addOption(downloadTimeout())
    .action(
      async (
        ref: string,
        rest: string[],
        options: ChoiceOptions & { application?: boolean; into?: string; container?: string },
      ) => {
        if (options.application !== true) {
          if (options.into !== undefined) program.error('error: --into needs --application', { exitCode: 2 });
          const [path] = rest;
          if (path === undefined || rest.length > 1)
            program.error('error: give one path inside the volume, e.g. /etc/app.conf', { exitCode: 2 });
          await download(program, deps, ref, { ...options, path, what: 'file', depth: 1 }, async (body) => {
            for await (const chunk of body) await deps.writeOut(chunk);
          });
          return;
        }
        await applicationDump(program, deps, ref, rest, options);
      },
    );
}

/** An application dump: to stdout, or streamed into a command in a Pod (psql, mysql) with the caller's own rights. */
async function applicationDump(
  program: Command,
  deps: CliDeps,
  ref: string,
  command: string[],
  options: ChoiceOptions & { into?: string; container?: string },
): Promise<void> {
  const client = deps.connect(program.opts());
  try {
    const parsed = parseVolumeRef(ref, client.defaultNamespace);
    if (parsed === undefined) program.error(`error: "${ref}" is not NAMESPACE/APPLICATIONDUMP`, { exitCode: 2 });
    const declared = await client
      .get<ApplicationDump>(kinds.applicationDump, { namespace: parsed.namespace, name: parsed.name })
      .catch((error: unknown) => {
        if (isNotFound(error)) program.error(`error: ApplicationDump ${parsed.namespace}/${parsed.name} not found`);
        throw error;
      });
    if (options.into === undefined && command.length > 0)
      program.error('error: a command after -- needs --into POD', { exitCode: 2 });
    const into = options.into;
    const restoreCommand = command.length > 0 ? command : declared.spec.restoreCommand;
    if (into !== undefined && restoreCommand === undefined)
      program.error(
        `error: give the command to stream into after -- (ApplicationDump ${parsed.namespace}/${parsed.name} has no spec.restoreCommand)`,
        { exitCode: 2 },
      );
    const request = { ...options, path: `/${dumpFileOf(declared.spec)}`, what: 'file' as const, depth: 1, dump: true };
    await download(program, deps, ref, request, async (body) => {
      if (into === undefined || restoreCommand === undefined) {
        for await (const chunk of body) await deps.writeOut(chunk);
        return;
      }
      const pod = await client.get<Pod>(kinds.pod, { namespace: parsed.namespace, name: into });
      const container = options.container ?? pod.spec?.containers[0]?.name ?? '';
      const result = await client.exec({
        namespace: parsed.namespace,
        pod: into,
        container,
        command: restoreCommand,
        stdin: body,
        timeoutMs: options.timeout,
      });
      if (result.stdout !== '') deps.stderr(result.stdout.endsWith('\n') ? result.stdout : `${result.stdout}\n`);
      if (result.stderr !== '') deps.stderr(result.stderr.endsWith('\n') ? result.stderr : `${result.stderr}\n`);
      if (result.exitCode !== 0) {
        deps.stderr(
          `error: ${restoreCommand.join(' ')} in Pod ${parsed.namespace}/${into}, container ${container}: ${result.exitCode === undefined ? (result.error ?? 'did not finish') : `exited ${result.exitCode}`}\n`,
        );
        deps.setExitCode(1);
      }
    });
  } finally {
    client.close();
  }
}

/**
 * Creates the BackupDownload, waits for it, hands its object's body to `consume` as it arrives,
 * deletes it. false (exit code set) when the download failed.
 */
export async function download(
  program: Command,
  deps: CliDeps,
  volume: string,
  request: ChoiceOptions & { path: string; what: 'listing' | 'file'; depth: number; dump?: boolean },
  consume: (body: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<boolean> {
  const client = deps.connect(program.opts());
  try {
    const ref = parseVolumeRef(volume, client.defaultNamespace);
    if (ref === undefined)
      program.error(`error: "${volume}" is not NAMESPACE/${request.dump === true ? 'APPLICATIONDUMP' : 'PVC'}`, {
        exitCode: 2,
      });
    if (request.asOf !== undefined && request.backup !== undefined)
      program.error('error: give --as-of or --backup, not both', { exitCode: 2 });
    const path = request.path.startsWith('/') ? request.path : `/${request.path}`;
    const spec: BackupDownloadSpec = {
      source: request.dump === true ? { dump: ref.name } : { pvc: ref.name },
      backup: request.backup ?? 'latest',
      ...(request.asOf === undefined ? {} : { asOf: request.asOf }),
      path,
      what: request.what,
      depth: request.depth,
      ttl: '15m',
    };
    const created = await client.create<BackupDownload>(kinds.backupDownload, {
      metadata: { generateName: `${ref.name.slice(0, 40)}-${request.what}-`, namespace: ref.namespace },
      spec,
    } as never);
    const name = created.metadata.name;
    try {
      const done = await waitForDownload(deps, client, ref.namespace, name, request.timeout);
      const status = done.status ?? {};
      if (status.phase !== 'Succeeded' || status.url === undefined) {
        deps.stderr(`error: ${status.reason ?? status.phase ?? ''}: ${status.message ?? ''}\n`);
        deps.setExitCode(1);
        return false;
      }
      const what = `the ${request.what === 'file' ? 'file' : 'listing of'} ${path} (BackupDownload ${ref.namespace}/${name})`;
      await consume(fetchBody(status.url, what, defaultFetchLimits));
      return true;
    } finally {
      await client.delete(kinds.backupDownload, { namespace: ref.namespace, name }).catch(() => undefined);
    }
  } finally {
    client.close();
  }
}

function waitForDownload(
  deps: CliDeps,
  client: KubeClient,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<BackupDownload> {
  return waitFor({
    what: `BackupDownload ${namespace}/${name}`,
    timeoutMs,
    intervalMs: 500,
    nowMs: () => deps.now().getTime(),
    get: () => client.get<BackupDownload>(kinds.backupDownload, { namespace, name }),
    done: (current) => ['Succeeded', 'Failed', 'Expired'].includes(current.status?.phase ?? ''),
    describe: (current) => `${current.status?.phase ?? 'Pending'}: ${current.status?.message ?? 'not started'}`,
  });
}
