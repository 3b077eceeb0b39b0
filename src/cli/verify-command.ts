// `safehold verify NS/PVC [--backup B] [--wait]`: prove a volume's backup now.
// Creates a RestoreDrill (the same object a tenant could create with kubectl):
// the backup is restored into a scratch volume in Safehold's namespace and
// read back against what it recorded. With --wait, follows it to its verdict;
// exit 1 when the backup failed the drill, 3 when the drill could not tell.
import type { Command } from 'commander';
import { type DrillPhase, type RestoreDrill, type RestoreDrillSpec } from '../api/index.ts';
import { formatBytes } from '../core/index.ts';
import { kinds, type KubeObject } from '../kube/index.ts';
import { parseVolumeRef } from './backup-command.ts';
import { followRun } from './follow-run.ts';
import type { CliDeps } from './program.ts';
import { timeoutOption } from './wait-deadline.ts';

const phaseProgress: Record<DrillPhase, number> = { Pending: 5, Running: 50, Succeeded: 100, Failed: 100 };

export function addVerifyCommand(program: Command, deps: CliDeps): void {
  program
    .command('verify')
    .description("prove a volume's backup restores: a restore drill into a scratch volume (creates a RestoreDrill)")
    .argument('<namespace/pvc>', 'the volume, e.g. team-a/postgres-data')
    .option('--backup <backup>', '"latest", a snapshot id or a VolumeBackup name', 'latest')
    .option('--storage-class <name>', "the scratch volume's StorageClass (default: the policy's, else the volume's)")
    .option('--wait', 'follow the drill to its verdict; exit 1 if the backup failed it, 3 if it could not tell')
    .addOption(timeoutOption('with --wait: give up following the drill after this long', '6h'))
    .action(
      async (target: string, options: { backup: string; storageClass?: string; wait?: boolean; timeout: number }) => {
        const client = deps.connect(program.opts());
        try {
          const ref = parseVolumeRef(target, client.defaultNamespace);
          if (ref === undefined) program.error(`error: "${target}" is not NAMESPACE/PVC`, { exitCode: 2 });
          const spec: RestoreDrillSpec = {
            source: { pvc: ref.name },
            backup: options.backup,
            trigger: 'manual',
            ...(options.storageClass === undefined ? {} : { storageClassName: options.storageClass }),
          };
          const created = await client.create<KubeObject & { spec: RestoreDrillSpec }>(kinds.restoreDrill, {
            metadata: { generateName: `${ref.name.slice(0, 40)}-verify-`, namespace: ref.namespace },
            spec,
          });
          const name = created.metadata?.name ?? '';
          deps.stdout(`restoredrill ${ref.namespace}/${name} created\n`);
          if (options.wait !== true) return;
          const final = await followRun(
            deps,
            `RestoreDrill ${ref.namespace}/${name}`,
            options.timeout,
            () => client.get<RestoreDrill>(kinds.restoreDrill, { namespace: ref.namespace, name }),
            (drill, phase) => ({ percent: phaseProgress[phase as DrillPhase], message: drill.status?.message ?? '' }),
          );
          const status = final.status ?? {};
          const backup = status.backup?.name ?? '?';
          if (status.verdict === 'Passed') {
            const v = status.verified;
            deps.stdout(
              `Passed: backup ${backup} restores as recorded (${v?.files === undefined ? '' : `${v.files} files, `}${formatBytes(v?.bytes ?? 0)} read back in ${status.durationSeconds ?? '?'} s)\n`,
            );
          } else if (status.verdict === 'Failed') {
            deps.stderr(
              `Failed: backup ${backup} does not restore as recorded: ${status.reason ?? ''}: ${status.message ?? ''}\n`,
            );
            deps.setExitCode(1);
          } else {
            deps.stderr(`No verdict: the drill could not run: ${status.reason ?? ''}: ${status.message ?? ''}\n`);
            deps.setExitCode(3);
          }
        } finally {
          client.close();
        }
      },
    );
}
