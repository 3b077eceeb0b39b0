// The `safehold` command line: one program, a subcommand per task. Commands
// receive what they need (the API connection, output streams) from src/bin.
import { Command } from 'commander';

export interface ProgramInfo {
  version: string;
}

export function buildProgram(info: ProgramInfo): Command {
  const program = new Command('safehold')
    .description(
      'Safehold backs up the data in Kubernetes persistent volumes: it finds every PVC, decides which must be protected, snapshots them, moves the data into encrypted restic repositories on S3, and shows what is protected and what is not.',
    )
    .version(info.version, '-v, --version', 'print the version of safehold')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  return program;
}
