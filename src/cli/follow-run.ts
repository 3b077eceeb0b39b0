// `--wait` for a run (a backup, a restore): polls it until it ends or the
// timeout passes, showing a progress bar on a terminal and one line per change
// otherwise. Each command says how far a run has got; the following is shared.
import { SingleBar } from 'cli-progress';
import type { CliDeps } from './program.ts';
import { waitFor } from './wait-deadline.ts';

export interface FollowedRun {
  status?: { phase?: string; message?: string };
}

/** How far a run has got: a percentage for the bar and a line of text. */
export type RunProgress<R> = (run: R, phase: string) => { percent: number; message: string };

export async function followRun<R extends FollowedRun>(
  deps: CliDeps,
  what: string,
  timeoutMs: number,
  get: () => Promise<R>,
  progress: RunProgress<R>,
  barFormat = '{bar} {phase}: {message}',
): Promise<R> {
  const bar = deps.color ? new SingleBar({ format: barFormat, hideCursor: true, clearOnComplete: false }) : undefined;
  bar?.start(100, 0, { phase: 'Pending', message: '' });
  let last = '';
  try {
    return await waitFor({
      what,
      timeoutMs,
      intervalMs: 1000,
      nowMs: () => deps.now().getTime(),
      get,
      done: (run) => run.status?.phase === 'Succeeded' || run.status?.phase === 'Failed',
      describe: (run) =>
        `${run.status?.phase ?? 'Pending'}: ${run.status?.message ?? 'not started'}; it goes on in the cluster`,
      onUpdate: (run) => {
        const phase = run.status?.phase ?? 'Pending';
        const { percent, message } = progress(run, phase);
        if (bar !== undefined) bar.update(percent, { phase, message });
        else if (`${phase} ${message}` !== last) deps.stdout(`${phase}: ${message}\n`);
        last = `${phase} ${message}`;
      },
    });
  } finally {
    bar?.stop();
  }
}
