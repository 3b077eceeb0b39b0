// restic as the mover's repository engine: one restic process per command,
// with the repository, cache, password and S3 keys in its environment, in UTC,
// and what it says in the mover's log. Each method is a file of this folder.
import type { RepositoryTarget } from '../../api/index.ts';
import type { EngineSettings, Repository, RepositoryEngine } from '../engine.ts';
import { folderBackupArgs, resticBackup, streamBackupArgs } from './backup.ts';
import { dumpFile, dumpStream } from './dump.ts';
import { maintenanceCommands } from './maintenance.ts';
import { lineForLog } from './output.ts';
import { runRestic, type Restic } from './process.ts';
import {
  openingOnFirstUse,
  prepareRepository,
  reachRepository,
  repositoryNames,
  type ResticSteps,
} from './repository.ts';
import { s3RepositoryObjects } from './repository-objects.ts';
import { resticRestore, restoresFolderItself } from './restore.ts';
import { findSnapshot, latestSnapshot, linkTargets, lookUp } from './snapshot-lookup.ts';

export const resticEngine: RepositoryEngine = {
  name: 'restic',
  open: (settings) => resticRepository(settings.repository, resticSteps(settings)),
};

/** The repository through restic; a failure names why a missing repository was not created once prepare said. */
export function resticRepository(target: RepositoryTarget, given: ResticSteps): Repository {
  let names = repositoryNames(target);
  // After a prepare onFirstUse, every command gets the repository ready itself when it must.
  let steps = given;
  const maintenance = () => maintenanceCommands(steps, names);
  return {
    prepare: async ({ create, notCreated, onFirstUse }) => {
      if (notCreated !== undefined) names = { ...names, notCreated };
      if (onFirstUse !== true) return prepareRepository({ ...target, initialize: create }, steps, names);
      const reached = await reachRepository(names, given);
      if ('type' in reached) return reached;
      names = reached;
      steps = { ...given, restic: openingOnFirstUse(create, names, given) };
      return undefined;
    },
    backupFolder: (backup, progress) => resticBackup(folderBackupArgs(backup), steps, names, progress),
    backupStream: (backup, progress) => resticBackup(streamBackupArgs(backup), steps, names, progress),
    restore: (restore, progress) => resticRestore(restore, steps, names, progress),
    restoresFolderItself,
    ls: (source, paths, options) => lookUp(steps, names, source, paths, options),
    linkTargets: (source, folder) => linkTargets(steps, names, source, folder),
    dumpFile: (dump) => dumpFile(steps, names, dump),
    dumpStream: (snapshotId, path, consume) => dumpStream(steps, snapshotId, path, consume),
    findSnapshot: (id, { named }) => findSnapshot(steps, names, id, named),
    latestSnapshot: (filter) => latestSnapshot(steps, names, filter),
    snapshotIds: () => maintenance().snapshotIds(),
    forget: (ids) => maintenance().forget(ids),
    prune: () => maintenance().prune(),
    check: (readDataSubset) => maintenance().check(readDataSubset),
    size: () => maintenance().size(),
  };
}

/** restic bound to one mover run: its program, environment and stop signal, its words in the log. */
export function resticSteps(settings: EngineSettings): ResticSteps {
  const env = resticEnv(settings);
  const restic: Restic = (args, options = {}) =>
    runRestic({
      binary: settings.binary,
      args,
      env,
      signal: settings.signal,
      timeoutMs: options.timeoutMs,
      openRetryLimitMs: options.openRetryLimitMs,
      stopWhen: options.stopWhen,
      onAnswer: options.onAnswer,
      onStdout: options.onStdout,
      onLine: (line) => {
        const said = lineForLog(line);
        if (said !== undefined) settings.log(`restic: ${said}`);
        options.onLine?.(line);
      },
    });
  return {
    restic,
    probe: settings.probe,
    openTimeoutMs: settings.openTimeoutMs,
    objects: s3RepositoryObjects({
      url: settings.repository.url,
      region: settings.repository.region,
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      now: settings.now,
    }),
    log: settings.log,
    warn: settings.warn,
  };
}

function resticEnv(settings: EngineSettings): Record<string, string> {
  const { accessKeyId, secretAccessKey, repository } = settings;
  const env: Record<string, string> = {
    ...settings.inheritedEnv,
    RESTIC_REPOSITORY: repository.url,
    RESTIC_CACHE_DIR: settings.cacheDir,
    // restic reads --time in local time, and its messages then show the times the API shows.
    TZ: 'UTC',
    RESTIC_PASSWORD: settings.password,
  };
  if (accessKeyId !== undefined) env.AWS_ACCESS_KEY_ID = accessKeyId;
  if (secretAccessKey !== undefined) env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
  if (repository.region !== undefined) env.AWS_DEFAULT_REGION = repository.region;
  return env;
}
