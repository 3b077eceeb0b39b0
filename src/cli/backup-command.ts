// `safehold backup NS/PVC [--wait]`: back a volume up now. Creates a
// VolumeBackup (the same object a tenant could create with kubectl) and, with
// --wait, follows it to the end with a progress bar over its phases.
import type { Command } from 'commander';
import { snapshotIdOf, type BackupPhase, type VolumeBackup, type VolumeBackupSpec } from '../api/index.ts';
import { formatBytes } from '../core/index.ts';
import { kinds, type KubeObject } from '../kube/index.ts';
import type { CliDeps } from './program.ts';
import { followRun } from './follow-run.ts';
import { timeoutOption } from './wait-deadline.ts';

const phaseProgress: Record<BackupPhase, number> = {
  Pending: 5,
  Snapshotting: 25,
  Running: 60,
  Succeeded: 100,
  Failed: 100,
};

export function parseVolumeRef(
  text: string,
  defaultNamespace: string,
): { namespace: string; name: string } | undefined {
  const parts = text.split('/');
  if (parts.length === 1 && parts[0] !== '') return { namespace: defaultNamespace, name: parts[0] as string };
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '')
    return { namespace: parts[0] as string, name: parts[1] as string };
  return undefined;
}

export function addBackupCommand(program: Command, deps: CliDeps): void {
  program
    .command('backup')
    .description('back up a PVC now (creates a VolumeBackup)')
    .argument('<namespace/pvc>', 'the volume, e.g. team-a/postgres-data')
    .option('--policy <name>', 'the BackupPolicy to use (default: the one that protects the PVC)')
    .option('--wait', 'follow the backup until it ends; exit 1 if it fails')
    .addOption(timeoutOption('with --wait: give up following the backup after this long', '6h'))
    .action(async (target: string, options: { policy?: string; wait?: boolean; timeout: number }) => {
      const client = deps.connect(program.opts());
      try {
        const ref = parseVolumeRef(target, client.defaultNamespace);
        if (ref === undefined) program.error(`error: "${target}" is not NAMESPACE/PVC`, { exitCode: 2 });
        const spec: VolumeBackupSpec = {
          pvc: ref.name,
          trigger: 'manual',
          ...(options.policy === undefined ? {} : { policy: options.policy }),
        };
        const created = await client.create<KubeObject & { spec: VolumeBackupSpec }>(kinds.volumeBackup, {
          metadata: { generateName: `${ref.name.slice(0, 40)}-manual-`, namespace: ref.namespace },
          spec,
        });
        const name = created.metadata?.name ?? '';
        deps.stdout(`volumebackup ${ref.namespace}/${name} created\n`);
        if (options.wait !== true) return;
        const final = await followRun(
          deps,
          `VolumeBackup ${ref.namespace}/${name}`,
          options.timeout,
          () => client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ref.namespace, name }),
          (backup, phase) => ({
            percent: phaseProgress[phase as BackupPhase],
            message: backup.status?.message ?? '',
          }),
        );
        const status = final.status ?? {};
        if (status.phase === 'Succeeded') {
          deps.stdout(
            `Succeeded: snapshot ${snapshotIdOf(status) ?? '?'}; ${status.files?.total ?? 0} files, ${formatBytes(status.bytes?.total ?? 0)} read, ${formatBytes(status.bytes?.added ?? 0)} added\n`,
          );
        } else {
          deps.stderr(`Failed: ${status.reason ?? ''}: ${status.message ?? ''}\n`);
          deps.setExitCode(1);
        }
      } finally {
        client.close();
      }
    });
}
