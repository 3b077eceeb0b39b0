// Time, CPU and peak memory of the processes a benchmark runs, as the kernel
// counts them: GNU time's %M (the largest resident set wait4 reports, KiB), %U
// and %S around each engine process. The mover is a Node process that starts
// restic several times: each restic runs under GNU time through a wrapper, and
// the Node process writes its own figures (VmHWM, its CPU time) as it exits,
// from a hook preloaded with NODE_OPTIONS (usage-hook.ts). Both live at once, so the
// mover's peak is Node's plus the largest restic's.
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type CommandOptions, type CommandResult } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { repoRoot } from '../testenv/paths.ts';
import { timedMover } from './mover-run.ts';
import type { MoverResult } from '../src/api/index.ts';

export interface Measured {
  seconds: number;
  /** User plus system CPU time of the step's processes. */
  cpuSeconds: number;
  /** Largest resident set of the step's processes, MiB (for the mover: Node's plus restic's). */
  peakMiB: number;
}

export interface MoverMeasured extends Measured {
  node: { cpuSeconds: number; peakMiB: number };
  restic: { cpuSeconds: number; peakMiB: number };
}

const gnuTime = '/usr/bin/time';
const format = '%M %U %S';

/** The runs GNU time appended to the file ("Command exited with ..." lines aside): the largest peak (KiB), CPU added. */
function timeReport(file: string): { peakKiB: number; cpuSeconds: number } {
  const runs = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^(\d+) ([\d.]+) ([\d.]+)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, kib, user, system]) => ({ kib: Number(kib), cpu: Number(user) + Number(system) }));
  if (runs.length === 0) throw new Error(`GNU time wrote no report to ${file}`);
  return {
    peakKiB: Math.max(...runs.map((r) => r.kib)),
    cpuSeconds: runs.reduce((sum, r) => sum + r.cpu, 0),
  };
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const tenths = (seconds: number) => Math.round(seconds * 10) / 10;

/** One command under GNU time: its figures, and what it printed. */
export async function measure(
  command: string,
  args: readonly string[],
  options: CommandOptions & { scratch: string },
): Promise<{ usage: Measured; output: CommandResult }> {
  const file = join(options.scratch, 'time-report');
  rmSync(file, { force: true });
  const started = process.hrtime.bigint();
  const output = await run(gnuTime, ['-f', format, '-o', file, command, ...args], {
    timeoutMs: 3_600_000,
    ...options,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const report = timeReport(file);
  return { usage: { seconds, cpuSeconds: tenths(report.cpuSeconds), peakMiB: mib(report.peakKiB) }, output };
}

/** Steps run one after another, counted as one: their times added, the largest peak. */
export function inSequence(...steps: Measured[]): Measured {
  return {
    seconds: steps.reduce((sum, s) => sum + s.seconds, 0),
    cpuSeconds: tenths(steps.reduce((sum, s) => sum + s.cpuSeconds, 0)),
    peakMiB: Math.max(...steps.map((s) => s.peakMiB)),
  };
}

/**
 * A restic for the mover that runs the real one under GNU time. GNU time does not pass on the
 * SIGTERM with which the mover stops a restic whose retries cannot help, so the script does. A
 * background job's stdin would be /dev/null: the script's own is handed on.
 */
function resticUnderTime(restic: string, report: string): string {
  return `#!/bin/sh
exec 3<&0
${gnuTime} -a -f '${format}' -o '${report}' '${restic}' "$@" <&3 3<&- &
timer=$!
trap 'pkill -TERM -P $timer' TERM
trap 'pkill -INT -P $timer' INT
while :; do
  wait $timer
  status=$?
  kill -0 $timer 2>/dev/null || exit $status
done
`;
}

/** The mover run as timedMover runs it, with the figures of its Node process and of the restic runs it started. */
export async function measureMover(
  env: TestEnvironment,
  task: object,
  options: { credentials: Record<string, string>; scratch: string },
): Promise<{ usage: MoverMeasured; result: MoverResult }> {
  const resticReport = join(options.scratch, 'restic-time-report');
  const nodeReport = join(options.scratch, 'node-usage.json');
  const wrapper = join(options.scratch, 'restic-under-time');
  writeFileSync(wrapper, resticUnderTime(env.tools.restic, resticReport));
  chmodSync(wrapper, 0o755);
  rmSync(resticReport, { force: true });
  rmSync(nodeReport, { force: true });
  const hook = join(repoRoot, 'bench', 'usage-hook.ts');
  const { seconds, result } = await timedMover({ ...env, tools: { ...env.tools, restic: wrapper } }, task, {
    ...options,
    extraEnv: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim(),
      SAFEHOLD_BENCH_USAGE_FILE: nodeReport,
    },
  });
  const node = JSON.parse(readFileSync(nodeReport, 'utf8')) as { peakKiB: number; cpuSeconds: number };
  const restic = timeReport(resticReport);
  const usage = {
    seconds,
    cpuSeconds: tenths(node.cpuSeconds + restic.cpuSeconds),
    peakMiB: mib(node.peakKiB + restic.peakKiB),
    node: { cpuSeconds: tenths(node.cpuSeconds), peakMiB: mib(node.peakKiB) },
    restic: { cpuSeconds: tenths(restic.cpuSeconds), peakMiB: mib(restic.peakKiB) },
  };
  return { usage, result };
}
