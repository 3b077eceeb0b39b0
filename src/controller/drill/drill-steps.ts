// Carrying out one step of a RestoreDrill against the API: its status
// (through the one run status writer), the scratch PVC, the credentials
// Secret and the mover Job in Safehold's namespace, the verdict on the
// VolumeBackup it proved and on the PVC, and the clean-up. Every step is
// idempotent; the verdict is recorded before the drill's own status, so a
// drill that ends is never left without its record.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import {
  durationMs,
  repositoryUrl,
  snapshotIdOf,
  tenantOf,
  timestamp,
  type MoverSettings,
  type MoverTask,
  type RepositoryTarget,
  type RestoreDrill,
  type RestoreDrillStatus,
} from '../../api/index.ts';
import {
  drillCommandJob,
  moverCacheDir,
  moverJob,
  moverSourcePath,
  moverTargetDevice,
  ownerRecord,
  restoreCapabilities,
  restoreTargetPath,
  restoredCounts,
  type DrillStep,
} from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type KubeClient, type Requeue } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { firstConsumerAnnotations } from '../expose/index.ts';
import { createCredentialsSecret, repositoryCredentials, repositorySource } from '../run/repository-credentials.ts';
import { runEvent } from '../run/run-event.ts';
import { recordVerdict } from './verdict-record.ts';
import { cleanedUp, isCleanedUp, statusWriter, writeRunStatus, writeWaiting } from '../run/run-status.ts';
import {
  drillCommandJobName,
  drillJobName,
  drillLabels,
  drillObjectBase,
  drillScratchName,
  type ObservedDrill,
} from './drill-observation.ts';

export interface DrillStepDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
}

/** How long a drill's mover may run. */
const moverDeadlineSeconds = 24 * 3600;

export async function carryOutDrill(
  deps: DrillStepDeps,
  drill: RestoreDrill,
  observed: ObservedDrill,
  step: DrillStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = timestamp(now);
  const setStatus = statusWriter(deps.client, kinds.restoreDrill, drill, now);
  switch (step.kind) {
    case 'wait':
      await writeWaiting(deps.client, kinds.restoreDrill, drill, step, now);
      return { requeueAfterMs: step.recheckMs };
    case 'start': {
      const backup = step.backup;
      await setStatus({
        phase: 'Running',
        backup,
        ...(step.expected === undefined ? {} : { expected: step.expected }),
        ...(step.command === undefined ? {} : { command: step.command }),
        scratch: drillScratchName(drill),
        startTime: stamp,
        reason: 'ScratchPending',
        message: `proving backup ${backup.name} of ${backup.namespace}/${backup.pvc} (captured ${backup.snapshotTime ?? '?'}, snapshot ${(snapshotIdOf(backup) ?? '?').slice(0, 8)})`,
      });
      return undefined;
    }
    case 'create-scratch':
      await createScratch(deps, drill, observed);
      return { requeueAfterMs: 2000 };
    case 'create-job': {
      const missing = await createJob(deps, drill, observed);
      if (missing !== undefined) {
        await finish(deps, drill, { kind: 'finish', verdict: undefined, reason: 'SecretNotFound', message: missing });
        return undefined;
      }
      if (drill.status?.reason !== 'MoverRunning')
        await setStatus({ reason: 'MoverRunning', message: 'the mover is restoring into the scratch volume' });
      return undefined;
    }
    case 'create-command-job':
      // What the read-back proved first: the command's outcome is judged from the status, not the mover's Job.
      await setStatus({
        ...(step.verified === undefined ? {} : { verified: step.verified }),
        reason: 'CommandRunning',
        message: 'the backup read back as recorded; the drill command runs on the scratch volume',
      });
      await createCommandJob(deps, drill);
      return undefined;
    case 'finish':
      await finish(deps, drill, step);
      return undefined;
    case 'clean-up':
      await cleanUpDrill(deps, drill, now);
      return undefined;
  }
}

async function finish(
  deps: DrillStepDeps,
  drill: RestoreDrill,
  step: Extract<DrillStep, { kind: 'finish' }>,
): Promise<void> {
  const now = deps.now();
  const stamp = timestamp(now);
  const started = Date.parse(drill.status?.startTime ?? '');
  const durationSeconds = Number.isNaN(started) ? undefined : Math.round((now.getTime() - started) / 100) / 10;
  const verified = step.verdict === 'Passed' ? (step.result?.verified ?? drill.status?.verified) : undefined;
  const message =
    step.verdict === 'Failed' && step.result !== undefined
      ? `${step.message} (read back: ${JSON.stringify(restoredCounts(step.result))})`
      : step.message;
  const backup = drill.status?.backup;
  if (step.verdict !== undefined && backup !== undefined)
    await recordVerdict(
      deps.client,
      { namespace: drill.metadata.namespace, pvc: drill.spec.source.pvc, backup: backup.name },
      {
        time: stamp,
        drill: drill.metadata.name,
        verdict: step.verdict,
        ...(durationSeconds === undefined ? {} : { durationSeconds }),
        ...(step.verdict === 'Failed' ? { message: `${step.reason}: ${message}` } : {}),
      },
    );
  const patch: Partial<RestoreDrillStatus> = {
    phase: step.verdict === 'Passed' ? 'Succeeded' : 'Failed',
    reason: step.reason,
    message,
    ...(step.verdict === undefined ? {} : { verdict: step.verdict }),
    ...(verified === undefined ? {} : { verified }),
    ...(step.commandResult === undefined ? {} : { commandResult: step.commandResult }),
    completionTime: stamp,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
  };
  await writeRunStatus(
    deps.client,
    kinds.restoreDrill,
    drill,
    patch,
    {
      status: step.verdict === 'Passed' ? 'True' : 'False',
      reason: step.reason,
      message,
    },
    now,
  );
  const what =
    step.verdict === 'Passed'
      ? { type: 'Normal' as const, reason: 'DrillPassed' }
      : step.verdict === 'Failed'
        ? { type: 'Warning' as const, reason: 'DrillFailed' }
        : { type: 'Warning' as const, reason: 'DrillNotRun' };
  await runEvent(deps.client, 'RestoreDrill', drill, { ...what, message: `${step.reason}: ${message}` }, now);
}

async function createScratch(deps: DrillStepDeps, drill: RestoreDrill, observed: ObservedDrill): Promise<void> {
  const shape = observed.scratchShape;
  if (shape === undefined) return;
  const claim: PersistentVolumeClaim = {
    metadata: {
      name: drillScratchName(drill),
      namespace: deps.namespace,
      labels: drillLabels(drill),
      annotations: {
        ...ownerRecord('RestoreDrill', drill),
        ...(await firstConsumerAnnotations(deps, shape.storageClassName)),
      },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: shape.size } },
      ...(shape.storageClassName === undefined ? {} : { storageClassName: shape.storageClassName }),
      volumeMode: shape.volumeMode,
    },
  };
  await ignoreAlreadyExists(() => deps.client.create(kinds.persistentVolumeClaim, claim));
}

/** The drill's mover task: the restore of its backup into the scratch volume, read back after. */
function drillTask(drill: RestoreDrill, repository: RepositoryTarget): MoverTask {
  const backup = drill.status?.backup;
  const snapshotId = snapshotIdOf(backup) ?? '';
  if (backup?.image !== undefined)
    return {
      kind: 'block-restore',
      repository,
      cacheDir: moverCacheDir,
      snapshotId,
      devicePath: moverTargetDevice,
      // Zeros where the chain holds none, whatever the new volume reads as: the read-back expects them.
      zeroUnlisted: true,
      verify: true,
    };
  const snapshotPath = backup?.snapshotPath ?? moverSourcePath;
  return {
    kind: 'restore',
    repository,
    cacheDir: moverCacheDir,
    source: { snapshotId, snapshotPath },
    targetPath: restoreTargetPath(snapshotPath),
    paths: [],
    deleteExtra: false,
    verify: true,
  };
}

/** The Secret and the Job; undefined when created, else which credential is missing. */
async function createJob(
  deps: DrillStepDeps,
  drill: RestoreDrill,
  observed: ObservedDrill,
): Promise<string | undefined> {
  const { repository } = observed;
  if (repository === undefined) return 'the repository is gone';
  const ns = drill.metadata.namespace;
  const credentials = await repositoryCredentials(
    deps.client,
    deps.namespace,
    repository,
    tenantOf(repository.spec, ns),
    false,
  );
  if ('missing' in credentials) return credentials.missing;
  const base = drillObjectBase(drill);
  const labels = drillLabels(drill);
  const annotations = ownerRecord('RestoreDrill', drill);
  await createCredentialsSecret(
    deps.client,
    { name: `${base}-creds`, namespace: deps.namespace, labels, annotations },
    credentials.data,
  );
  const task = drillTask(drill, {
    engine: repository.spec.engine,
    url: repositoryUrl(repository.spec, ns),
    region: repository.spec.s3.region,
    source: repositorySource(deps.namespace, repository, tenantOf(repository.spec, ns)),
    initialize: false,
  });
  const job = moverJob({
    name: drillJobName(drill),
    namespace: deps.namespace,
    labels,
    annotations,
    mover: deps.mover,
    task,
    targetClaim: drillScratchName(drill),
    volumeMode: task.kind === 'block-restore' ? 'Block' : 'Filesystem',
    capabilities: restoreCapabilities,
    secretName: `${base}-creds`,
    deadlineSeconds: moverDeadlineSeconds,
  });
  await ignoreAlreadyExists(() => deps.client.create(kinds.job, job));
  return undefined;
}

/** The drill command's Job, on the scratch volume the mover restored into. */
async function createCommandJob(deps: DrillStepDeps, drill: RestoreDrill): Promise<void> {
  const command = drill.status?.command;
  if (command === undefined) return;
  const job = drillCommandJob({
    name: drillCommandJobName(drill),
    namespace: deps.namespace,
    labels: drillLabels(drill),
    annotations: ownerRecord('RestoreDrill', drill),
    mover: deps.mover,
    image: command.image,
    command: command.command,
    runAsUser: command.runAsUser,
    scratchClaim: drillScratchName(drill),
    volumeMode: drill.status?.backup?.image === undefined ? 'Filesystem' : 'Block',
    deadlineSeconds: Math.max(1, Math.round(durationMs(command.timeout) / 1000)),
  });
  await ignoreAlreadyExists(() => deps.client.create(kinds.job, job));
}

/** The Job, the scratch volume and the Secret, whatever the drill's phase. */
export async function removeDrillTemporaries(deps: DrillStepDeps, drill: RestoreDrill): Promise<void> {
  await ignoreNotFound(() =>
    deps.client.delete(
      kinds.job,
      { namespace: deps.namespace, name: drillCommandJobName(drill) },
      { propagationPolicy: 'Background' },
    ),
  );
  await ignoreNotFound(() =>
    deps.client.delete(
      kinds.job,
      { namespace: deps.namespace, name: drillJobName(drill) },
      { propagationPolicy: 'Background' },
    ),
  );
  await ignoreNotFound(() =>
    deps.client.delete(kinds.persistentVolumeClaim, { namespace: deps.namespace, name: drillScratchName(drill) }),
  );
  await ignoreNotFound(() =>
    deps.client.delete(kinds.secret, { namespace: deps.namespace, name: `${drillObjectBase(drill)}-creds` }),
  );
}

async function cleanUpDrill(deps: DrillStepDeps, drill: RestoreDrill, now: Date): Promise<void> {
  if (isCleanedUp(drill)) return;
  await removeDrillTemporaries(deps, drill);
  await writeRunStatus(
    deps.client,
    kinds.restoreDrill,
    drill,
    {},
    cleanedUp('deleted the mover Job, its Secret and the scratch volume'),
    now,
  );
}
