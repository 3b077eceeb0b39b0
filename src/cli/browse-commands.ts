// `safehold ls NS/PVC [PATH]` and `safehold dump NS/PVC PATH > FILE`: read a
// backup from outside the cluster without the repository's keys. Each creates
// a BackupDownload, waits for its short-lived URL, fetches the listing or the
// file from S3, and deletes the BackupDownload (which deletes the staging
// object). The S3 endpoint must be reachable from here (see the repository's
// spec.s3.publicEndpoint).
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { listingEntry, type BackupDownload, type BackupDownloadSpec, type ListingEntry } from '../api/index.ts';
import { formatBytes } from '../core/index.ts';
import { kinds, type KubeClient } from '../kube/index.ts';
import { parseVolumeRef } from './backup-command.ts';
import { forPrograms, outputOption, type OutputFormat } from './output-format.ts';
import type { CliDeps } from './program.ts';
import { renderTable } from './table.ts';

interface ChoiceOptions {
  backup?: string;
  asOf?: string;
}

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
    .action(async (volume: string, path: string, options: ChoiceOptions & { depth: string; output: OutputFormat }) => {
      const depth = Number(options.depth);
      if (!Number.isInteger(depth) || depth < 1)
        program.error('error: --depth must be a whole number >= 1', { exitCode: 2 });
      const got = await download(program, deps, volume, { ...options, path, what: 'listing', depth });
      if (got === undefined) return;
      const entries: ListingEntry[] = [];
      for (const line of new TextDecoder().decode(got).split('\n')) {
        if (line.trim() === '') continue;
        const parsed = listingEntry.safeParse(JSON.parse(line));
        if (parsed.success) entries.push(parsed.data);
      }
      const printed = forPrograms(options.output, entries);
      if (printed !== undefined) {
        deps.stdout(printed);
        return;
      }
      deps.stdout(
        renderTable(
          ['MODE', 'OWNER', 'SIZE', 'MODIFIED', 'PATH'],
          entries.map((e) => [
            modeString(e),
            `${e.uid ?? ''}:${e.gid ?? ''}`,
            e.type === 'file' && e.size !== undefined ? formatBytes(e.size) : '',
            e.mtime?.slice(0, 19).replace('T', ' ') ?? '',
            `${e.path}${e.type === 'dir' ? '/' : ''}${e.linkTarget === undefined ? '' : ` -> ${e.linkTarget}`}`,
          ]),
        ),
      );
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
    .action(async (volume: string, path: string, options: ChoiceOptions) => {
      const got = await download(program, deps, volume, { ...options, path, what: 'file', depth: 1 });
      if (got !== undefined) await deps.writeOut(got);
    });
}

/** Creates the BackupDownload, waits for it, fetches its object, deletes it. undefined (exit code set) on failure. */
async function download(
  program: Command,
  deps: CliDeps,
  volume: string,
  request: ChoiceOptions & { path: string; what: 'listing' | 'file'; depth: number },
): Promise<Uint8Array | undefined> {
  const client = deps.connect(program.opts());
  try {
    const ref = parseVolumeRef(volume, client.defaultNamespace);
    if (ref === undefined) program.error(`error: "${volume}" is not NAMESPACE/PVC`, { exitCode: 2 });
    if (request.asOf !== undefined && request.backup !== undefined)
      program.error('error: give --as-of or --backup, not both', { exitCode: 2 });
    const spec: BackupDownloadSpec = {
      source: { pvc: ref.name },
      backup: request.backup ?? 'latest',
      ...(request.asOf === undefined ? {} : { asOf: request.asOf }),
      path: request.path.startsWith('/') ? request.path : `/${request.path}`,
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
      const done = await waitForDownload(client, ref.namespace, name);
      const status = done.status ?? {};
      if (status.phase !== 'Succeeded' || status.url === undefined) {
        deps.stderr(`error: ${status.reason ?? status.phase ?? ''}: ${status.message ?? ''}\n`);
        deps.setExitCode(1);
        return undefined;
      }
      const response = await fetch(status.url);
      if (!response.ok) {
        deps.stderr(
          `error: fetching the download from ${new URL(status.url).origin} answered ${response.status} ${response.statusText}\n`,
        );
        deps.setExitCode(1);
        return undefined;
      }
      return new Uint8Array(await response.arrayBuffer());
    } finally {
      await client.delete(kinds.backupDownload, { namespace: ref.namespace, name }).catch(() => undefined);
    }
  } finally {
    client.close();
  }
}

async function waitForDownload(client: KubeClient, namespace: string, name: string): Promise<BackupDownload> {
  for (;;) {
    const current = await client.get<BackupDownload>(kinds.backupDownload, { namespace, name });
    const phase = current.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Expired') return current;
    await sleep(500);
  }
}

const typeLetter: Record<ListingEntry['type'], string> = {
  file: '-',
  dir: 'd',
  symlink: 'l',
  dev: 'b',
  chardev: 'c',
  fifo: 'p',
  socket: 's',
  irregular: '?',
};

/** "drwxr-x---" from the entry's type and permission bits. */
export function modeString(entry: ListingEntry): string {
  const mode = entry.mode ?? 0;
  const bits = ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x']
    .map((letter, index) => ((mode >> (8 - index)) & 1 ? letter : '-'))
    .join('');
  return `${typeLetter[entry.type]}${bits}`;
}
