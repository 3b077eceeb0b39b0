// Which backups of each volume stay and which go, over Safehold's catalogue:
// the Succeeded VolumeBackups that name a restic snapshot. The same plan
// drives the maintenance run (forget what it drops) and `safehold retention
// preview` (show it), so what people preview is what happens.
//
// A volume's rules come from the policy protecting its PVC now; for a PVC no
// policy protects any more (or one that is gone), from the policy that made
// its newest backup; failing that, the defaults. A deleted PVC's backups are
// all kept for the policy's orphan grace period, counted from when Safehold
// first saw it gone; then the rules apply as to any other volume.
import {
  annotations,
  backupPolicySpec,
  defaultRetention,
  durationMs,
  type BackupPolicy,
  type VolumeBackup,
  snapshotIdOf,
} from '../api/index.ts';
import { keepChainParents } from './block-chain.ts';
import { rulesFromPolicy } from './forget-args.ts';
import { applyRetention, describeRules, type RetentionRules } from './retention.ts';

export interface CatalogueEntry {
  backup: VolumeBackup;
  id: string;
  time: Date;
}

export interface VolumePlan {
  namespace: string;
  pvc: string;
  /** The policy whose rules applied, if any. */
  policy: string | undefined;
  rules: string;
  /** Set while a deleted PVC's backups are all kept. */
  orphanGraceUntil: Date | undefined;
  claimExists: boolean;
  /** A policy whose retention cannot be read: nothing of the volume is dropped. */
  error: string | undefined;
  /** Newest first. */
  verdicts: { entry: CatalogueEntry; keep: boolean; reasons: string[] }[];
}

export interface RetentionPlanInput {
  backups: readonly VolumeBackup[];
  policies: readonly BackupPolicy[];
  /** The policy protecting a PVC now ("ns/pvc"), if any. */
  protectingPolicy: (key: string) => string | undefined;
  claimExists: (key: string) => boolean;
  now: Date;
}

const defaultPolicy: BackupPolicy = {
  metadata: { name: '' },
  spec: backupPolicySpec.parse({ default: true, retention: defaultRetention }),
};

/** The catalogue entry of a VolumeBackup, if it is a finished backup with a snapshot. */
export function catalogueEntry(backup: VolumeBackup): CatalogueEntry | undefined {
  const status = backup.status;
  const id = snapshotIdOf(status);
  if (status?.phase !== 'Succeeded' || id === undefined) return undefined;
  const stamp = status.snapshotTime ?? status.startTime ?? status.completionTime ?? backup.metadata.creationTimestamp;
  const time = stamp === undefined ? Number.NaN : Date.parse(stamp);
  return Number.isNaN(time) ? undefined : { backup, id, time: new Date(time) };
}

export function planRetention(input: RetentionPlanInput): VolumePlan[] {
  const byVolume = new Map<string, CatalogueEntry[]>();
  for (const backup of input.backups) {
    const entry = catalogueEntry(backup);
    if (entry === undefined) continue;
    const key = `${backup.metadata.namespace}/${backup.spec.pvc}`;
    byVolume.set(key, [...(byVolume.get(key) ?? []), entry]);
  }
  const policies = new Map(input.policies.map((p) => [p.metadata.name, p]));
  const plans: VolumePlan[] = [];
  for (const [key, entries] of [...byVolume].sort(([a], [b]) => a.localeCompare(b))) {
    const newest = entries.reduce((a, b) => (b.time > a.time ? b : a));
    const [namespace = '', pvc = ''] = key.split(/\/(.*)/s);
    const protecting = input.protectingPolicy(key);
    const policy =
      (protecting === undefined ? undefined : policies.get(protecting)) ??
      policies.get(newest.backup.status?.policy ?? '') ??
      defaultPolicy;
    const claimExists = input.claimExists(key);
    plans.push(planVolume(namespace, pvc, entries, policy, claimExists, input.now));
  }
  return plans;
}

function planVolume(
  namespace: string,
  pvc: string,
  entries: CatalogueEntry[],
  policy: BackupPolicy,
  claimExists: boolean,
  now: Date,
): VolumePlan {
  const parsed = rulesFromPolicy(policy.spec.retention);
  const policyName = policy.metadata.name === '' ? undefined : policy.metadata.name;
  const keepAll = (reason: string) =>
    [...entries].sort(newestFirst).map((entry) => ({ entry, keep: true, reasons: [reason] }));
  const base = { namespace, pvc, policy: policyName, claimExists };
  if ('error' in parsed) {
    const error = `BackupPolicy ${policy.metadata.name}: ${parsed.error}`;
    return { ...base, rules: '', orphanGraceUntil: undefined, error, verdicts: keepAll('retention unreadable') };
  }
  const rules: RetentionRules = parsed.rules;
  const orphanedAt = claimExists ? undefined : earliestOrphanMark(entries);
  // Not marked yet (the operator has not seen it gone): the grace period starts now.
  const graceUntil = claimExists
    ? undefined
    : new Date((orphanedAt ?? now).getTime() + durationMs(policy.spec.retention.orphanGracePeriod));
  if (graceUntil !== undefined && graceUntil > now) {
    return {
      ...base,
      rules: describeRules(rules),
      orphanGraceUntil: graceUntil,
      error: undefined,
      verdicts: keepAll(`PVC deleted: all kept until ${graceUntil.toISOString()}`),
    };
  }
  // A kept incremental needs every image under it.
  const verdicts = keepChainParents(
    applyRetention(entries, rules, policy.spec.schedule.timeZone).map((v) => ({
      entry: v.backup,
      keep: v.keep,
      reasons: v.reasons,
    })),
  );
  return { ...base, rules: describeRules(rules), orphanGraceUntil: undefined, error: undefined, verdicts };
}

/** When Safehold first saw the volume's PVC gone, from the marks on its VolumeBackups. */
function earliestOrphanMark(entries: CatalogueEntry[]): Date | undefined {
  const marks = entries
    .map((e) => Date.parse(e.backup.metadata.annotations?.[annotations.orphanedAt] ?? ''))
    .filter((t) => !Number.isNaN(t));
  return marks.length === 0 ? undefined : new Date(Math.min(...marks));
}

function newestFirst(a: CatalogueEntry, b: CatalogueEntry): number {
  return b.time.getTime() - a.time.getTime() || a.id.localeCompare(b.id);
}
