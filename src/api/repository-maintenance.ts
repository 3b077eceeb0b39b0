// RepositoryMaintenance (namespaced, in Safehold's own namespace): one run of
// forget, prune and check on one restic repository (one tenant's, for a
// per-namespace BackupRepository). Created by the maintenance scheduler, or by
// an admin to run one now. While one is unfinished, new backups to that
// repository wait; it starts only once no backup writes there.
import { z } from 'zod';
import { condition } from './conditions.ts';
import { runFailureReasons } from './mover-protocol.ts';
import type { NamespacedMeta } from './object-meta.ts';

export const maintenancePhases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type MaintenancePhase = (typeof maintenancePhases)[number];

export const maintenanceReasons = [
  'BackupsRunning',
  'OtherMaintenance',
  'MoverRunning',
  'RetryScheduled',
  'Succeeded',
  'CheckFailed',
  'InvalidSpec',
  'RepositoryNotFound',
  'SecretNotFound',
  ...runFailureReasons,
  'DeadlineExceeded',
] as const;
export type MaintenanceReason = (typeof maintenanceReasons)[number];

export const repositoryMaintenanceSpec = z.object({
  repository: z.string().min(1).describe('The BackupRepository.'),
  tenant: z
    .string()
    .default('')
    .describe('The namespace whose repository to maintain, for a per-namespace BackupRepository; empty otherwise.'),
  forget: z.boolean().default(true).describe('Forget the backups retention drops (and delete their VolumeBackups).'),
  prune: z.boolean().default(true).describe('Run restic prune (after forget).'),
  check: z
    .object({ readDataSubset: z.string().min(1).optional() })
    .optional()
    .describe('Run restic check, reading this subset of the pack data.'),
  trigger: z
    .enum(['schedule', 'manual'])
    .default('manual')
    .describe("What started the run: the repository's schedule, or a person."),
  scheduledFor: z.string().optional().describe('The schedule slot this run belongs to (RFC 3339).'),
});

export const repositoryMaintenanceStatus = z.object({
  phase: z.enum(maintenancePhases).optional(),
  reason: z.enum(maintenanceReasons).optional(),
  message: z.string().optional(),
  startTime: z.string().optional(),
  attempt: z
    .int()
    .optional()
    .describe('Attempts started so far: a mover that fails (a lock, the network) is retried with backoff.'),
  nextAttemptTime: z.string().optional().describe('When the next attempt may start, while the run waits to retry.'),
  completionTime: z.string().optional(),
  /** The restic snapshot ids this run was told to forget, decided when it started. */
  forget: z.array(z.string()).optional(),
  forgotten: z.int().optional(),
  alreadyGone: z.int().optional(),
  bytesFreed: z.number().optional(),
  checkOk: z.boolean().optional(),
  checkMessage: z.string().optional(),
  damage: z
    .object({
      packs: z.array(z.string()).describe('The damaged pack files (first 16 hex digits of their ids).'),
      snapshots: z
        .array(z.string())
        .describe('The snapshots with data in them (first 16 hex digits); their volumes are marked failed.'),
      more: z.int().optional().describe('More snapshots with data in them than are named.'),
      unknown: z.string().optional().describe('Why the snapshots with data in them are not known.'),
    })
    .optional()
    .describe('What the check found damaged, and which backups it affects.'),
  snapshots: z.int().optional(),
  repositoryBytes: z.number().optional(),
  conditions: z.array(condition).optional(),
});

/** As written: fields with defaults may be absent on objects read from the API. */
export type RepositoryMaintenanceSpec = z.input<typeof repositoryMaintenanceSpec>;
export type RepositoryMaintenanceStatus = z.infer<typeof repositoryMaintenanceStatus>;

export interface RepositoryMaintenance {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: RepositoryMaintenanceSpec;
  status?: RepositoryMaintenanceStatus;
}
