// `safehold mover` and the hidden `safehold image-stream PLAN` as the CLI
// lists them. A mover Pod's process takes the shorter way in safehold.ts; both
// run mover-main.ts.
import type { Command } from 'commander';
import { moverEnv } from '../api/index.ts';
import { imageStreamCommandName, moverCommandName } from '../mover/command-names.ts';

export function addMoverCommand(program: Command): void {
  program
    .command(moverCommandName)
    .description(
      `run inside a mover Job: execute the task in $${moverEnv.task} with restic, print progress as JSON lines, leave the result in the termination message`,
    )
    .action(async () => {
      const { moverMain } = await import('./mover-main.ts');
      process.exitCode = await moverMain();
    });
  // What restic runs for a block backup (--stdin-from-command): the volume as QCOW2 on stdout.
  program
    .command(`${imageStreamCommandName} <plan>`, { hidden: true })
    .description('write the volume a block backup plan names to stdout as a QCOW2 image')
    .action(async (plan: string) => {
      const { imageStreamMain } = await import('./mover-main.ts');
      await imageStreamMain(plan);
    });
}
