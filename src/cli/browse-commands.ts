// `safehold ls NS/PVC [PATH]` and `safehold dump NS/PVC PATH > FILE`: read a
// backup from outside the cluster without the repository's keys. Each creates
// a BackupDownload, waits for its short-lived URL (at most --timeout), fetches
// the listing or the file from S3 (streamed: a dump goes to stdout as it
// arrives), and deletes the BackupDownload (which deletes the staging object).
// The S3 endpoint must be reachable from here (see the repository's
// spec.s3.publicEndpoint).
import type { Command } from 'commander';
import { listingEntry, type BackupDownload, type BackupDownloadSpec, type ListingEntry } from '../api/index.ts';
import { kinds, type KubeClient } from '../kube/index.ts';
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

const downloadTimeout = () => timeoutOption('give up when the download is not ready within this long', '10m');

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
    .description("write one file of a volume's backup to stdout (default: the latest backup)")
    .argument('<namespace/pvc>', 'the backed-up volume')
    .argument('<path>', 'the file inside the volume, e.g. /etc/app.conf')
    .option('--backup <id>', 'a restic snapshot id (or prefix) or VolumeBackup name')
    .option('--as-of <time>', 'the newest backup captured at or before this time')
    .addOption(downloadTimeout())
    .action(async (volume: string, path: string, options: ChoiceOptions) => {
      await download(program, deps, volume, { ...options, path, what: 'file', depth: 1 }, async (body) => {
        for await (const chunk of body) await deps.writeOut(chunk);
      });
    });
}

/**
 * Creates the BackupDownload, waits for it, hands its object's body to `consume` as it arrives,
 * deletes it. false (exit code set) when the download failed.
 */
async function download(
  program: Command,
  deps: CliDeps,
  volume: string,
  request: ChoiceOptions & { path: string; what: 'listing' | 'file'; depth: number },
  consume: (body: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<boolean> {
  const client = deps.connect(program.opts());
  try {
    const ref = parseVolumeRef(volume, client.defaultNamespace);
    if (ref === undefined) program.error(`error: "${volume}" is not NAMESPACE/PVC`, { exitCode: 2 });
    if (request.asOf !== undefined && request.backup !== undefined)
      program.error('error: give --as-of or --backup, not both', { exitCode: 2 });
    const path = request.path.startsWith('/') ? request.path : `/${request.path}`;
    const spec: BackupDownloadSpec = {
      source: { pvc: ref.name },
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
