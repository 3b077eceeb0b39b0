// `safehold mover` from the build, timed, the way a mover Job's container runs
// it: the entry point's Node flags, the task and credentials in the
// environment, the result read back from the termination message.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { moverResult, type MoverResult } from '../src/api/index.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { repoRoot } from '../testenv/paths.ts';
import { entryNodeFlags } from './entry-flags.ts';

export async function timedMover(
  env: TestEnvironment,
  task: object,
  options: { credentials: Record<string, string>; scratch: string; extraEnv?: Record<string, string> },
): Promise<{ seconds: number; result: MoverResult }> {
  const termination = join(options.scratch, 'termination-log');
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    // As src/bin/safehold.ts's shebang runs it (ADR 0006).
    const child = spawn(process.execPath, [...entryNodeFlags(), join(repoRoot, 'dist/bin/safehold.js'), 'mover'], {
      env: {
        ...process.env,
        ...options.credentials,
        ...options.extraEnv,
        SAFEHOLD_TASK: JSON.stringify(task),
        SAFEHOLD_RESTIC: env.tools.restic,
        SAFEHOLD_TERMINATION_LOG: termination,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mover exited ${code ?? 'by a signal'}`))));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, result: moverResult.parse(JSON.parse(readFileSync(termination, 'utf8'))) };
}
