// One maintenance task, in the order restic needs: open the repository (never
// create it: maintenance of a repository that is not there is a mistake to
// report), remove stale locks, forget the snapshots the controller names,
// prune, check, then count what is left. Every step can be run again after a
// crash: snapshots already forgotten count as done, and prune and check start
// over. Damage a check finds is part of the summary, not a failure of the mover.
import { z } from 'zod';
import type { MaintenanceSummary, MaintenanceTask, MoverError, MoverResult } from '../api/index.ts';
import { describeDamage, foundDamage, parseCheckSummary, type CheckSummary } from './restic/check-report.ts';
import { parseSnapshotIds, planForget } from './forget-plan.ts';
import { describePrune, parsePruneReport } from './restic/prune-report.ts';
import { prepareRepository, repositoryNames, type RepositorySteps } from './restic/repository.ts';
import { resticError, retryCannotHelp, type RepositoryNames } from './restic/failure.ts';
import type { ResticLine } from './restic/output.ts';
import type { ResticExit } from './restic/process.ts';

export interface MaintenanceSteps extends RepositorySteps {
  nowMs: () => number;
  /** A line for people reading the mover's log: what maintenance does, and what prune and forget say. */
  log: (text: string) => void;
  warn: (text: string) => void;
}

type Step<T> = { ok: true; value: T } | { ok: false; error: MoverError };
type Forgot = Pick<MaintenanceSummary, 'forgotten' | 'alreadyGone'>;
type Pruned = NonNullable<MaintenanceSummary['prune']>;
type Checked = NonNullable<MaintenanceSummary['check']>;

export async function runMaintenance(task: MaintenanceTask, steps: MaintenanceSteps): Promise<MoverResult> {
  const started = steps.nowMs();
  const names: RepositoryNames = {
    ...repositoryNames(task.repository),
    notCreated: 'maintenance never creates one: check the URL (the first backup creates the repository)',
  };
  const notReady = await prepareRepository({ ...task.repository, initialize: false }, steps, names);
  if (notReady !== undefined) return notReady;
  const restic = maintenanceCommands(steps, names);

  const forgot: Step<Forgot> =
    task.forget.length === 0 ? { ok: true, value: { forgotten: 0, alreadyGone: 0 } } : await restic.forget(task.forget);
  if (!forgot.ok) return forgot.error;
  const pruned = task.prune ? await restic.prune() : undefined;
  if (pruned?.ok === false) return pruned.error;
  const checked = task.check === undefined ? undefined : await restic.check(task.check.readDataSubset);
  if (checked?.ok === false) return checked.error;
  const left = await restic.snapshots();
  if (!left.ok) return left.error;
  const size = await restic.size();

  return {
    type: 'maintenance',
    ...forgot.value,
    ...(pruned === undefined ? {} : { prune: pruned.value }),
    ...(checked === undefined ? {} : { check: checked.value }),
    snapshots: left.value.length,
    ...(size === undefined ? {} : { repositoryBytes: size }),
    durationSeconds: (steps.nowMs() - started) / 1000,
  } satisfies MaintenanceSummary;
}

interface Listening {
  /** Also told each line restic answers on stdout. */
  onAnswer?: (line: string) => void;
  onLine?: (line: ResticLine) => void;
  /** Put the answer in the log as well (prune and forget say what they do there). */
  logged?: boolean;
}

function maintenanceCommands(steps: MaintenanceSteps, names: RepositoryNames) {
  const failed = (exit: ResticExit): { ok: false; error: MoverError } => ({
    ok: false,
    error: resticError(exit, names),
  });
  const invalid = (code: MoverError['code'], message: string): { ok: false; error: MoverError } => ({
    ok: false,
    error: { type: 'error', code, message },
  });
  const run = async (args: string[], listening: Listening = {}) => {
    const answer: string[] = [];
    const exit = await steps.restic(args, {
      stopWhen: retryCannotHelp,
      onLine: listening.onLine,
      onAnswer: (line) => {
        answer.push(line);
        listening.onAnswer?.(line);
        if (listening.logged === true) steps.log(`restic: ${line.trim()}`);
      },
    });
    const succeeded = exit.exitCode === 0 && exit.stopped === undefined;
    return { exit, answer, succeeded };
  };

  const snapshots = async (): Promise<Step<string[]>> => {
    const { exit, answer, succeeded } = await run(['snapshots', '--json']);
    if (!succeeded) return failed(exit);
    const ids = parseSnapshotIds(answer.join('\n'));
    if (ids === undefined)
      return invalid('ResticFailed', 'restic snapshots --json answered something other than a list of snapshots');
    return { ok: true, value: ids };
  };

  return {
    snapshots,

    async forget(named: readonly string[]): Promise<Step<Forgot>> {
      const existing = await snapshots();
      if (!existing.ok) return existing;
      const plan = planForget(named, existing.value);
      if (!plan.ok) {
        const which = plan.ambiguous.map((a) => `${a.name} fits ${a.matches} snapshots`).join(', ');
        return invalid('InvalidTask', `forgot nothing: ${which}; the task must name each snapshot by a longer id`);
      }
      const short = (ids: readonly string[]) => ids.map((id) => id.slice(0, 8)).join(', ');
      const gone = plan.gone.length === 0 ? '' : `; already gone: ${short(plan.gone)}`;
      steps.log(
        `forgetting ${plan.present.length} snapshots${plan.present.length === 0 ? '' : ` (${short(plan.present)})`}${gone}`,
      );
      if (plan.present.length > 0) {
        // Full ids: a prefix restic resolves itself could by then fit a newer snapshot.
        const { exit, succeeded } = await run(['forget', ...plan.present], { logged: true });
        if (!succeeded) return failed(exit);
      }
      return { ok: true, value: { forgotten: plan.present.length, alreadyGone: plan.gone.length } };
    },

    async prune(): Promise<Step<Pruned>> {
      steps.log('pruning: removing the data no snapshot uses');
      const { exit, answer, succeeded } = await run(['prune'], { logged: true });
      if (!succeeded) return failed(exit);
      const report = parsePruneReport(answer);
      if (report === undefined) {
        steps.warn('restic prune ended without the summary the mover reads: how much it freed is not known');
        return { ok: true, value: { bytesFreed: 0, message: 'pruned; restic did not say how much it freed' } };
      }
      return { ok: true, value: { bytesFreed: report.total.bytes, message: describePrune(report) } };
    },

    async check(readDataSubset: string | undefined): Promise<Step<Checked>> {
      const subset = readDataSubset === undefined ? {} : { readDataSubset };
      const reading = readDataSubset === undefined ? [] : [`--read-data-subset=${readDataSubset}`];
      steps.log(
        `checking the repository${readDataSubset === undefined ? '' : `, reading ${readDataSubset} of the data`}`,
      );
      const findings: string[] = [];
      let summary: CheckSummary | undefined;
      const { exit, succeeded } = await run(['check', '--json', ...reading], {
        onAnswer: (line) => {
          summary ??= parseCheckSummary(line);
        },
        onLine: (line) => {
          if (line.kind === 'error') findings.push(line.message);
        },
      });
      if (succeeded) return { ok: true, value: { ok: true, ...subset, message: 'no errors were found' } };
      // Exit code 1 after a summary with errors is damage found; anything else kept check from running.
      if (exit.stopped !== undefined || exit.exitCode !== 1 || !foundDamage(summary, exit.messages))
        return failed(exit);
      return { ok: true, value: { ok: false, ...subset, message: describeDamage(summary, findings) } };
    },

    /** The stored size of the data the snapshots use; undefined (with a warning) when restic cannot tell. */
    async size(): Promise<number | undefined> {
      const { exit, answer, succeeded } = await run(['stats', '--mode', 'raw-data', '--json']);
      const total = answer.map(parseStatsTotal).find((bytes) => bytes !== undefined);
      if (succeeded && total !== undefined) return total;
      const why = succeeded ? 'it gave no total_size' : `it failed (exit code ${exit.exitCode ?? 'none'})`;
      steps.warn(`the repository's size is not known: restic stats ${why}`);
      return undefined;
    },
  };
}

const statsLine = z.object({ total_size: z.number() });

function parseStatsTotal(line: string): number | undefined {
  try {
    const parsed = statsLine.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data.total_size : undefined;
  } catch {
    return undefined;
  }
}
