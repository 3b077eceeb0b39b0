// The steps of a backup that captures the other volumes of its workload with
// its own: a backup of each (spec.groupOf names this one), then its snapshot,
// made exactly as that backup would make it, owned by it and labelled as its
// own, so the member run finds its snapshot taken and copies it.
import { annotations, runLabels, type VolumeBackup } from '../../api/index.ts';
import {
  adoptableRuns,
  adoptedSlot,
  lastScheduledSlots,
  memberSlot,
  volumeRuns,
  type RunStep,
} from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type Requeue } from '../../kube/index.ts';
import type { BackupDeps } from './backup-kind.ts';
import { backupExposure } from './backup-observation.ts';

type GroupStepOf = Extract<RunStep, { kind: 'create-member-backup' | 'create-member-snapshot' }>;

export async function captureMember(
  deps: BackupDeps,
  backup: VolumeBackup,
  step: GroupStepOf,
  now: Date,
): Promise<Requeue | undefined> {
  const member = backup.status?.group?.[step.index];
  if (member === undefined) return undefined;
  const namespace = backup.metadata.namespace;
  if (step.kind === 'create-member-backup') {
    // The member volume's own scheduled runs for this moment are this capture: deleted before they start.
    const adopted = adoptableRuns(
      deps.cache.runsOf(namespace, member.pvc).map((r) => ({
        name: r.metadata.name,
        uid: r.metadata.uid,
        trigger: r.spec.trigger,
        scheduledFor: r.spec.scheduledFor,
        groupOf: r.spec.groupOf,
        phase: r.status?.phase,
        attempt: r.status?.attempt,
      })),
      deps.gate.starting('writes'),
    );
    for (const run of adopted)
      await ignoreNotFound(() => deps.client.delete(kinds.volumeBackup, { namespace, name: run.name }));
    const standsFor = adoptedSlot(adopted);
    const slot = standsFor ?? memberScheduledFor(deps, namespace, member.pvc, backup.spec.trigger, now);
    const trigger = standsFor === undefined ? backup.spec.trigger : 'schedule';
    const run: VolumeBackup = {
      metadata: {
        name: member.backup,
        namespace,
        labels: { [runLabels.pvc]: member.pvc.slice(0, 63), 'safehold.io/trigger': trigger },
      },
      spec: {
        pvc: member.pvc,
        trigger,
        groupOf: backup.metadata.name,
        ...(slot === undefined ? {} : { scheduledFor: slot }),
      },
    };
    await ignoreAlreadyExists(() => deps.client.create(kinds.volumeBackup, run));
    // As the scheduler records a slot it ran: on the PVC too, which outlives the run (an adopted run's is there).
    if (slot !== undefined && standsFor === undefined)
      await ignoreNotFound(() =>
        deps.client.mergePatch(
          kinds.persistentVolumeClaim,
          { namespace, name: member.pvc },
          { metadata: { annotations: { [annotations.lastScheduled]: slot } } },
        ),
      );
    return { requeueAfterMs: 1000 };
  }
  const run = deps.cache.volumeBackups.get(`${namespace}/${member.backup}`);
  // The cache has not seen it yet; its arrival wakes the member's run, not this one: look again soon.
  if (run === undefined) return { requeueAfterMs: 1000 };
  await deps.exposer.carryOut(backupExposure(run, 'snapshot'), { kind: 'create-snapshot' }, now);
  return { requeueAfterMs: 1000 };
}

/**
 * When the leader runs on its schedule, the member volume's own slot that this capture stands for
 * (memberSlot): recorded as the member's, so the volume is not backed up again at that slot.
 */
function memberScheduledFor(
  deps: BackupDeps,
  namespace: string,
  pvc: string,
  trigger: VolumeBackup['spec']['trigger'],
  now: Date,
): string | undefined {
  if (trigger !== 'schedule' && trigger !== 'catch-up') return undefined;
  const key = `${namespace}/${pvc}`;
  const decision = deps.coverage.row(key)?.decision;
  if (decision?.state !== 'protected') return undefined;
  const policy = deps.cache.parsedPolicies().valid.find((p) => p.metadata.name === decision.policy);
  if (policy === undefined) return undefined;
  const runs = volumeRuns(namespace, pvc, deps.cache.runsOf(namespace, pvc), deps.cache.histories.get(key));
  const claim = deps.cache.claims.get(key);
  const last = lastScheduledSlots(
    [{ metadata: { namespace }, spec: { pvc, scheduledFor: runs.lastSlot } }],
    claim === undefined ? [] : [claim],
  ).get(key);
  return memberSlot(policy.spec.schedule, key, last, now)?.toISOString();
}
