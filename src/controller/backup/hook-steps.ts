// Carrying out a hook step of a backup attempt: the hook's start is written
// to the run's status before its command runs, and its outcome after, both
// against the status as the API has it (never the cache's copy), so a hook
// runs at most once per attempt even when the cache lags or the operator
// restarts; one that started and was lost is recorded Unknown, not run again.
import { timestamp, type HookRecord, type VolumeBackup } from '../../api/index.ts';
import { hookFailure, type RunStep } from '../../core/index.ts';
import { kinds, writeStatus } from '../../kube/index.ts';
import type { BackupDeps } from './backup-kind.ts';
import { event } from './write-back.ts';

type HookStepOf<K> = Extract<RunStep, { kind: K }>;

/** Writes a change to one hook's record if `applies` holds for the record the API has; says whether it did. */
async function updateHook(
  deps: BackupDeps,
  backup: VolumeBackup,
  index: number,
  applies: (record: HookRecord) => boolean,
  change: Partial<HookRecord>,
  message?: string,
): Promise<boolean> {
  let changed = false;
  await writeStatus<VolumeBackup>(
    deps.client,
    kinds.volumeBackup,
    { namespace: backup.metadata.namespace, name: backup.metadata.name },
    (current) => {
      const hooks = current.status?.hooks ?? [];
      const record = hooks[index];
      // Another attempt's plan, or a record that moved on since the cache was read.
      if (current.status?.attempt !== backup.status?.attempt || record === undefined || !applies(record))
        return undefined;
      changed = true;
      return {
        ...current.status,
        ...(message === undefined ? {} : { message }),
        hooks: hooks.map((h, i) => (i === index ? { ...h, ...change } : h)),
      };
    },
  );
  return changed;
}

export async function runHook(deps: BackupDeps, backup: VolumeBackup, step: HookStepOf<'run-hook'>): Promise<void> {
  const hook = backup.status?.hooks?.[step.index];
  if (hook === undefined) return;
  const started = deps.now();
  const claimed = await updateHook(
    deps,
    backup,
    step.index,
    (h) => h.startTime === undefined && h.outcome === undefined,
    { startTime: timestamp(started) },
    `attempt ${backup.status?.attempt ?? 1}: running the ${hook.stage} hook in Pod ${hook.pod}, container ${hook.container}`,
  );
  if (!claimed) return;
  const result = await deps.client.exec({
    namespace: backup.metadata.namespace,
    pod: hook.pod,
    container: hook.container,
    command: hook.command,
    timeoutMs: hook.timeoutSeconds * 1000,
    keepBytes: 1024,
  });
  const outcome = result.timedOut ? 'TimedOut' : result.exitCode === 0 ? 'Succeeded' : 'Failed';
  const output = [result.stdout.trimEnd(), result.stderr.trimEnd()].filter((t) => t !== '').join('\n');
  const record: HookRecord = {
    ...hook,
    startTime: timestamp(started),
    completionTime: timestamp(deps.now()),
    outcome,
    ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }),
    ...(result.error === undefined ? {} : { message: result.error }),
    ...(output === '' ? {} : { output }),
  };
  await updateHook(deps, backup, step.index, (h) => h.outcome === undefined, record);
  const seconds = ((deps.now().getTime() - started.getTime()) / 1000).toFixed(1);
  if (outcome === 'Succeeded')
    await event(
      deps,
      backup,
      'Normal',
      'HookSucceeded',
      `${hook.stage} hook in Pod ${hook.pod}, container ${hook.container} (${hook.command.join(' ')}): exited 0 in ${seconds} s`,
    );
  else
    await event(
      deps,
      backup,
      'Warning',
      'HookFailed',
      `${hookFailure(record)} after ${seconds} s${hook.onError === 'Continue' ? ' (onError: Continue)' : ''}`,
    );
}

export async function recordHook(
  deps: BackupDeps,
  backup: VolumeBackup,
  step: HookStepOf<'record-hook'>,
): Promise<void> {
  const applies =
    step.outcome === 'Unknown'
      ? (h: HookRecord) => h.startTime !== undefined && h.outcome === undefined
      : (h: HookRecord) => h.startTime === undefined && h.outcome === undefined;
  const recorded = await updateHook(deps, backup, step.index, applies, {
    outcome: step.outcome,
    message: step.message,
    completionTime: timestamp(deps.now()),
  });
  const hook = backup.status?.hooks?.[step.index];
  if (recorded && step.outcome === 'Unknown' && hook !== undefined)
    await event(
      deps,
      backup,
      'Warning',
      'HookFailed',
      hookFailure({ ...hook, outcome: 'Unknown', message: step.message }),
    );
}
