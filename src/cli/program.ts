// The `safehold` command line: one program, a subcommand per task. Commands
// receive what they need (the API connection, output, the clock) from src/bin.
import { Command } from 'commander';
import type { KubeClient } from '../kube/index.ts';
import { addBackupCommand } from './backup-command.ts';
import { addVerifyCommand } from './verify-command.ts';
import { addBackupsCommand } from './backups-command.ts';
import { addDumpCommand, addLsCommand } from './browse-commands.ts';
import { addRestoreCommand } from './restore-command.ts';
import { addRestoreBucketCommand } from './restore-bucket-command.ts';
import { addRestoreResourcesCommand } from './restore-resources-command.ts';
import { addRetentionCommand } from './retention-command.ts';
import { addStatusCommand } from './status-command.ts';

export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
}

export interface CliDeps {
  version: string;
  connect: (options: ConnectOptions) => KubeClient;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Bytes as they are (a dumped file), to stdout. */
  writeOut: (chunk: Uint8Array) => Promise<void>;
  now: () => Date;
  color: boolean;
  setExitCode: (code: number) => void;
}

export function buildProgram(deps: CliDeps): Command {
  const program = new Command('safehold')
    .description(
      'Safehold backs up the data in Kubernetes persistent volumes: it finds every PVC, decides which must be protected, snapshots them, moves the data into encrypted restic repositories on S3, and shows what is protected and what is not.',
    )
    .version(deps.version, '-v, --version', 'print the version of safehold')
    .option(
      '--kubeconfig <path>',
      'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)',
    )
    .option('--context <name>', 'kubeconfig context to use')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  addStatusCommand(program, deps);
  addBackupCommand(program, deps);
  addVerifyCommand(program, deps);
  addBackupsCommand(program, deps);
  addRetentionCommand(program, deps);
  addRestoreCommand(program, deps);
  addRestoreResourcesCommand(program, deps);
  addRestoreBucketCommand(program, deps);
  addLsCommand(program, deps);
  addDumpCommand(program, deps);
  return program;
}
