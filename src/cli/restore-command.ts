// `safehold restore NS/PVC [--as-of T | --backup ID] [--to NAME] [--paths ...] [--wait]`:
// creates a VolumeRestore (the same object a tenant could write with kubectl)
// in the target's namespace and, with --wait, follows it with a progress bar
// over the bytes restored.
import type { Command } from 'commander';
import { snapshotIdOf, type VolumeRestore, type VolumeRestoreSpec } from '../api/index.ts';
import { formatBytes } from '../core/index.ts';
import { kinds } from '../kube/index.ts';
import { parseVolumeRef } from './backup-command.ts';
import type { CliDeps } from './program.ts';
import { followRun } from './follow-run.ts';
import { timeoutOption } from './wait-deadline.ts';

interface RestoreOptions {
  asOf?: string;
  backup?: string;
  to?: string;
  existing?: boolean;
  force?: boolean;
  keepExtraFiles?: boolean;
  keepUndoSnapshot?: string;
  paths?: string[];
  size?: string;
  storageClass?: string;
  snapshot: boolean;
  wait?: boolean;
  timeout: number;
}

export function addRestoreCommand(program: Command, deps: CliDeps): void {
  program
    .command('restore')
    .description("restore a volume's backup into a new PVC (or an existing one), creating a VolumeRestore")
    .argument('<namespace/pvc>', 'the backed-up volume, e.g. team-a/postgres-data (it may have been deleted)')
    .option('--as-of <time>', 'the newest backup captured at or before this time (RFC 3339)')
    .option('--backup <id>', 'a restic snapshot id (or prefix) or VolumeBackup name (default: the latest)')
    .option(
      '--to <[namespace/]pvc>',
      "the PVC to restore into (default: <pvc>-restored-<time> in the volume's namespace)",
    )
    .option('--existing', 'the --to PVC exists: restore into it (nothing may mount it, see --force)')
    .option('--force', 'with --existing: restore even while a Pod mounts it')
    .option('--keep-extra-files', 'with --existing: keep files the backup does not have')
    .option(
      '--keep-undo-snapshot <duration>',
      'with --existing: keep the VolumeSnapshot taken before the restore this long after it (default 24h); none: take none',
    )
    .option('--paths <paths...>', 'only these paths inside the volume, e.g. /etc/app.conf /data')
    .option('--size <quantity>', "size of the new PVC (default: the source volume's)")
    .option('--storage-class <name>', "StorageClass of the new PVC (default: the source's)")
    .option('--no-snapshot', "do not use the backup's kept VolumeSnapshot even when there is one")
    .option('--wait', 'follow the restore until it ends; exit 1 if it fails')
    .addOption(timeoutOption('with --wait: give up following the restore after this long', '6h'))
    .action(async (volume: string, options: RestoreOptions) => {
      const client = deps.connect(program.opts());
      try {
        const source = parseVolumeRef(volume, client.defaultNamespace);
        if (source === undefined) program.error(`error: "${volume}" is not NAMESPACE/PVC`, { exitCode: 2 });
        if (options.asOf !== undefined && options.backup !== undefined)
          program.error('error: give --as-of or --backup, not both', { exitCode: 2 });
        const stamp = deps.now().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
        const target =
          options.to === undefined
            ? { namespace: source.namespace, name: `${source.name.slice(0, 36)}-restored-${stamp}` }
            : parseVolumeRef(options.to, source.namespace);
        if (target === undefined)
          program.error(`error: --to "${options.to ?? ''}" is not [NAMESPACE/]PVC`, { exitCode: 2 });
        const spec: VolumeRestoreSpec = {
          source: {
            pvc: source.name,
            ...(source.namespace === target.namespace ? {} : { namespace: source.namespace }),
          },
          backup: options.backup ?? 'latest',
          ...(options.asOf === undefined ? {} : { asOf: options.asOf }),
          target: {
            pvc: target.name,
            ...(options.existing === true ? { existing: true } : {}),
            ...(options.force === true ? { force: true } : {}),
            ...(options.keepExtraFiles === true ? { keepExtraFiles: true } : {}),
            ...(options.keepUndoSnapshot === undefined ? {} : { keepUndoSnapshot: options.keepUndoSnapshot }),
            ...(options.size === undefined ? {} : { size: options.size }),
            ...(options.storageClass === undefined ? {} : { storageClassName: options.storageClass }),
          },
          paths: options.paths ?? [],
          useSnapshot: options.snapshot,
        };
        const created = await client.create<VolumeRestore>(kinds.volumeRestore, {
          metadata: { generateName: `${source.name.slice(0, 40)}-restore-`, namespace: target.namespace },
          spec,
        } as never);
        const name = created.metadata.name;
        deps.stdout(`volumerestore ${target.namespace}/${name} created: into PVC ${target.name}\n`);
        if (options.wait !== true) return;
        const final = await followRun(
          deps,
          `VolumeRestore ${target.namespace}/${name}`,
          options.timeout,
          () => client.get<VolumeRestore>(kinds.volumeRestore, { namespace: target.namespace, name }),
          restoreProgress,
          '{bar} {percentage}% {phase}: {message}',
        );
        const status = final.status ?? {};
        if (status.phase === 'Succeeded') {
          const from = status.backup;
          deps.stdout(
            `Succeeded: PVC ${target.namespace}/${target.name} holds ${from?.namespace ?? ''}/${from?.pvc ?? ''} as of ${from?.snapshotTime ?? '?'} (snapshot ${snapshotIdOf(from)?.slice(0, 8) ?? '?'}${status.method === 'snapshot' ? ', from its kept VolumeSnapshot' : `; ${status.files?.restored ?? 0} files, ${formatBytes(status.bytes?.restored ?? 0)}`})\n`,
          );
          const undo = status.undoSnapshot;
          if (undo?.name !== undefined)
            deps.stdout(
              `Undo: VolumeSnapshot ${target.namespace}/${undo.name} holds the PVC as it was before, until ${undo.expiresAt ?? '?'}\n`,
            );
          else if (undo?.none !== undefined) deps.stdout(`No undo snapshot: ${undo.none}\n`);
        } else {
          deps.stderr(`Failed: ${status.reason ?? ''}: ${status.message ?? ''}\n`);
          deps.setExitCode(1);
        }
      } finally {
        client.close();
      }
    });
}

/** Bytes and files restored while the mover runs; the status message otherwise. */
function restoreProgress(restore: VolumeRestore, phase: string): { percent: number; message: string } {
  const status = restore.status ?? {};
  const progress = status.progress;
  const message =
    progress === undefined || phase !== 'Running'
      ? (status.message ?? '')
      : `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.totalBytes)}, ${progress.filesDone} of ${progress.totalFiles} files`;
  return { percent: phase === 'Succeeded' ? 100 : Math.floor(progress?.percentDone ?? 0), message };
}
