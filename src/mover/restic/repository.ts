// Getting the repository ready for a backup, maintenance, a restore or a
// download: its endpoint answers, it exists (created when the task allows),
// and stale locks are gone. Each restic call
// here is short, so each gets a time limit: restic would otherwise retry a
// failing backend for 15 minutes before saying why.
import type { RepositoryTarget } from '../../api/index.ts';
import type { ProbeResult } from '../endpoint-probe.ts';
import { s3Endpoint } from '../endpoint-probe.ts';
import type { Failure } from '../failure.ts';
import type { RepositoryObjects } from './repository-objects.ts';
import {
  incompleteError,
  keysWithoutConfig,
  repositoryMissing,
  resticError,
  retryCannotHelp,
  stalledError,
  unreachableError,
  type RepositoryNames,
} from './failure.ts';
import type { Restic, ResticExit } from './process.ts';
import { notReadyExit } from './process.ts';

/** What the restic engine works with: restic bound to one mover run, and the mover's means around it. */
export interface ResticSteps {
  restic: Restic;
  probe: (endpoint: string) => Promise<ProbeResult>;
  /** The most one of cat config, init and unlock may take, retries included. */
  openTimeoutMs: number;
  /** The repository's objects, to clear what an interrupted init left (S3 repositories only). */
  objects?: RepositoryObjects | undefined;
  /** A line for people reading the mover's log. */
  log: (text: string) => void;
  warn: (text: string) => void;
}

export function repositoryNames(target: RepositoryTarget): RepositoryNames {
  return { url: target.url, endpoint: s3Endpoint(target.url), source: target.source };
}

/** The names with the endpoint reached, or why it cannot be: a quick look before restic spends minutes retrying. */
export async function reachRepository(names: RepositoryNames, steps: ResticSteps): Promise<RepositoryNames | Failure> {
  if (names.endpoint === undefined) return names;
  const probe = await steps.probe(names.endpoint);
  if (probe.reachable) return { ...names, reached: true };
  return probe.connected
    ? stalledError(names.endpoint, probe.reason)
    : unreachableError(names.endpoint, probe.reason, names.source);
}

/** undefined when the repository is ready, else why it is not. */
export async function prepareRepository(
  target: RepositoryTarget,
  steps: ResticSteps,
  given: RepositoryNames = repositoryNames(target),
): Promise<Failure | undefined> {
  const names = await reachRepository(given, steps);
  if ('type' in names) return names;
  const limited = limitedRestic(steps);
  const failed = (exit: ResticExit) => resticError(exit, names, steps.openTimeoutMs);

  // unlock opens the repository as cat config does, failing with the same exit codes and words, so
  // only a task that may create the repository asks first (each restic start costs a key derivation).
  if (target.initialize) {
    const config = await limited(['cat', 'config']);
    if (config.exitCode !== 0 && repositoryMissing(config)) {
      const notCreated = await createRepository(names, steps);
      if (notCreated !== undefined) return notCreated;
    } else if (config.exitCode !== 0) {
      return failed(config);
    }
  }

  // Removes only locks restic knows to be stale; a live prune keeps its lock.
  const unlock = await limited(['unlock']);
  return unlock.exitCode === 0 ? undefined : failed(unlock);
}

/**
 * restic for a task whose first command opens the repository itself (the endpoint already
 * reached): when that command finds no repository and `create` allows, the repository is created
 * and the command runs again; when it finds the repository locked, `restic unlock` removes what is
 * stale and the command runs again. Each happens at most once per mover run, shared by commands
 * that run side by side. A backup saves the two restic starts (a key derivation each) that asking
 * first costs; restic fails at once, before reading anything, on a missing or locked repository.
 */
export function openingOnFirstUse(create: boolean, names: RepositoryNames, steps: ResticSteps): Restic {
  const limited = limitedRestic(steps);
  let created: Promise<Failure | undefined> | undefined;
  let unlocked: Promise<Failure | undefined> | undefined;
  const unlock = async (): Promise<Failure | undefined> => {
    const exit = await limited(['unlock']);
    return exit.exitCode === 0 ? undefined : resticError(exit, names, steps.openTimeoutMs);
  };
  return async (args, options) => {
    const run = async () => {
      const limit = options?.timeoutMs === undefined ? steps.openTimeoutMs : undefined;
      const exit = await steps.restic(args, { stopWhen: retryCannotHelp, openRetryLimitMs: limit, ...options });
      // Retrying past the limit before it opened: as prepare's opening commands say it.
      const gaveUp = limit !== undefined && exit.stopped === 'timeout';
      return gaveUp ? notReadyExit(resticError(exit, names, limit)) : exit;
    };
    let exit = await run();
    if (create && exit.exitCode !== 0 && repositoryMissing(exit)) {
      created ??= createRepository(names, steps);
      const failure = await created;
      if (failure !== undefined) return notReadyExit(failure);
      exit = await run();
    }
    if (exit.exitCode === lockedExitCode) {
      unlocked ??= unlock();
      const failure = await unlocked;
      if (failure !== undefined) return notReadyExit(failure);
      exit = await run();
    }
    return exit;
  };
}

/** restic's exit code for a repository locked by another process (0.17+). */
const lockedExitCode = 11;

/** Creates the repository; undefined when it exists afterwards (another mover may have made it meanwhile). */
async function createRepository(names: RepositoryNames, steps: ResticSteps): Promise<Failure | undefined> {
  const limited = limitedRestic(steps);
  const failed = (exit: ResticExit) => resticError(exit, names, steps.openTimeoutMs);
  let init = await limited(['init']);
  if (init.exitCode !== 0 && keysWithoutConfig(init.messages)) {
    const notRepaired = await clearInterruptedInit(names.url, steps);
    if (notRepaired !== undefined) return notRepaired;
    init = await limited(['init']);
  }
  // Another mover may have created it in the meantime.
  if (init.exitCode !== 0 && !/already (exists|initialized)/i.test(init.messages.join('\n'))) return failed(init);
  const again = init.exitCode === 0 ? init : await limited(['cat', 'config']);
  return again.exitCode === 0 ? undefined : failed(again);
}

/** restic for the short commands that open a repository: a time limit, and no retrying what retrying cannot fix. */
function limitedRestic(steps: ResticSteps): (args: string[]) => Promise<ResticExit> {
  return (args) => steps.restic(['--json', ...args], { timeoutMs: steps.openTimeoutMs, stopWhen: retryCannotHelp });
}

/**
 * A repository with keys but no config, where a backup may create one: when it holds nothing else
 * (no snapshots, index or data), the keys are what an interrupted init left, and removing them lets
 * init run again. Two backups never create one repository at once (the controller lets the first
 * go alone), so no init is under way beside this one. Otherwise: why not, and the exact fix.
 */
async function clearInterruptedInit(url: string, steps: ResticSteps): Promise<Failure | undefined> {
  const objects = steps.objects;
  if (objects === undefined) return incompleteError(url);
  try {
    for (const folder of ['snapshots', 'index', 'data']) {
      if ((await objects.list(folder, 1)).length > 0)
        return incompleteError(url, `it holds ${folder}/, so Safehold left it as it is`);
    }
    const keys = await objects.list('keys', 1000);
    for (const key of keys) await objects.remove(key);
    steps.warn(
      `removed ${keys.length} key(s) an interrupted restic init left in ${url} (no config, no backups): creating the repository again`,
    );
    return undefined;
  } catch (error) {
    return incompleteError(
      url,
      `Safehold could not clear it: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
