// Which hooks a backup attempt runs, and which one comes next: pure decisions
// over the policy's hooks, the Pods that mount the volume and the records the
// attempt has written to its status. The plan is fixed when the attempt
// starts (written to status.hooks), so Pods that come and go meanwhile change
// nothing, and a restarted operator carries on from the records.
import {
  durationMs,
  hook as hookSchema,
  hookAnnotationPrefixes,
  hookPresetAnnotation,
  hookPresetContainerAnnotation,
  hookPresets,
  hookStages,
  presetHook as presetHookSchema,
  type HookRecord,
  type HookStage,
  type PolicyHooks,
  type PresetHook,
} from '../api/index.ts';
import { presetCommands } from './hook-presets.ts';
import { matchesSelector } from './label-selector.ts';

/** A Pod that mounts the volume, as hooks need it. */
export interface HookPod {
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  containers: readonly string[];
  running: boolean;
}

export type HookPlan = { hooks: HookRecord[] } | { error: string };

/**
 * The hooks of one attempt: per running Pod that mounts the volume, the
 * policy's hooks that select it, then those its annotations declare
 * (Safehold's prefix, else Velero's), inside the pause of its presets (their
 * pre hooks first, their post hooks last). All pre hooks come before all post hooks.
 */
export function planHooks(policy: PolicyHooks | undefined, pods: readonly HookPod[]): HookPlan {
  const hooks: HookRecord[] = [];
  for (const stage of hookStages) {
    for (const pod of pods.filter((p) => p.running)) {
      // A preset's pause wraps the other hooks: its pre hook first, its post hook last.
      const presets = podPresets(policy, pod, stage);
      if ('error' in presets) return presets;
      if (stage === 'pre') hooks.push(...presets.hooks);
      for (const declared of policy?.[stage] ?? []) {
        if (declared.podSelector !== undefined && !matchesSelector(declared.podSelector, pod.labels)) continue;
        const container = declared.container ?? pod.containers[0];
        if (container === undefined || !pod.containers.includes(container))
          return {
            error: `Pod ${pod.name}: the policy's ${stage} hook names container "${container ?? ''}", which it does not have`,
          };
        hooks.push({
          stage,
          source: 'policy',
          pod: pod.name,
          container,
          command: declared.command,
          timeoutSeconds: durationMs(declared.timeout) / 1000,
          onError: declared.onError,
        });
      }
      const annotated = annotationHook(stage, pod);
      if ('error' in annotated) return annotated;
      if (annotated.hook !== undefined) hooks.push(annotated.hook);
      if (stage === 'post') hooks.push(...presets.hooks);
    }
  }
  return { hooks };
}

/** One stage of the presets a Pod gets: the policy's that select it, then its annotation's. */
function podPresets(
  policy: PolicyHooks | undefined,
  pod: HookPod,
  stage: HookStage,
): { hooks: HookRecord[] } | { error: string } {
  const hooks: HookRecord[] = [];
  for (const declared of policy?.presets ?? []) {
    if (declared.podSelector !== undefined && !matchesSelector(declared.podSelector, pod.labels)) continue;
    const container = declared.container ?? pod.containers[0];
    if (container === undefined || !pod.containers.includes(container))
      return {
        error: `Pod ${pod.name}: the policy's ${declared.preset} preset names container "${container ?? ''}", which it does not have`,
      };
    hooks.push(presetHook(stage, 'policy', pod.name, container, declared));
  }
  const named = pod.annotations[hookPresetAnnotation];
  if (named === undefined) return { hooks };
  const parsed = presetHookSchema.safeParse({ preset: named });
  if (!parsed.success)
    return {
      error: `Pod ${pod.name}: annotation ${hookPresetAnnotation} names "${named}"; the presets are ${hookPresets.join(', ')}`,
    };
  const container = pod.annotations[hookPresetContainerAnnotation] ?? pod.containers[0] ?? '';
  if (!pod.containers.includes(container))
    return {
      error: `Pod ${pod.name}: annotation ${hookPresetContainerAnnotation} names "${container}", which it does not have`,
    };
  hooks.push(presetHook(stage, 'hooks.safehold.io', pod.name, container, parsed.data));
  return { hooks };
}

function presetHook(
  stage: HookStage,
  source: string,
  pod: string,
  container: string,
  declared: PresetHook,
): HookRecord {
  return {
    stage,
    source,
    pod,
    container,
    command: presetCommands(declared.preset)[stage],
    preset: declared.preset,
    timeoutSeconds: durationMs(declared.timeout) / 1000,
    onError: declared.onError,
  };
}

function annotationHook(stage: HookStage, pod: HookPod): { hook?: HookRecord } | { error: string } {
  const prefix = hookAnnotationPrefixes[stage].find((p) => pod.annotations[`${p}/command`] !== undefined);
  if (prefix === undefined) return {};
  const key = (name: string) => `${prefix}/${name}`;
  const commandText = pod.annotations[key('command')] ?? '';
  // Velero's form: a JSON array, or one word.
  let command: unknown = [commandText];
  if (commandText.trim().startsWith('[')) {
    try {
      command = JSON.parse(commandText) as unknown;
    } catch {
      return { error: `Pod ${pod.name}: annotation ${key('command')} is not a JSON array of strings` };
    }
  }
  const container = pod.annotations[key('container')] ?? pod.containers[0] ?? '';
  const parsed = hookSchema.safeParse({
    command,
    container,
    timeout: pod.annotations[key('timeout')],
    onError: pod.annotations[key('on-error')],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = { command: 'command', container: 'container', timeout: 'timeout', onError: 'on-error' }[
      String(issue?.path[0] ?? 'command')
    ];
    return { error: `Pod ${pod.name}: annotation ${key(field ?? 'command')}: ${issue?.message ?? 'invalid'}` };
  }
  if (!pod.containers.includes(container))
    return { error: `Pod ${pod.name}: annotation ${key('container')} names "${container}", which it does not have` };
  return {
    hook: {
      stage,
      source: prefix,
      pod: pod.name,
      container,
      command: parsed.data.command,
      timeoutSeconds: durationMs(parsed.data.timeout) / 1000,
      onError: parsed.data.onError,
    },
  };
}

export type HookStep =
  /** Run hook `index` now (its start is recorded first). */
  | { kind: 'run-hook'; index: number }
  /** Record an outcome without running it: Unknown (it started, the operator lost it), or Skipped. */
  | { kind: 'record-hook'; index: number; outcome: 'Unknown' | 'Skipped'; message: string }
  /** A pre hook failed with onError Fail, and every post hook that should run has. */
  | { kind: 'hooks-failed'; message: string };

/**
 * The next hook step of an attempt, or undefined when hooks have nothing to
 * do now. captured: the volume's capture is over (the snapshot taken or
 * failed, the live copy finished): post hooks run then.
 */
export function nextHookStep(records: readonly HookRecord[] | undefined, captured: boolean): HookStep | undefined {
  const hooks = records ?? [];
  const lost = hooks.findIndex((h) => h.startTime !== undefined && h.outcome === undefined);
  if (lost >= 0)
    return {
      kind: 'record-hook',
      index: lost,
      outcome: 'Unknown',
      message: 'the operator restarted while it ran; it was not run again',
    };
  const failed = hooks.find((h) => h.stage === 'pre' && h.onError === 'Fail' && isFailure(h.outcome));
  if (failed === undefined && !captured) {
    const pre = hooks.findIndex((h) => h.stage === 'pre' && h.outcome === undefined);
    return pre < 0 ? undefined : { kind: 'run-hook', index: pre };
  }
  // After a failed pre hook, the pre hooks left are skipped; then the post hooks run.
  const skippedPre = hooks.findIndex((h) => h.stage === 'pre' && h.outcome === undefined);
  if (skippedPre >= 0)
    return { kind: 'record-hook', index: skippedPre, outcome: 'Skipped', message: 'an earlier pre hook failed' };
  const post = hooks.findIndex((h) => h.stage === 'post' && h.outcome === undefined);
  if (post >= 0) {
    const target = hooks[post] as HookRecord;
    // A post hook runs when a pre hook ran in its Pod, or when its Pod has none.
    const prePod = hooks.filter((h) => h.stage === 'pre' && h.pod === target.pod);
    if (prePod.length > 0 && prePod.every((h) => h.outcome === 'Skipped'))
      return { kind: 'record-hook', index: post, outcome: 'Skipped', message: 'no pre hook ran in its Pod' };
    return { kind: 'run-hook', index: post };
  }
  if (failed !== undefined) return { kind: 'hooks-failed', message: hookFailure(failed) };
  return undefined;
}

function isFailure(outcome: HookRecord['outcome']): boolean {
  return outcome === 'Failed' || outcome === 'TimedOut' || outcome === 'Unknown';
}

/** One line naming a hook and how it ended. */
export function hookFailure(h: HookRecord): string {
  const how =
    h.outcome === 'Failed' && h.exitCode !== undefined
      ? `exited ${h.exitCode}`
      : (h.message ?? (h.outcome ?? 'did not run').toLowerCase());
  const what = h.preset === undefined ? h.command.join(' ') : `the ${h.preset} preset`;
  return `${h.stage} hook in Pod ${h.pod}, container ${h.container} (${what}): ${how}`;
}

/** Another active backup of the same namespace, as hook overlap sees it. */
export interface OtherRun {
  name: string;
  pvc: string;
  /** Its status.hooks; undefined while its start is not visible yet, or when it planned none. */
  hooks: readonly HookRecord[] | undefined;
  /** It has started (Snapshotting or Running): an undefined plan then means it has no hooks. */
  started: boolean;
  /** The Pods that mount its volume. */
  mountedBy: readonly string[];
}

/**
 * Why this attempt may not start yet: a Pod whose hooks it would run is in the middle of another
 * run's hooks (a Pod mounting two volumes would be paused twice at once, and the second
 * fsfreeze or lock fails), or about to be (a run just admitted, whose plan is not visible yet).
 */
export function hooksBusy(plan: readonly HookRecord[], others: readonly OtherRun[]): string | undefined {
  const pods = new Set(plan.map((h) => h.pod));
  for (const other of others) {
    const shared = other.mountedBy.filter((pod) => pods.has(pod));
    if (shared.length === 0) continue;
    const inProgress =
      other.hooks === undefined
        ? !other.started
        : other.hooks.some((h) => shared.includes(h.pod) && h.outcome === undefined);
    if (inProgress)
      return `Pod ${shared[0] ?? ''} also mounts PVC ${other.pvc}, whose backup ${other.name} is running its hooks`;
  }
  return undefined;
}
