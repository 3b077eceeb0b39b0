// The steps of a backup that captures the other volumes of its workload with
// its own: a backup of each (spec.groupOf names this one), then its snapshot,
// made exactly as that backup would make it, owned by it and labelled as its
// own, so the member run finds its snapshot taken and copies it.
import { runLabels, type VolumeBackup } from '../../api/index.ts';
import type { RunStep } from '../../core/index.ts';
import { ignoreAlreadyExists, kinds, type Requeue } from '../../kube/index.ts';
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
    const run: VolumeBackup = {
      metadata: {
        name: member.backup,
        namespace,
        labels: { [runLabels.pvc]: member.pvc.slice(0, 63), 'safehold.io/trigger': backup.spec.trigger },
      },
      spec: { pvc: member.pvc, trigger: backup.spec.trigger, groupOf: backup.metadata.name },
    };
    await ignoreAlreadyExists(() => deps.client.create(kinds.volumeBackup, run));
    return { requeueAfterMs: 1000 };
  }
  const run = deps.cache.volumeBackups.get(`${namespace}/${member.backup}`);
  // The cache has not seen it yet; its arrival wakes the member's run, not this one: look again soon.
  if (run === undefined) return { requeueAfterMs: 1000 };
  await deps.exposer.carryOut(backupExposure(run, 'snapshot'), { kind: 'create-snapshot' }, now);
  return { requeueAfterMs: 1000 };
}
