// The download kind of run: a BackupDownload is checked like a restore, then
// one mover Job in Safehold's namespace reads the path from the backup and
// uploads it (a listing or a file) with a presigned PUT to a staging object
// beside the repository; the status then carries a presigned GET URL for the
// tenant's CLI, until it expires and the staging object is deleted. The run
// engine's finalizer makes sure the staging object goes with the download.
import {
  backupDownloadSpec,
  durationMs,
  repositoryUrl,
  runLabels,
  tenantOf,
  timestamp,
  volumePath,
  type BackupDownload,
  type BackupRepository,
  type DownloadTask,
  snapshotIdOf,
} from '../../api/index.ts';
import {
  maxPresignSeconds,
  moverCacheDir,
  moverJob,
  moverSourcePath,
  nextDownloadStep,
  ownerRecord,
  runObjectBase,
  type DownloadObservation,
  type DownloadStep,
} from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type Requeue } from '../../kube/index.ts';
import { moverOutcome } from '../run/mover-outcome.ts';
import { createCredentialsSecret, repositoryCredentials, repositorySource } from '../run/repository-credentials.ts';
import { labelledRun, runEnded, type RunKind } from '../run/run-kind.ts';
import { statusWriter, writeWaiting } from '../run/run-status.ts';
import { observeBackupChoice, restoreFinished } from '../restore/restore-observation.ts';
import { deleteStaging, presignStaging } from './download-staging.ts';
import type { ReadingRunDeps } from '../run/reading-run-deps.ts';

export type DownloadDeps = ReadingRunDeps;

/** How long the mover's upload URL is valid. */
const uploadSeconds = 6 * 3600;
const downloadKind = 'download:';

export function downloadJobName(download: BackupDownload): string {
  return `${runObjectBase(download, downloadKind)}-dl`;
}

export function downloadFinished(download: { status?: { phase?: string | undefined } | undefined }): boolean {
  return ['Succeeded', 'Failed', 'Expired'].includes(download.status?.phase ?? '');
}

interface ObservedDownload {
  observation: DownloadObservation;
  repository: BackupRepository | undefined;
}

export function downloadKindOf(deps: DownloadDeps): RunKind<BackupDownload, ObservedDownload, DownloadStep> {
  const { cache } = deps;
  return {
    kind: 'BackupDownload',
    resource: kinds.backupDownload,
    informer: cache.downloads,
    concurrency: 2,
    starts: 'reads',
    owned: [cache.jobs, cache.pods],
    runOf: labelledRun(runLabels.download),
    // A restore that ends frees a slot that downloads share.
    wakeUps: [
      { informer: cache.maintenances, when: () => true },
      { informer: cache.restores, when: runEnded(restoreFinished) },
    ],
    finished: downloadFinished,
    // A succeeded download keeps its staging object until the URL expires.
    holdsTemporaries: (download) => download.status?.phase === 'Succeeded',
    observe: (download) => observe(deps, download),
    next: (observed) => nextDownloadStep(observed.observation),
    carryOut: (download, observed, step) => carryOut(deps, download, observed.repository, step),
    cleanUp: async (download) => {
      await cleanUp(deps, download);
      await deleteStaging(deps, download, cache.repository(download.status?.backup?.repository ?? ''));
    },
  };
}

function observe(deps: DownloadDeps, download: BackupDownload): ObservedDownload {
  const chosen = observeBackupChoice(deps, download);
  return {
    repository: chosen.repository,
    observation: {
      now: deps.now(),
      download,
      invalid: invalidSpec(download),
      forbidden: chosen.forbidden,
      choice: chosen.choice,
      repositoryFound: chosen.repository !== undefined,
      maintenance: chosen.maintenance,
      readers: chosen.readers,
      job: moverOutcome(deps.cache, deps.namespace, downloadJobName(download)),
    },
  };
}

async function carryOut(
  deps: DownloadDeps,
  download: BackupDownload,
  repository: BackupRepository | undefined,
  step: DownloadStep,
): Promise<Requeue | undefined> {
  const now = deps.now();
  const stamp = timestamp(now);
  const setStatus = statusWriter(deps.client, kinds.backupDownload, download, now);
  switch (step.kind) {
    case 'wait':
      await writeWaiting(deps.client, kinds.backupDownload, download, step, now);
      return { requeueAfterMs: step.recheckMs };
    case 'start':
      await setStatus({
        phase: 'Running',
        backup: step.backup,
        startTime: stamp,
        reason: 'MoverRunning',
        message: `reading ${download.spec.path ?? '/'} from ${download.spec.source.dump === undefined ? '' : 'ApplicationDump '}${step.backup.namespace}/${step.backup.pvc} as of ${step.backup.snapshotTime ?? '?'}`,
      });
      return undefined;
    case 'create-job': {
      const missing =
        repository === undefined ? 'the repository is gone' : await createJob(deps, download, repository, now);
      if (missing !== undefined)
        await setStatus(
          { phase: 'Failed', reason: 'SecretNotFound', message: missing, completionTime: stamp },
          { status: 'False', reason: 'SecretNotFound', message: missing },
        );
      return undefined;
    }
    case 'succeed': {
      if (repository === undefined) return undefined;
      const ttlMs = durationMs(download.spec.ttl ?? '1h');
      const url = await presignStaging(deps, download, repository, 'GET', Math.max(1, Math.round(ttlMs / 1000)), now);
      const r = step.result;
      const expires = new Date(now.getTime() + ttlMs);
      const message = `${r.what === 'listing' ? `${r.entries ?? 0} entries` : `${r.bytes} bytes`} ready to download until ${expires.toISOString()}`;
      await setStatus(
        {
          phase: 'Succeeded',
          reason: 'Succeeded',
          message,
          completionTime: stamp,
          ...(url === undefined ? {} : { url }),
          expiresAt: timestamp(expires),
          bytes: r.bytes,
          ...(r.entries === undefined ? {} : { entries: r.entries }),
        },
        { status: 'True', reason: 'Succeeded', message },
      );
      await cleanUp(deps, download);
      return { requeueAfterMs: ttlMs };
    }
    case 'fail':
      await setStatus(
        { phase: 'Failed', reason: step.reason, message: step.message, completionTime: stamp },
        { status: 'False', reason: step.reason, message: step.message },
      );
      await cleanUp(deps, download);
      await deleteStaging(deps, download, repository);
      return undefined;
    case 'expire':
      await deleteStaging(deps, download, repository);
      await setStatus(
        {
          phase: 'Expired',
          reason: 'Expired',
          message: 'the download URL expired and its object was deleted',
          url: undefined,
        },
        { status: 'True', reason: 'Expired', message: 'expired' },
      );
      return undefined;
    case 'remove':
      await ignoreNotFound(() =>
        deps.client.delete(kinds.backupDownload, {
          namespace: download.metadata.namespace,
          name: download.metadata.name,
        }),
      );
      return undefined;
    case 'done':
      return step.recheckMs === undefined ? undefined : { requeueAfterMs: step.recheckMs };
  }
}

/** The Secret (credentials and the upload URL) and the Job; undefined when created, else what is missing. */
async function createJob(
  deps: DownloadDeps,
  download: BackupDownload,
  repository: BackupRepository,
  now: Date,
): Promise<string | undefined> {
  const backup = download.status?.backup;
  if (backup === undefined) return 'no backup chosen';
  const credentials = await repositoryCredentials(
    deps.client,
    deps.namespace,
    repository,
    tenantOf(repository.spec, backup.namespace),
    false,
  );
  if ('missing' in credentials) return credentials.missing;
  const decode = (name: string) => Buffer.from(credentials.data[name] ?? '', 'base64').toString('utf8');
  const keys = { accessKeyId: decode('AWS_ACCESS_KEY_ID'), secretAccessKey: decode('AWS_SECRET_ACCESS_KEY') };
  const upload = await presignStaging(deps, download, repository, 'PUT', uploadSeconds, now, keys);
  if (upload === undefined) return `cannot tell the bucket of BackupRepository ${repository.metadata.name}`;
  const base = runObjectBase(download, downloadKind);
  const labels = {
    [runLabels.download]: download.metadata.name,
    [runLabels.namespace]: download.metadata.namespace,
    [runLabels.component]: 'mover',
  };
  const annotations = ownerRecord('BackupDownload', download);
  await createCredentialsSecret(
    deps.client,
    { name: `${base}-creds`, namespace: deps.namespace, labels, annotations },
    { ...credentials.data, SAFEHOLD_UPLOAD_URL: Buffer.from(upload).toString('base64') },
  );
  const task: DownloadTask = {
    kind: 'download',
    repository: {
      engine: repository.spec.engine,
      url: repositoryUrl(repository.spec, backup.namespace),
      region: repository.spec.s3.region,
      initialize: false,
      source: repositorySource(deps.namespace, repository, tenantOf(repository.spec, backup.namespace)),
    },
    cacheDir: moverCacheDir,
    source: { snapshotId: snapshotIdOf(backup) ?? '', snapshotPath: backup.snapshotPath ?? moverSourcePath },
    path: download.spec.path ?? '/',
    what: download.spec.what ?? 'listing',
    depth: download.spec.depth ?? 1,
  };
  await ignoreAlreadyExists(() =>
    deps.client.create(
      kinds.job,
      moverJob({
        name: downloadJobName(download),
        namespace: deps.namespace,
        labels,
        annotations,
        mover: deps.mover,
        task,
        secretName: `${base}-creds`,
        deadlineSeconds: uploadSeconds,
      }),
    ),
  );
  return undefined;
}

/** The Job and the Secret (the staging object is deleted when the URL expires or the download goes). */
async function cleanUp(deps: DownloadDeps, download: BackupDownload): Promise<void> {
  const base = runObjectBase(download, downloadKind);
  await ignoreNotFound(() =>
    deps.client.delete(
      kinds.job,
      { namespace: deps.namespace, name: downloadJobName(download) },
      { propagationPolicy: 'Background' },
    ),
  );
  await ignoreNotFound(() => deps.client.delete(kinds.secret, { namespace: deps.namespace, name: `${base}-creds` }));
}

function invalidSpec(download: BackupDownload): string | undefined {
  const problems: string[] = [];
  const parsed = backupDownloadSpec.safeParse(download.spec);
  if (!parsed.success)
    for (const issue of parsed.error.issues) problems.push(`spec.${issue.path.join('.')}: ${issue.message}`);
  const { pvc, dump } = download.spec.source;
  if ((pvc === undefined) === (dump === undefined))
    problems.push('spec.source: name exactly one of pvc (a volume) and dump (an ApplicationDump)');
  const path = volumePath.safeParse(download.spec.path ?? '/');
  if (!path.success) problems.push(`spec.path: "${download.spec.path ?? ''}": ${path.error.issues[0]?.message ?? ''}`);
  if (durationMs(download.spec.ttl ?? '1h') > maxPresignSeconds * 1000)
    problems.push(`spec.ttl: at most 7d (${download.spec.ttl ?? ''}): a presigned URL lives no longer`);
  if (download.spec.asOf !== undefined && (download.spec.backup ?? 'latest') !== 'latest')
    problems.push('spec.asOf: give either a time (asOf) or a backup, not both');
  return problems.length === 0 ? undefined : problems.join('; ');
}
