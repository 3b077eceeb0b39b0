// `safehold mover`: what a mover Job's container runs. Reads the task and the
// credentials from the environment the Job sets (moverEnv), hands them to the
// mover, and exits 0 when the task was carried out (a snapshot written, a
// maintenance run, even one whose check found damage: that is in its summary,
// a restore, or a download uploaded), 1 otherwise. The result is in the termination message either way.
import type { Command } from 'commander';
import { moverEnv } from '../api/index.ts';
import { imageStreamCommandName, inheritedEnvNames, runMover, streamImage } from '../mover/index.ts';

export function addMoverCommand(program: Command): void {
  program
    .command('mover')
    .description(
      `run inside a mover Job: execute the task in $${moverEnv.task} with restic, print progress as JSON lines, leave the result in the termination message`,
    )
    .action(async () => {
      const env = process.env;
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, onSignal);
      const result = await runMover(
        {
          task: env[moverEnv.task],
          credentials: {
            password: env[moverEnv.resticPassword],
            accessKeyId: env[moverEnv.accessKeyId],
            secretAccessKey: env[moverEnv.secretAccessKey],
            uploadUrl: env[moverEnv.uploadUrl],
            cephKey: env[moverEnv.cephKey],
          },
          // With this process's Node flags (the entry point's --max-semi-space-size, ADR 0006).
          selfCommand: [process.execPath, ...process.execArgv, process.argv[1] ?? 'safehold'],
          inheritedEnv: Object.fromEntries(
            inheritedEnvNames.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]])),
          ),
          engineBinary: env.SAFEHOLD_RESTIC ?? 'restic',
          terminationMessagePath: env.SAFEHOLD_TERMINATION_LOG ?? '/dev/termination-log',
        },
        {
          stdout: (text) => process.stdout.write(text),
          stderr: (text) => process.stderr.write(text),
          nowMs: () => Date.now(),
          signal: stop.signal,
        },
      );
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.off(signal, onSignal);
      process.exitCode = result.type === 'error' ? 1 : 0;
    });
  // What restic runs for a block backup (--stdin-from-command): the volume as QCOW2 on stdout.
  program
    .command(`${imageStreamCommandName} <plan>`, { hidden: true })
    .description('write the volume a block backup plan names to stdout as a QCOW2 image')
    .action(async (plan: string) => {
      await streamImage(plan, process.stdout);
    });
}
