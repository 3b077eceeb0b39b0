// The bucket-restore kind of run: a BucketRestore is checked (its dump, where
// it writes, the writer's Secret, the stored dump it asks for), waits like a
// download for the repository's maintenance and a free slot, then one mover
// Job in Safehold's namespace reads the dump's snapshot from the repository
// the dump used (the same tenant's key) and writes the objects with the
// writer's keys. The Job and its Secret go when the run ends.
import {
  repositoryUrl,
  tenantOf,
  timestamp,
  bucketRestoreLabel,
  type BackupRepository,
  type BucketRestore,
  type BucketRestoreReason,
  type BucketRestoreTask,
} from '../../api/index.ts';
import {
  bucketRestoreFinished,
  moverCacheDir,
  moverJob,
  nextBucketRestoreStep,
  ownerRecord,
  type BucketRestoreStep,
} from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type Requeue } from '../../kube/index.ts';
import { downloadFinished } from '../download/download-kind.ts';
import { restoreFinished } from '../restore/restore-observation.ts';
import { createCredentialsSecret, repositoryCredentials, repositorySource } from '../run/repository-credentials.ts';
import { runEvent } from '../run/run-event.ts';
import { labelledRun, runEnded, type RunKind } from '../run/run-kind.ts';
import { cleanedUp, isCleanedUp, statusWriter, writeWaiting } from '../run/run-status.ts';
import {
  bucketRestoreJobName,
  bucketRestoreLabels,
  bucketRestoreObjectBase,
  observeBucketRestore,
  type ObservedBucketRestore,
} from './bucket-restore-observation.ts';
import { writerSecret } from './writer-secret.ts';
import type { ReadingRunDeps } from '../run/reading-run-deps.ts';

export type BucketRestoreDeps = ReadingRunDeps;

/** How long a mover may write objects before its Job is stopped. */
const deadlineSeconds = 12 * 3600;

export function bucketRestoreKindOf(
  deps: BucketRestoreDeps,
): RunKind<BucketRestore, ObservedBucketRestore, BucketRestoreStep> {
  const { cache } = deps;
  return {
    kind: 'BucketRestore',
    resource: kinds.bucketRestore,
    informer: cache.bucketRestores,
    concurrency: 2,
    // It reads a repository: never beside a prune of it, and under the limit of restores and downloads.
    starts: 'reads',
    owned: [cache.jobs, cache.pods],
    runOf: labelledRun(bucketRestoreLabel),
    wakeUps: [
      { informer: cache.maintenances, when: () => true },
      { informer: cache.restores, when: runEnded(restoreFinished) },
      { informer: cache.downloads, when: runEnded(downloadFinished) },
    ],
    finished: bucketRestoreFinished,
    nothingAfterCleanUp: true,
    observe: (restore) => observeBucketRestore(deps, restore),
    next: (observed) => nextBucketRestoreStep(observed.observation),
    carryOut: (restore, observed, step) => carryOut(deps, restore, observed.repository, step),
    cleanUp: (restore) => deleteTemporaries(deps, restore),
  };
}

async function carryOut(
  deps: BucketRestoreDeps,
  restore: BucketRestore,
  repository: BackupRepository | undefined,
  step: BucketRestoreStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = timestamp(now);
  const setStatus = statusWriter(deps.client, kinds.bucketRestore, restore, now);
  switch (step.kind) {
    case 'wait':
      await writeWaiting(deps.client, kinds.bucketRestore, restore, step, now);
      return { requeueAfterMs: step.recheckMs };
    case 'start': {
      const { backup, target } = step;
      const keys = target.prefix === undefined ? 'every key' : `the keys under "${target.prefix}"`;
      await setStatus({
        phase: 'Running',
        reason: 'MoverRunning',
        message: `writing ${keys} of ApplicationDump ${restore.metadata.namespace}/${restore.spec.dump} as of ${backup.snapshotTime ?? '?'} (DumpRun ${backup.run}) into bucket ${target.bucket} at ${target.endpoint}`,
        backup,
        sourceBucket: step.sourceBucket,
        target,
        startTime: stamp,
      });
      return undefined;
    }
    case 'create-job': {
      const missing =
        repository === undefined
          ? { reason: 'RepositoryNotFound' as const, message: 'the repository of the chosen dump is gone' }
          : await createJob(deps, restore, repository);
      if (missing !== undefined) await finish(deps, restore, 'Failed', missing.reason, missing.message, {});
      return undefined;
    }
    case 'succeed': {
      const { written, unchanged, deleted } = step.objects;
      const target = restore.status?.target;
      const message = `bucket ${target?.bucket ?? '?'} holds ${target?.prefix === undefined ? 'the objects' : `the keys under "${target.prefix}"`} as of ${restore.status?.backup?.snapshotTime ?? '?'}: ${written} written, ${unchanged} unchanged, ${deleted} deleted`;
      await finish(deps, restore, 'Succeeded', 'Succeeded', message, { objects: step.objects });
      return undefined;
    }
    case 'fail':
      await finish(deps, restore, 'Failed', step.reason, step.message, {});
      return undefined;
    case 'done':
      if (!isCleanedUp(restore)) await cleanUp(deps, restore);
      return undefined;
  }
}

/** The run's end: its status, an Event, and its temporaries removed. */
async function finish(
  deps: BucketRestoreDeps,
  restore: BucketRestore,
  phase: 'Succeeded' | 'Failed',
  reason: BucketRestoreReason,
  message: string,
  fields: { objects?: { written: number; unchanged: number; deleted: number } },
): Promise<void> {
  const now = deps.now();
  await statusWriter(
    deps.client,
    kinds.bucketRestore,
    restore,
    now,
  )(
    { phase, reason, message, completionTime: timestamp(now), ...fields },
    { status: phase === 'Succeeded' ? 'True' : 'False', reason, message },
  );
  await runEvent(
    deps.client,
    'BucketRestore',
    restore,
    {
      type: phase === 'Succeeded' ? 'Normal' : 'Warning',
      reason: phase === 'Succeeded' ? 'BucketRestored' : reason,
      message,
    },
    now,
  );
  await cleanUp(deps, restore);
}

/** The Secret (repository credentials and the writer's keys) and the Job; undefined when created, else what is wrong. */
async function createJob(
  deps: BucketRestoreDeps,
  restore: BucketRestore,
  repository: BackupRepository,
): Promise<{ reason: BucketRestoreReason; message: string } | undefined> {
  const status = restore.status ?? {};
  const { backup, target, sourceBucket } = status;
  if (backup === undefined || target === undefined || sourceBucket === undefined)
    return { reason: 'InvalidSpec', message: 'the restore started without a chosen dump and target' };
  const ns = restore.metadata.namespace;
  // The dump was stored under the tenant of the restore's namespace: its key reads it.
  const tenant = tenantOf(repository.spec, ns);
  const credentials = await repositoryCredentials(deps.client, deps.namespace, repository, tenant, false);
  if ('missing' in credentials) return { reason: 'SecretNotFound', message: credentials.missing };
  const writer = await writerSecret(deps.client, restore);
  if ('missing' in writer) return { reason: 'SecretNotFound', message: writer.missing };
  const labels = bucketRestoreLabels(restore);
  const annotations = ownerRecord('BucketRestore', restore);
  const secretName = `${bucketRestoreObjectBase(restore)}-creds`;
  await createCredentialsSecret(
    deps.client,
    { name: secretName, namespace: deps.namespace, labels, annotations },
    { ...credentials.data, ...writer.data },
  );
  const task: BucketRestoreTask = {
    kind: 'bucket-restore',
    repository: {
      engine: repository.spec.engine,
      url: repositoryUrl(repository.spec, ns),
      region: repository.spec.s3.region,
      initialize: false,
      source: repositorySource(deps.namespace, repository, tenant),
    },
    snapshotId: backup.snapshotId,
    sourceBucket,
    bucket: { endpoint: target.endpoint, name: target.bucket, region: target.region ?? 'us-east-1' },
    ...(target.prefix === undefined ? {} : { prefix: target.prefix }),
    deleteNewer: restore.spec.deleteNewer ?? false,
    cacheDir: moverCacheDir,
  };
  await ignoreAlreadyExists(() =>
    deps.client.create(
      kinds.job,
      moverJob({
        name: bucketRestoreJobName(restore),
        namespace: deps.namespace,
        labels,
        annotations,
        mover: deps.mover,
        task,
        secretName,
        deadlineSeconds,
      }),
    ),
  );
  return undefined;
}

/** The Job and the Secret; the clean-up is recorded once the run has ended. */
async function cleanUp(deps: BucketRestoreDeps, restore: BucketRestore): Promise<void> {
  await deleteTemporaries(deps, restore);
  await ignoreNotFound(() =>
    statusWriter(
      deps.client,
      kinds.bucketRestore,
      restore,
      deps.now(),
    )({}, cleanedUp('the mover Job and its Secret are deleted')),
  );
}

async function deleteTemporaries(deps: BucketRestoreDeps, restore: BucketRestore): Promise<void> {
  await ignoreNotFound(() =>
    deps.client.delete(
      kinds.job,
      { namespace: deps.namespace, name: bucketRestoreJobName(restore) },
      { propagationPolicy: 'Background' },
    ),
  );
  await ignoreNotFound(() =>
    deps.client.delete(kinds.secret, { namespace: deps.namespace, name: `${bucketRestoreObjectBase(restore)}-creds` }),
  );
}
