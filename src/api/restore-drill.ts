// Restore drills (capability M13): a RestoreDrill (namespaced, beside the
// volume it proves) restores one backup of a volume into a scratch volume in
// Safehold's namespace, which no tenant sees, reads it back against what the
// backup recorded, and deletes the scratch volume. A drill is made on demand
// (`safehold verify NS/PVC`) or by a policy's drill schedule. Its verdict is
// written on the VolumeBackup it proved and on the PVC; a drill that could
// not run says why and leaves the last verdict as it was.
import { z } from 'zod';
import { chosenBackup } from './backup-choice.ts';
import { duration } from './duration.ts';
import { condition } from './conditions.ts';
import { runFailureReasons } from './mover-protocol.ts';
import type { NamespacedMeta } from './object-meta.ts';

export const drillPhases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type DrillPhase = (typeof drillPhases)[number];

export const drillReasons = [
  'Waiting',
  'MaintenanceWindow',
  'ConcurrencyLimit',
  'ScratchPending',
  'MoverRunning',
  'Verified',
  'InvalidSpec',
  'Forbidden',
  'BackupNotFound',
  'RepositoryNotFound',
  'SecretNotFound',
  'ScratchFailed',
  /** The drill command runs on the scratch volume. */
  'CommandRunning',
  /** The drill command exited non-zero: the restored volume does not pass the application's own check. */
  'CommandFailed',
  /** The restore read back whole, but fewer or more files or bytes than the backup recorded. */
  'CountMismatch',
  ...runFailureReasons,
] as const;
export type DrillReason = (typeof drillReasons)[number];

/** What a drill found: the backup restores as recorded, or it does not. Absent: the drill could not tell. */
export const drillVerdicts = ['Passed', 'Failed'] as const;
export type DrillVerdict = (typeof drillVerdicts)[number];

export const restoreDrillSpec = z.object({
  source: z
    .object({ pvc: z.string().min(1).describe('The PVC whose backup is drilled, in this namespace.') })
    .describe('The volume whose backup to prove.'),
  backup: z
    .string()
    .min(1)
    .default('latest')
    .describe('"latest" (the newest good backup), a restic snapshot id, or a VolumeBackup name.'),
  trigger: z
    .enum(['manual', 'schedule'])
    .default('manual')
    .describe("Who asked: a person (safehold verify) or the policy's drill schedule."),
  storageClassName: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The scratch volume's StorageClass; by default the policy's drill.storageClassName, else the volume's own.",
    ),
});

export const drillCommand = z.object({
  command: z
    .array(z.string())
    .min(1)
    .describe(
      'The command and its arguments (no shell unless you name one). A file volume is mounted writable at /data (SAFEHOLD_DRILL_PATH); a block volume is the device /dev/safehold-target (SAFEHOLD_DRILL_DEVICE).',
    ),
  image: z
    .string()
    .min(1)
    .optional()
    .describe("The container's image; by default the mover's (which has fsck and qemu-img)."),
  runAsUser: z.int().min(0).optional().describe("The user the command runs as; by default the image's."),
  timeout: duration.default('30m').describe('How long the command may run; past it, the drill ends with no verdict.'),
});

export const drillCounts = z.object({ files: z.int().optional(), bytes: z.number() });

export const restoreDrillStatus = z.object({
  phase: z.enum(drillPhases).optional(),
  reason: z.enum(drillReasons).optional(),
  message: z.string().optional(),
  verdict: z
    .enum(drillVerdicts)
    .optional()
    .describe(
      'Passed: the backup restored and read back as recorded. Failed: it did not. Absent: the drill could not tell.',
    ),
  backup: chosenBackup.optional().describe('The backup being proved, settled when the drill started.'),
  scratch: z.string().optional().describe("The scratch PVC in Safehold's namespace."),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  durationSeconds: z.number().optional(),
  expected: drillCounts.optional().describe('What the backup recorded: files and bytes.'),
  verified: z
    .object({
      files: z.int().optional(),
      bytes: z.number(),
      method: z.enum(['restic-verify', 'device-compare']),
    })
    .optional()
    .describe('What was read back from the scratch volume and found equal to the backup.'),
  command: drillCommand
    .optional()
    .describe(
      "The policy's drill command, settled when the drill started: run on the scratch volume once it read back.",
    ),
  commandResult: z
    .object({ exitCode: z.int(), message: z.string().optional() })
    .optional()
    .describe("How the drill command ended: its exit code, and a failed one's last lines."),
  conditions: z.array(condition).optional(),
});

export type RestoreDrillSpec = z.input<typeof restoreDrillSpec>;
export type DrillCommand = z.infer<typeof drillCommand>;
export type RestoreDrillStatus = z.infer<typeof restoreDrillStatus>;

export interface RestoreDrill {
  apiVersion?: string;
  kind?: string;
  metadata: NamespacedMeta;
  spec: RestoreDrillSpec;
  status?: RestoreDrillStatus;
}

/** A volume's last drill with a verdict, as the VolumeBackup it proved and the PVC record it. */
export const verificationRecord = z.object({
  time: z.string().describe('When the drill ended.'),
  drill: z
    .string()
    .describe(
      "The RestoreDrill; check:<RepositoryMaintenance> when a repository check found the backup's data damaged.",
    ),
  verdict: z.enum(drillVerdicts),
  durationSeconds: z.number().optional(),
  message: z.string().optional(),
});
export type VerificationRecord = z.infer<typeof verificationRecord>;
