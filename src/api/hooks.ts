// Hooks: commands Safehold runs in the containers of the Pods that mount a
// volume, around its capture. Pre hooks before the snapshot (or the live
// copy), post hooks as soon as it is taken, so an application is paused for
// seconds. Declared on a BackupPolicy, or on the Pod by annotations (its
// tenant's way); Velero's hook annotations are read as aliases.
import { z } from 'zod';
import { duration } from './duration.ts';
import { labelSelector } from './label-selector.ts';

export const hookStages = ['pre', 'post'] as const;
export type HookStage = (typeof hookStages)[number];

export const hookOnError = ['Fail', 'Continue'] as const;
export type HookOnError = (typeof hookOnError)[number];

export const hookOutcomes = ['Succeeded', 'Failed', 'TimedOut', 'Unknown', 'Skipped'] as const;
export type HookOutcome = (typeof hookOutcomes)[number];

/** Ready-made pairs of hooks (src/core/hook-presets.ts). */
export const hookPresets = ['postgresql', 'mysql'] as const;
export type HookPreset = (typeof hookPresets)[number];

export const hook = z.object({
  podSelector: labelSelector
    .optional()
    .describe('Only Pods with these labels (of those that mount the volume); every such Pod when left out.'),
  container: z.string().min(1).optional().describe("The container to run in; the Pod's first when left out."),
  command: z.array(z.string()).min(1).describe('The command and its arguments (no shell unless you name one).'),
  timeout: duration
    .default('30s')
    .describe(
      'How long to wait for it; a command still running then counts as failed (Kubernetes cannot stop it: it may go on in the container).',
    ),
  onError: z
    .enum(hookOnError)
    .default('Fail')
    .describe('Fail: a failing pre hook fails the attempt (post hooks still run); Continue: note it and go on.'),
});
export type Hook = z.infer<typeof hook>;

export const presetHook = z.object({
  preset: z
    .enum(hookPresets)
    .describe(
      "postgresql: CHECKPOINT, then a session that holds a SHARE lock on every table of the database (reads go on, writes wait) from before the snapshot until right after it, 10 minutes at most. It runs psql in the container as PGUSER (else POSTGRES_USER, else postgres) on PGDATABASE (else POSTGRES_DB, else the user), with PGPASSWORD or POSTGRES_PASSWORD from the container's own environment. mysql (MySQL and MariaDB): a session that holds FLUSH TABLES WITH READ LOCK (every table flushed, reads go on, writes wait) across the snapshot, 10 minutes at most; the mariadb or mysql client as the container's default user (root by socket), or as root with MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD when MYSQL_PWD is not set.",
    ),
  podSelector: labelSelector
    .optional()
    .describe('Only Pods with these labels (of those that mount the volume); every such Pod when left out.'),
  container: z.string().min(1).optional().describe("The container to run in; the Pod's first when left out."),
  timeout: duration
    .default('60s')
    .describe('How long the pre hook may take to pause the application, and the post hook to resume it.'),
  onError: hook.shape.onError,
});
export type PresetHook = z.infer<typeof presetHook>;

export const policyHooks = z.object({
  presets: z
    .array(presetHook)
    .default([])
    .describe(
      "Ready-made pairs: their pre hook runs before the policy's other pre hooks, their post hook after the other post hooks.",
    ),
  pre: z.array(hook).default([]).describe('Before the volume is captured, in this order.'),
  post: z
    .array(hook)
    .default([])
    .describe('As soon as it is captured (the snapshot taken, or the live copy done), and after a failed capture.'),
});
export type PolicyHooks = z.infer<typeof policyHooks>;

/** One hook of one run, as planned when the attempt starts and as it went. */
export const hookRecord = z.object({
  stage: z.enum(hookStages),
  source: z.string().describe('Where it was declared: policy, or the annotation prefix.'),
  pod: z.string(),
  container: z.string(),
  command: z.array(z.string()),
  preset: z.enum(hookPresets).optional().describe('The ready-made hook this is half of.'),
  timeoutSeconds: z.number(),
  onError: z.enum(hookOnError),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  outcome: z.enum(hookOutcomes).optional(),
  exitCode: z.int().optional(),
  message: z.string().optional().describe('Why it failed, when not by its exit code.'),
  output: z.string().optional().describe('The last lines of its stdout and stderr.'),
});
export type HookRecord = z.infer<typeof hookRecord>;

/** A Pod's ready-made hooks: hooks.safehold.io/preset names one, hooks.safehold.io/preset-container its container. */
export const hookPresetAnnotation = 'hooks.safehold.io/preset';
export const hookPresetContainerAnnotation = 'hooks.safehold.io/preset-container';

/** Annotation prefixes read on Pods, first match wins: Safehold's own, then Velero's. */
export const hookAnnotationPrefixes = {
  pre: ['pre.hook.safehold.io', 'pre.hook.backup.velero.io'],
  post: ['post.hook.safehold.io', 'post.hook.backup.velero.io'],
} as const;
