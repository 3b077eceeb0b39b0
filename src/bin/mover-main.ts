// What a mover Pod's `safehold mover`, `safehold image-stream PLAN` and `safehold dump-stream FIFO` do,
// loaded on its own (see safehold.ts): the task and the credentials from the
// environment the Job sets (moverEnv) go to the mover, and the exit code is 0
// when the task was carried out (a snapshot written, a maintenance run, even
// one whose check found damage: that is in its summary, a restore, or a
// download uploaded), 1 otherwise. The result is in the termination message either way.
import { appendFileSync, createReadStream } from 'node:fs';
import { moverEnv } from '../api/index.ts';
import { dumpStream, dumpStreamReason, inheritedEnvNames, runMover, streamImage } from '../mover/index.ts';

export async function moverMain(): Promise<number> {
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
        git: {
          username: env[moverEnv.gitUsername],
          password: env[moverEnv.gitPassword],
          sshKey: env[moverEnv.gitSshKey],
          knownHosts: env[moverEnv.gitKnownHosts],
        },
        bucket: {
          accessKeyId: env[moverEnv.bucketAccessKeyId],
          secretAccessKey: env[moverEnv.bucketSecretAccessKey],
        },
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
      stdin: () => process.stdin,
    },
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.off(signal, onSignal);
  return result.type === 'error' ? 1 : 0;
}

/** The volume a block backup plan names, as QCOW2 on stdout. */
export async function imageStreamMain(plan: string): Promise<void> {
  await streamImage(plan, process.stdout);
}

/**
 * An application dump, framed by the operator and passed on through a FIFO, as plain bytes on stdout: 0 only
 * when complete. Why it is not is also left beside the FIFO (dumpStreamReason), for the mover to report.
 */
export function dumpStreamMain(fifo: string): Promise<number> {
  return dumpStream(createReadStream(fifo), process.stdout, (line) => {
    process.stderr.write(`${line}\n`);
    appendFileSync(dumpStreamReason(fifo), `${line}\n`);
  });
}
