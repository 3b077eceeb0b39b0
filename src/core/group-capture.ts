// Volumes of one workload captured together: when a backup runs hooks in a
// Pod that mounts other protected volumes too, it starts a backup of each of
// them (spec.groupOf) and takes their snapshots with its own, after every pre
// hook and before any post hook, so the workload's volumes hold one moment.
// The member backups then copy their snapshots like any other run.
//
// Where the volumes' CSI driver offers group snapshots (a VolumeGroupSnapshotClass),
// the snapshots are one VolumeGroupSnapshot instead, hooks or not: the storage
// takes every volume at one moment. Its snapshots live and go with it, so it is
// used only when no volume of the group keeps its snapshots (keepSnapshots), and
// it is deleted once every run of the group has copied its volume.
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

/** The next member object to make: every backup, then (unless a group snapshot takes them) every snapshot. */
export function nextGroupStep(members: readonly MemberObservation[], viaGroupSnapshot = false): GroupStep | undefined {
  const missing = members.findIndex((m) => !m.exists);
  if (missing >= 0) return { kind: 'create-member-backup', index: missing };
  if (viaGroupSnapshot) return undefined;
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

/** A volume that could join a group snapshot: its CSI driver, and whether its policy keeps snapshots. */
export interface GroupVolume {
  driver: string | undefined;
  keepsSnapshots: boolean;
}

/**
 * Which volumes a run captures with its own, and whether through one VolumeGroupSnapshot (its
 * class). With hooks, every member the hooks cover, through the group snapshot only if all of them
 * can join it (else one snapshot each, between the hooks). Without hooks, only the volumes that can
 * join the run's group snapshot: same driver, a group class for it, no snapshots kept.
 */
export function groupCapture(input: {
  hooked: boolean;
  leader: GroupVolume;
  members: readonly (GroupMember & GroupVolume)[];
  /** The VolumeGroupSnapshotClass of the leader's driver, if it has one. */
  groupSnapshotClass: string | undefined;
}): { members: GroupMember[]; groupSnapshotClass: string | undefined } {
  const { leader, groupSnapshotClass } = input;
  const joins = (v: GroupVolume) =>
    groupSnapshotClass !== undefined &&
    v.driver !== undefined &&
    v.driver === leader.driver &&
    !v.keepsSnapshots &&
    !leader.keepsSnapshots;
  const bare = (m: GroupMember): GroupMember => ({ pvc: m.pvc, backup: m.backup });
  if (input.hooked) {
    const members = input.members.map(bare);
    const together = members.length > 0 && input.members.every(joins);
    return { members, groupSnapshotClass: together ? groupSnapshotClass : undefined };
  }
  const members = input.members.filter(joins).map(bare);
  return { members, groupSnapshotClass: members.length > 0 ? groupSnapshotClass : undefined };
}

/** The label that picks a capture's claims for its VolumeGroupSnapshot (value: the leading run's uid). */
export const groupCaptureLabel = 'safehold.io/group-capture';

/** A run's VolumeGroupSnapshot as the cache shows it. */
export interface GroupSnapshotObservation {
  ready: boolean;
  error: string | undefined;
  deleting: boolean;
}

export type GroupSnapshotStep =
  | { kind: 'label-group-claims' }
  | { kind: 'create-group-snapshot' }
  | { kind: 'adopt-group-snapshot' }
  | { kind: 'group-snapshot-wait'; message: string }
  | { kind: 'group-snapshot-failed'; message: string };

/**
 * The next step towards every volume's snapshot through the group snapshot: the claims labelled for
 * its selector, the group snapshot, then (once ready) its snapshots adopted by the group's runs.
 */
export function nextGroupSnapshotStep(
  name: string,
  groupSnapshot: GroupSnapshotObservation | undefined,
  claimsLabelled: boolean,
): GroupSnapshotStep {
  if (groupSnapshot === undefined)
    return claimsLabelled ? { kind: 'create-group-snapshot' } : { kind: 'label-group-claims' };
  if (groupSnapshot.deleting)
    return { kind: 'group-snapshot-wait', message: `waiting for the old VolumeGroupSnapshot ${name} to go` };
  if (groupSnapshot.error !== undefined)
    return { kind: 'group-snapshot-failed', message: `VolumeGroupSnapshot ${name}: ${groupSnapshot.error}` };
  if (!groupSnapshot.ready)
    return { kind: 'group-snapshot-wait', message: `waiting for the VolumeGroupSnapshot ${name} to be ready` };
  return { kind: 'adopt-group-snapshot' };
}

/** The run phases after which a run no longer reads its snapshot. */
export function groupRunDone(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Another active run of the same namespace, as groupBusy sees it. */
export interface ActiveGroupRun {
  name: string;
  pvc: string;
  /** The volumes it captures with its own (status.group). */
  members: readonly string[];
}

/**
 * Why a run may not start a group snapshot yet: another active run captures one of the volumes it
 * would take (both would label the claims for their own group snapshot), or takes this volume in
 * its group. It starts once that run is over.
 */
export function groupBusy(pvc: string, members: readonly GroupMember[], others: readonly ActiveGroupRun[]) {
  const mine = new Set([pvc, ...members.map((m) => m.pvc)]);
  for (const other of others) {
    const taken = [other.pvc, ...other.members].find((v) => mine.has(v));
    if (taken !== undefined && other.pvc !== pvc)
      return `PVC ${taken} of this workload is in backup ${other.name}, which is running`;
  }
  return undefined;
}
