// The restic commands of a repository's maintenance: snapshots, forget, prune,
// check and stats. What prune and forget say goes to the log as they say it;
// damage a check finds is a finding, not a failure of the command.
import { z } from 'zod';
import type { Checked, Pruned } from '../engine.ts';
import type { Failure, Outcome } from '../failure.ts';
import {
  affectedSnapshots,
  describeDamage,
  foundDamage,
  parseCheckSummary,
  snapshotsInFind,
  type CheckSummary,
} from './check-report.ts';
import { resticError, retryCannotHelp, type RepositoryNames } from './failure.ts';
import { parseJson, type ResticLine } from './output.ts';
import type { ResticExit } from './process.ts';
import { describePrune, parsePruneReport } from './prune-report.ts';
import type { ResticSteps } from './repository.ts';

interface Listening {
  /** Also told each line restic answers on stdout. */
  onAnswer?: (line: string) => void;
  onLine?: (line: ResticLine) => void;
  /** Put the answer in the log as well (prune and forget say what they do there). */
  logged?: boolean;
}

// `restic snapshots --json`: one array on one line; only the ids matter here.
const snapshotList = z.array(z.object({ id: z.string().regex(/^[0-9a-f]{64}$/) }));
const statsLine = z.object({ total_size: z.number() });

/** The full ids in `restic snapshots --json` output; undefined when it is not that. */
export function parseSnapshotIds(answer: string): string[] | undefined {
  return parseJson(answer, snapshotList)?.map((snapshot) => snapshot.id);
}

export function maintenanceCommands(steps: ResticSteps, names: RepositoryNames) {
  const failed = (exit: ResticExit): { ok: false; error: Failure } => ({ ok: false, error: resticError(exit, names) });
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

  return {
    async snapshotIds(): Promise<Outcome<string[]>> {
      const { exit, answer, succeeded } = await run(['snapshots', '--json']);
      if (!succeeded) return failed(exit);
      const ids = parseSnapshotIds(answer.join('\n'));
      if (ids === undefined) {
        const message = 'restic snapshots --json answered something other than a list of snapshots';
        return { ok: false, error: { type: 'error', code: 'EngineFailed', message } };
      }
      return { ok: true, value: ids };
    },

    async forget(ids: readonly string[]): Promise<Outcome<void>> {
      const { exit, succeeded } = await run(['forget', ...ids], { logged: true });
      return succeeded ? { ok: true, value: undefined } : failed(exit);
    },

    async prune(): Promise<Outcome<Pruned>> {
      const { exit, answer, succeeded } = await run(['prune'], { logged: true });
      if (!succeeded) return failed(exit);
      const report = parsePruneReport(answer);
      if (report === undefined) {
        steps.warn('restic prune ended without the summary the mover reads: how much it freed is not known');
        return { ok: true, value: { bytesFreed: 0, message: 'pruned; restic did not say how much it freed' } };
      }
      return { ok: true, value: { bytesFreed: report.total.bytes, message: describePrune(report) } };
    },

    async check(readDataSubset: string | undefined): Promise<Outcome<Checked>> {
      const subset = readDataSubset === undefined ? {} : { readDataSubset };
      const reading = readDataSubset === undefined ? [] : [`--read-data-subset=${readDataSubset}`];
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
      const damaged = { ok: false, ...subset, message: describeDamage(summary, findings) };
      const packs = summary?.brokenPackIds ?? [];
      if (packs.length === 0) return { ok: true, value: damaged };
      // Which backups the damage reaches: every snapshot with data in a damaged pack.
      const found = await run(['find', '--json', '--pack', ...packs], {});
      const located = found.succeeded
        ? affectedSnapshots(snapshotsInFind(found.answer.join('\n')))
        : { affectedUnknown: `restic find --pack failed (exit code ${found.exit.exitCode ?? 'none'})` };
      return {
        ok: true,
        value: { ...damaged, damagedPacks: packs.slice(0, 10).map((id) => id.slice(0, 16)), ...located },
      };
    },

    /** The stored size of the data the snapshots use; undefined (with a warning) when restic cannot tell. */
    async size(): Promise<number | undefined> {
      const { exit, answer, succeeded } = await run(['stats', '--mode', 'raw-data', '--json']);
      const total = answer.map((line) => parseJson(line, statsLine)?.total_size).find((bytes) => bytes !== undefined);
      if (succeeded && total !== undefined) return total;
      const why = succeeded ? 'it gave no total_size' : `it failed (exit code ${exit.exitCode ?? 'none'})`;
      steps.warn(`the repository's size is not known: restic stats ${why}`);
      return undefined;
    },
  };
}
