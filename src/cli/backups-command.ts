// `safehold backups [NS/PVC]`: the catalogue, each kept backup with its name
// (what `--backup` takes) and restic snapshot, newest first; `--orphans` shows only the backups of
// PVCs that no longer exist, with when their grace period ends. Reads only
// VolumeBackups, PVCs and policies, so a tenant can run it in their namespace.
import type { Command } from 'commander';
import type { VolumeBackupStatus } from '../api/index.ts';
import { age, formatBytes } from '../core/index.ts';
import { forPrograms, outputOption, type OutputFormat } from './output-format.ts';
import type { CliDeps } from './program.ts';
import { dumpListing } from './dump-listing.ts';
import { renderTable } from './table.ts';
import { loadPlans } from './volume-plans.ts';

interface BackupsOptions {
  namespace?: string;
  allNamespaces?: boolean;
  orphans?: boolean;
  application?: boolean;
  output: OutputFormat;
}

export function addBackupsCommand(program: Command, deps: CliDeps): void {
  program
    .command('backups')
    .description("list a volume's kept backups (name, restic snapshot, time, size, files, method), newest first")
    .argument('[volume]', 'NAMESPACE/PVC, or PVC in the current namespace (with --application, an ApplicationDump)')
    .option('-n, --namespace <namespace>', 'only this namespace')
    .option('-A, --all-namespaces', 'every namespace')
    .option('--orphans', 'only backups of PVCs that were deleted, and until when they are all kept')
    .option('--application', 'the stored application dumps (of NAMESPACE/APPLICATIONDUMP, or of the namespace)')
    .addOption(outputOption())
    .action(async (volume: string | undefined, options: BackupsOptions) => {
      const client = deps.connect(program.opts());
      try {
        const now = deps.now();
        if (options.application === true) {
          deps.stdout(await dumpListing(client, volume, options, now));
          return;
        }
        const { plans } = await loadPlans(client, volume, options, now);
        const rows = plans
          .filter((p) => options.orphans !== true || !p.claimExists)
          .flatMap((p) =>
            p.verdicts.map(({ entry }) => ({
              namespace: p.namespace,
              pvc: p.pvc,
              name: entry.backup.metadata.name,
              snapshot: entry.id.slice(0, 8),
              time: entry.time.toISOString(),
              age: age(entry.time.toISOString(), now) ?? '',
              added: entry.backup.status?.bytes?.added,
              size: entry.backup.status?.bytes?.total,
              files: entry.backup.status?.files?.total,
              method: methodOf(entry.backup.status),
              verified: entry.backup.status?.verification,
              ...(p.claimExists ? {} : { orphanGraceUntil: p.orphanGraceUntil?.toISOString() ?? 'over' }),
            })),
          );
        const printed = forPrograms(options.output, rows);
        if (printed !== undefined) deps.stdout(printed);
        else if (rows.length === 0)
          deps.stdout(options.orphans === true ? 'No backups of deleted PVCs.\n' : 'No backups.\n');
        else
          deps.stdout(
            renderTable(
              [
                'NAMESPACE',
                'PVC',
                'BACKUP',
                'SNAPSHOT',
                'TIME',
                'AGE',
                'SIZE',
                'ADDED',
                'FILES',
                'METHOD',
                'VERIFIED',
                ...(options.orphans === true ? ['KEPT UNTIL'] : []),
              ],
              rows.map((r) => [
                r.namespace,
                r.pvc,
                r.name,
                r.snapshot,
                r.time,
                r.age,
                r.size === undefined ? '' : formatBytes(r.size),
                r.added === undefined ? '' : formatBytes(r.added),
                r.files === undefined ? '' : String(r.files),
                r.method,
                verifiedMark(r.verified, now),
                ...(options.orphans === true ? [r.orphanGraceUntil ?? ''] : []),
              ]),
            ),
          );
      } finally {
        client.close();
      }
    });
}

/** A backup a restore drill proved: passed or FAILED, and how long ago; '' when no drill reached a verdict. */
function verifiedMark(verification: VolumeBackupStatus['verification'], now: Date): string {
  if (verification === undefined) return '';
  const when = age(verification.time, now);
  return `${verification.verdict === 'Passed' ? 'passed' : 'FAILED'}${when === undefined ? '' : ` ${when} ago`}`;
}

/** The method, and for a block volume's image whether it is full or an overlay (on which snapshot). */
function methodOf(status: VolumeBackupStatus | undefined): string {
  const method = status?.method ?? '';
  const block = status?.block;
  if (block === undefined) return method;
  const image = block.parent === undefined ? 'qcow2 full' : `qcow2 on ${block.parent.slice(0, 8)}`;
  return `${method}, ${image}`;
}
