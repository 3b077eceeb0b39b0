// The steps of a backup that takes its workload's volumes in one
// VolumeGroupSnapshot (core/group-capture.ts): the claims labelled for its
// selector, the group snapshot named after the run and owned by it, then its
// snapshots adopted: each labelled as its run's, so the caches see it, and
// named in that run's status.snapshotName, so the run exposes and copies it
// like a snapshot of its own. The group snapshot goes when every run of the
// group has copied its volume; its snapshots go with it.
import { type VolumeBackup } from '../../api/index.ts';
import { groupCaptureLabel, groupRunDone, ownerReference, runObjectLabels } from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type KubeObject, type Requeue } from '../../kube/index.ts';
import { writeRunStatus } from '../run/run-status.ts';
import type { BackupDeps } from './backup-kind.ts';
import { event } from './write-back.ts';

interface GroupMemberSnapshot extends KubeObject {
  metadata?: KubeObject['metadata'] & { ownerReferences?: { kind: string; uid: string }[] };
  spec?: { source?: { persistentVolumeClaimName?: string } };
  status?: { volumeGroupSnapshotName?: string };
}

/** The run's claim and its members' claims, each with its run (undefined until the cache has it). */
function groupRuns(deps: BackupDeps, backup: VolumeBackup): { pvc: string; run: VolumeBackup | undefined }[] {
  const ns = backup.metadata.namespace;
  return [
    { pvc: backup.spec.pvc, run: backup },
    ...(backup.status?.group ?? []).map((m) => ({
      pvc: m.pvc,
      run: deps.cache.volumeBackups.get(`${ns}/${m.backup}`),
    })),
  ];
}

/** The capture label set to `value` (null: removed) on the group's claims that do not have it so. */
async function labelClaims(deps: BackupDeps, backup: VolumeBackup, value: string | null): Promise<void> {
  for (const { pvc } of groupRuns(deps, backup)) {
    const claim = deps.cache.claims.get(`${backup.metadata.namespace}/${pvc}`);
    if (claim !== undefined && (claim.metadata?.labels?.[groupCaptureLabel] ?? null) === value) continue;
    await ignoreNotFound(() =>
      deps.client.mergePatch(
        kinds.persistentVolumeClaim,
        { namespace: backup.metadata.namespace, name: pvc },
        { metadata: { labels: { [groupCaptureLabel]: value } } },
      ),
    );
  }
}

/** The label the group snapshot's selector picks, on every claim of the group. */
export async function labelGroupClaims(deps: BackupDeps, backup: VolumeBackup): Promise<Requeue> {
  await labelClaims(deps, backup, backup.metadata.uid ?? '');
  return { requeueAfterMs: 1000 };
}

export async function createGroupSnapshot(deps: BackupDeps, backup: VolumeBackup): Promise<Requeue | undefined> {
  const group = backup.status?.groupSnapshot;
  if (group === undefined) return undefined;
  await ignoreAlreadyExists(() =>
    deps.client.create(kinds.volumeGroupSnapshot, {
      metadata: {
        name: group.name,
        namespace: backup.metadata.namespace,
        labels: runObjectLabels(backup),
        ownerReferences: [ownerReference(backup)],
      },
      spec: {
        volumeGroupSnapshotClassName: group.class,
        source: { selector: { matchLabels: { [groupCaptureLabel]: backup.metadata.uid ?? '' } } },
      },
    } as KubeObject),
  );
  return undefined;
}

/**
 * Each run of the group takes the group snapshot's snapshot of its volume. A claim the group
 * snapshot missed (its label reached the snapshot controller too late) means a new group snapshot:
 * this one is deleted and made again, never a group with a volume taken at another moment.
 */
export async function adoptGroupSnapshot(deps: BackupDeps, backup: VolumeBackup): Promise<Requeue | undefined> {
  const group = backup.status?.groupSnapshot;
  if (group === undefined) return undefined;
  const ns = backup.metadata.namespace;
  const made = deps.cache.groupSnapshots.get(`${ns}/${group.name}`);
  const listed = await deps.client.list<GroupMemberSnapshot>(kinds.volumeSnapshot, { namespace: ns });
  const members = listed.items.filter(
    (s) =>
      s.status?.volumeGroupSnapshotName === group.name ||
      (s.metadata?.ownerReferences ?? []).some(
        (o) => o.kind === 'VolumeGroupSnapshot' && made?.metadata?.uid !== undefined && o.uid === made.metadata.uid,
      ),
  );
  const runs = groupRuns(deps, backup);
  const snapshotOf = (pvc: string) => members.find((s) => s.spec?.source?.persistentVolumeClaimName === pvc);
  const missed = runs.filter(({ pvc }) => snapshotOf(pvc) === undefined).map(({ pvc }) => pvc);
  if (missed.length > 0) {
    await event(
      deps,
      backup,
      'Warning',
      'GroupSnapshotIncomplete',
      `VolumeGroupSnapshot ${group.name} has no snapshot of PVC ${missed.join(', ')}: taking the group again`,
    );
    await ignoreNotFound(() => deps.client.delete(kinds.volumeGroupSnapshot, { namespace: ns, name: group.name }));
    return { requeueAfterMs: 2000 };
  }
  for (const { pvc, run } of runs) {
    // The member's run is not in the cache yet: it is adopted once it is.
    if (run === undefined) return { requeueAfterMs: 1000 };
    const snapshot = snapshotOf(pvc);
    const name = snapshot?.metadata?.name ?? '';
    const labels = runObjectLabels(run);
    if (Object.entries(labels).some(([key, value]) => snapshot?.metadata?.labels?.[key] !== value))
      await deps.client.mergePatch(kinds.volumeSnapshot, { namespace: ns, name }, { metadata: { labels } });
    if (run.status?.snapshotName !== name)
      await writeRunStatus(deps.client, kinds.volumeBackup, run, { snapshotName: name }, undefined, deps.now());
  }
  await labelClaims(deps, backup, null);
  return { requeueAfterMs: 1000 };
}

/**
 * The group snapshot, once no run of the group still reads its snapshot (a member still copying
 * keeps it): false while one does. With `now`, whatever the members do (the run is deleted, or
 * its attempt's snapshots are discarded).
 */
export async function releaseGroupSnapshot(deps: BackupDeps, backup: VolumeBackup, now = false): Promise<boolean> {
  const group = backup.status?.groupSnapshot;
  if (group === undefined) return true;
  if (
    !now &&
    groupRuns(deps, backup).some(({ run }) => run !== backup && run !== undefined && !groupRunDone(run.status?.phase))
  )
    return false;
  await ignoreNotFound(() =>
    deps.client.delete(kinds.volumeGroupSnapshot, { namespace: backup.metadata.namespace, name: group.name }),
  );
  await labelClaims(deps, backup, null);
  return true;
}
