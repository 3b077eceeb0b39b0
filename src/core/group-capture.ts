// Volumes of one workload captured together: when a backup runs hooks in a
// Pod that mounts other protected volumes too, it starts a backup of each of
// them (spec.groupOf) and takes their snapshots with its own, after every pre
// hook and before any post hook, so the workload's volumes hold one moment.
// The member backups then copy their snapshots like any other run.
import type { ExposureObservation } from './exposure.ts';

export interface GroupMember {
  pvc: string;
  backup: string;
}

/** A Pod that mounts the volume, and every claim it mounts. */
export interface PodClaims {
  pod: string;
  claims: readonly string[];
}

/**
 * The name of the backup a run starts for another volume of its workload; a later attempt's
 * members are new backups (the first attempt's may have copied a snapshot of another moment).
 */
export function memberBackupName(leader: string, pvc: string, attempt = 1): string {
  const base = attempt > 1 ? `${leader.slice(0, 100)}-a${attempt}` : leader.slice(0, 100);
  return `${base}-${pvc}`.slice(0, 200).replace(/[-.]+$/, '');
}

/**
 * The other volumes of the Pods whose hooks this run runs, each once, that can
 * be captured with it: protected, and backed up through a snapshot.
 */
export function groupMembers(input: {
  leader: string;
  /** The attempt that captures them. */
  attempt: number;
  pvc: string;
  hookedPods: ReadonlySet<string>;
  pods: readonly PodClaims[];
  capturable: (pvc: string) => boolean;
}): GroupMember[] {
  const claims = new Set<string>();
  for (const pod of input.pods.filter((p) => input.hookedPods.has(p.pod)))
    for (const claim of pod.claims) if (claim !== input.pvc && input.capturable(claim)) claims.add(claim);
  return [...claims].sort().map((pvc) => ({ pvc, backup: memberBackupName(input.leader, pvc, input.attempt) }));
}

/** What exists of one member: its backup, and its snapshot. */
export interface MemberObservation extends GroupMember {
  exists: boolean;
  snapshot: ExposureObservation['snapshot'];
}

export type GroupStep =
  { kind: 'create-member-backup'; index: number } | { kind: 'create-member-snapshot'; index: number };

/** The next member object to make: every backup, then every snapshot. */
export function nextGroupStep(members: readonly MemberObservation[]): GroupStep | undefined {
  const missing = members.findIndex((m) => !m.exists);
  if (missing >= 0) return { kind: 'create-member-backup', index: missing };
  const unsnapped = members.findIndex((m) => m.snapshot === undefined);
  if (unsnapped >= 0) return { kind: 'create-member-snapshot', index: unsnapped };
  return undefined;
}

/** A snapshot is taken once it has a creation time (before it is ready), or over once it failed. */
export function snapshotTaken(snapshot: ExposureObservation['snapshot']): boolean {
  return (
    snapshot !== undefined && (snapshot.ready || snapshot.error !== undefined || snapshot.creationTime !== undefined)
  );
}

/** A run of a member's volume, as the leader sees it when it is about to start that member's backup. */
export interface MemberVolumeRun {
  name: string;
  uid: string | undefined;
  trigger: string;
  scheduledFor: string | undefined;
  groupOf: string | undefined;
  phase: string | undefined;
  attempt: number | undefined;
}

/**
 * The member volume's own scheduled runs that the leader's capture stands for: made by the
 * scheduler for the same moment (both volumes were due in one pass, or caught up together) and
 * never started, and not being started now. The leader deletes them and its member backup takes
 * their slot; otherwise each would run the workload's hooks and capture every volume again.
 * A run someone asked for (manual) is theirs to follow and stays.
 */
export function adoptableRuns(runs: readonly MemberVolumeRun[], starting: ReadonlySet<string>): MemberVolumeRun[] {
  return runs.filter(
    (r) =>
      r.groupOf === undefined &&
      (r.trigger === 'schedule' || r.trigger === 'catch-up') &&
      (r.phase === undefined || r.phase === 'Pending') &&
      (r.attempt ?? 0) === 0 &&
      !starting.has(r.uid ?? ''),
  );
}

/** The latest slot of the adopted runs, which the member backup stands for. */
export function adoptedSlot(runs: readonly MemberVolumeRun[]): string | undefined {
  const slots = runs
    .map((r) => r.scheduledFor)
    .filter((s): s is string => s !== undefined && !Number.isNaN(Date.parse(s)));
  return slots.length === 0 ? undefined : slots.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
}
