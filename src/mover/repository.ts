// Getting the repository ready for a backup, maintenance, a restore or a
// download: its endpoint answers, it exists (created when the task allows),
// and stale locks are gone. Each restic call
// here is short, so each gets a time limit: restic would otherwise retry a
// failing backend for 15 minutes before saying why.
import type { MoverError, BackupTask } from '../api/index.ts';
import type { ProbeResult } from './endpoint-probe.ts';
import { s3Endpoint } from './endpoint-probe.ts';
import {
  repositoryMissing,
  resticError,
  retryCannotHelp,
  stalledError,
  unreachableError,
  type RepositoryNames,
} from './restic-failure.ts';
import type { Restic, ResticExit } from './restic-process.ts';

export interface RepositorySteps {
  restic: Restic;
  probe: (endpoint: string) => Promise<ProbeResult>;
  /** The most one of cat config, init and unlock may take, retries included. */
  openTimeoutMs: number;
}

type RepositoryTarget = BackupTask['repository'];

export function repositoryNames(target: RepositoryTarget): RepositoryNames {
  return { url: target.url, endpoint: s3Endpoint(target.url), source: target.source };
}

/** undefined when the repository is ready, else why it is not. */
export async function prepareRepository(
  target: RepositoryTarget,
  steps: RepositorySteps,
  given: RepositoryNames = repositoryNames(target),
): Promise<MoverError | undefined> {
  let names = given;
  if (names.endpoint !== undefined) {
    const probe = await steps.probe(names.endpoint);
    if (!probe.reachable) {
      return probe.connected
        ? stalledError(names.endpoint, probe.reason)
        : unreachableError(names.endpoint, probe.reason, names.source);
    }
    names = { ...names, reached: true };
  }
  const limited = (args: string[]) =>
    steps.restic(['--json', ...args], { timeoutMs: steps.openTimeoutMs, stopWhen: retryCannotHelp });
  const failed = (exit: ResticExit) => resticError(exit, names, steps.openTimeoutMs);

  // unlock opens the repository as cat config does, failing with the same exit codes and words, so
  // only a task that may create the repository asks first (each restic start costs a key derivation).
  if (target.initialize) {
    const config = await limited(['cat', 'config']);
    if (config.exitCode !== 0 && repositoryMissing(config)) {
      const init = await limited(['init']);
      // Another mover may have created it in the meantime.
      if (init.exitCode !== 0 && !/already (exists|initialized)/i.test(init.messages.join('\n'))) return failed(init);
      const again = init.exitCode === 0 ? init : await limited(['cat', 'config']);
      if (again.exitCode !== 0) return failed(again);
    } else if (config.exitCode !== 0) {
      return failed(config);
    }
  }

  // Removes only locks restic knows to be stale; a live prune keeps its lock.
  const unlock = await limited(['unlock']);
  return unlock.exitCode === 0 ? undefined : failed(unlock);
}
