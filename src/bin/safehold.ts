#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `safehold` CLI: the only place that reads argv and env.
// The small young generation (see the line above, and ADR 0006) keeps the
// operator's resident memory near its live data instead of twice that.
// A mover Pod's commands load the mover alone: every backup starts this
// process (twice for a block volume), and the CLI's and the operator's modules
// would add a third of a second of CPU to each.
import { dumpStreamCommandName, imageStreamCommandName, moverCommandName } from '../mover/command-names.ts';

const [command, ...args] = process.argv.slice(2);
try {
  if (command === moverCommandName && args.length === 0) {
    const { moverMain } = await import('./mover-main.ts');
    process.exitCode = await moverMain();
  } else if (command === imageStreamCommandName && args.length === 1 && !args[0]?.startsWith('-')) {
    const { imageStreamMain } = await import('./mover-main.ts');
    await imageStreamMain(args[0] ?? '');
  } else if (command === dumpStreamCommandName && args.length === 1 && !args[0]?.startsWith('-')) {
    const { dumpStreamMain } = await import('./mover-main.ts');
    process.exitCode = await dumpStreamMain(args[0] ?? '');
  } else {
    const { cliMain } = await import('./cli-main.ts');
    await cliMain(process.argv);
  }
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
