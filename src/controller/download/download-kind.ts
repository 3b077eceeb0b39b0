// Runs BackupDownloads: checks them like restores, then one mover Job in
// Safehold's namespace reads the path from the backup and uploads it (a
// listing or a file) with a presigned PUT to a staging object beside the
// repository; the status then carries a presigned GET URL for the tenant's
// CLI, until it expires and the staging object is deleted. A finalizer makes
// sure the staging object goes with the BackupDownload.
import {
  type BackupDownload,
  backupDownloadSpec,
  type BackupDownloadStatus,
  type BackupRepository,
  type DownloadTask,
  durationMs,
  type MoverSettings,
  repositoryUrl,
  runLabels,
  tenantOf,
  volumePath,
} from '../../api/index.ts';
import {
  moverCacheDir,
  moverJob,
  moverSourcePath,
  nextDownloadStep,
  maxPresignSeconds,
  runObjectBase,
  setCondition,
  type DownloadStep,
} from '../../core/index.ts';
import {
  ignoreAlreadyExists,
  ignoreNotFound,
  kinds,
  objectKey,
  WorkQueue,
  writeStatus,
  type KubeClient,
  type KubeObject,
  type Requeue,
} from '../../kube/index.ts';
import { jobOutcome } from '../backup/backup-observation.ts';
import { deleteStaging, presignStaging } from './download-staging.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';
import { createCredentialsSecret, repositoryCredentials } from '../run/repository-credentials.ts';
import { observeBackupChoice } from '../restore/restore-observation.ts';
import type { StartGate } from '../run/start-gate.ts';

export interface DownloadControllerDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  log: Log;
  gate: StartGate;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
}

const stagingFinalizer = 'safehold.io/staging-object';
/** How long the mover's upload URL is valid. */
const uploadSeconds = 6 * 3600;
const downloadKind = 'download:';

type Condition = NonNullable<BackupDownloadStatus['conditions']>[number];

export function downloadJobName(download: BackupDownload): string {
  return `${runObjectBase(download, downloadKind)}-dl`;
}

export class DownloadController {
  readonly #deps: DownloadControllerDeps;
  readonly #queue: WorkQueue;
  #ready = false;

  constructor(deps: DownloadControllerDeps) {
    this.#deps = deps;
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      concurrency: 2,
      onError: (key, error) =>
        deps.log('download reconcile failed', {
          download: key,
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    const { cache } = deps;
    cache.downloads.onChange((c) => this.#queue.add(c.key));
    const byLabel = (object: KubeObject) => {
      const name = object.metadata?.labels?.[runLabels.download];
      const ns = object.metadata?.labels?.[runLabels.namespace];
      if (name !== undefined && ns !== undefined) this.#queue.add(`${ns}/${name}`);
    };
    cache.jobs.onChange((c) => byLabel(c.object));
    cache.pods.onChange((c) => byLabel(c.object));
    cache.maintenances.onChange(() => {
      for (const d of cache.downloads.list())
        if ((d.status?.phase ?? 'Pending') === 'Pending') this.#queue.add(objectKey(d));
    });
  }

  async start(): Promise<void> {
    await this.#deps.cache.synced();
    this.#ready = true;
    for (const download of this.#deps.cache.downloads.list()) this.#queue.add(objectKey(download));
  }

  stop(): void {
    this.#queue.stop();
  }

  async #reconcile(key: string): Promise<Requeue | undefined> {
    if (!this.#ready) return undefined;
    const download = this.#deps.cache.downloads.get(key);
    if (download === undefined) return undefined;
    const uid = download.metadata.uid ?? '';
    const phase = download.status?.phase ?? 'Pending';
    if (phase !== 'Pending') this.#deps.gate.startingReads.delete(uid);
    if (phase === 'Pending') return this.#deps.gate.serialize(() => this.#step(download));
    return this.#step(download);
  }

  async #step(download: BackupDownload): Promise<Requeue | undefined> {
    const deps = this.#deps;
    const chosen = observeBackupChoice(deps, download);
    const job = deps.cache.jobs.get(`${deps.namespace}/${downloadJobName(download)}`);
    const step = nextDownloadStep({
      now: deps.now(),
      download,
      invalid: invalidSpec(download),
      forbidden: chosen.forbidden,
      choice: chosen.choice,
      repositoryFound: chosen.repository !== undefined,
      maintenance: chosen.maintenance,
      deleting: download.metadata.deletionTimestamp !== undefined,
      job:
        job === undefined
          ? undefined
          : jobOutcome(deps.cache, deps.namespace, job.metadata?.name ?? '', job.status?.conditions ?? []),
    });
    const uid = download.metadata.uid ?? '';
    if (step.kind === 'start') deps.gate.startingReads.add(uid);
    try {
      return await this.#carryOut(download, chosen.repository, step);
    } catch (error) {
      if (step.kind === 'start') deps.gate.startingReads.delete(uid);
      throw error;
    }
  }

  async #carryOut(
    download: BackupDownload,
    repository: BackupRepository | undefined,
    step: DownloadStep,
  ): Promise<Requeue | undefined> {
    const deps = this.#deps;
    const now = deps.now();
    const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const setStatus = (patch: Partial<BackupDownloadStatus>, complete?: Omit<Condition, 'lastTransitionTime'>) =>
      writeStatus<BackupDownload>(deps.client, kinds.backupDownload, objectRef(download), (current) => {
        const status: BackupDownloadStatus = { ...current.status, ...patch };
        if (complete !== undefined) status.conditions = setCondition(current.status?.conditions ?? [], complete, stamp);
        return JSON.parse(JSON.stringify(status)) as BackupDownloadStatus;
      });
    switch (step.kind) {
      case 'wait':
        if (download.status?.reason !== step.reason || download.status.message !== step.message)
          await setStatus({
            ...(download.status?.phase === undefined ? { phase: 'Pending' } : {}),
            reason: step.reason,
            message: step.message,
          });
        return { requeueAfterMs: step.recheckMs };
      case 'start':
        await deps.client.mergePatch(kinds.backupDownload, objectRef(download), {
          metadata: {
            finalizers: [
              ...(download.metadata.finalizers ?? []).filter((f) => f !== stagingFinalizer),
              stagingFinalizer,
            ],
          },
        });
        await setStatus({
          phase: 'Running',
          backup: step.backup,
          startTime: stamp,
          reason: 'MoverRunning',
          message: `reading ${download.spec.path ?? '/'} from ${step.backup.namespace}/${step.backup.pvc} as of ${step.backup.snapshotTime ?? '?'}`,
        });
        return undefined;
      case 'create-job': {
        const missing =
          repository === undefined ? 'the repository is gone' : await this.#createJob(download, repository, now);
        if (missing !== undefined)
          await setStatus(
            { phase: 'Failed', reason: 'SecretNotFound', message: missing, completionTime: stamp },
            { type: 'Complete', status: 'False', reason: 'SecretNotFound', message: missing },
          );
        return undefined;
      }
      case 'succeed': {
        if (repository === undefined) return undefined;
        const ttlMs = durationMs(download.spec.ttl ?? '1h');
        const url = await presignStaging(
          this.#deps,
          download,
          repository,
          'GET',
          Math.max(1, Math.round(ttlMs / 1000)),
          now,
        );
        const r = step.result;
        const message = `${r.what === 'listing' ? `${r.entries ?? 0} entries` : `${r.bytes} bytes`} ready to download until ${new Date(now.getTime() + ttlMs).toISOString()}`;
        await setStatus(
          {
            phase: 'Succeeded',
            reason: 'Succeeded',
            message,
            completionTime: stamp,
            ...(url === undefined ? {} : { url }),
            expiresAt: new Date(now.getTime() + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            bytes: r.bytes,
            ...(r.entries === undefined ? {} : { entries: r.entries }),
          },
          { type: 'Complete', status: 'True', reason: 'Succeeded', message },
        );
        await this.#cleanUp(download);
        return { requeueAfterMs: ttlMs };
      }
      case 'fail':
        await setStatus(
          { phase: 'Failed', reason: step.reason, message: step.message, completionTime: stamp },
          { type: 'Complete', status: 'False', reason: step.reason, message: step.message },
        );
        await this.#cleanUp(download);
        await deleteStaging(this.#deps, download, repository);
        return undefined;
      case 'expire':
        await deleteStaging(this.#deps, download, repository);
        await setStatus(
          {
            phase: 'Expired',
            reason: 'Expired',
            message: 'the download URL expired and its object was deleted',
            url: undefined,
          },
          { type: 'Complete', status: 'True', reason: 'Expired', message: 'expired' },
        );
        return undefined;
      case 'finalize':
        await this.#cleanUp(download);
        await deleteStaging(this.#deps, download, repository);
        await ignoreNotFound(() =>
          deps.client.mergePatch(kinds.backupDownload, objectRef(download), {
            metadata: { finalizers: (download.metadata.finalizers ?? []).filter((f) => f !== stagingFinalizer) },
          }),
        );
        return undefined;
      case 'remove':
        await ignoreNotFound(() => deps.client.delete(kinds.backupDownload, objectRef(download)));
        return undefined;
      case 'done':
        return step.recheckMs === undefined ? undefined : { requeueAfterMs: step.recheckMs };
    }
  }

  /** The Secret (credentials and the upload URL) and the Job; undefined when created, else what is missing. */
  async #createJob(download: BackupDownload, repository: BackupRepository, now: Date): Promise<string | undefined> {
    const deps = this.#deps;
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
    const upload = await presignStaging(this.#deps, download, repository, 'PUT', uploadSeconds, now, keys);
    if (upload === undefined) return `cannot tell the bucket of BackupRepository ${repository.metadata.name}`;
    const base = runObjectBase(download, downloadKind);
    const labels = {
      [runLabels.download]: download.metadata.name,
      [runLabels.namespace]: download.metadata.namespace,
      [runLabels.component]: 'mover',
    };
    await createCredentialsSecret(
      deps.client,
      { name: `${base}-creds`, namespace: deps.namespace, labels },
      { ...credentials.data, SAFEHOLD_UPLOAD_URL: Buffer.from(upload).toString('base64') },
    );
    const task: DownloadTask = {
      kind: 'download',
      repository: {
        url: repositoryUrl(repository.spec, backup.namespace),
        region: repository.spec.s3.region,
        initialize: false,
      },
      cacheDir: moverCacheDir,
      source: { snapshotId: backup.resticSnapshotId, snapshotPath: backup.snapshotPath ?? moverSourcePath },
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
          mover: deps.mover,
          task,
          secretName: `${base}-creds`,
          deadlineSeconds: uploadSeconds,
        }),
      ),
    );
    return undefined;
  }

  async #cleanUp(download: BackupDownload): Promise<void> {
    const deps = this.#deps;
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
}

function objectRef(download: BackupDownload) {
  return { namespace: download.metadata.namespace, name: download.metadata.name };
}

function invalidSpec(download: BackupDownload): string | undefined {
  const problems: string[] = [];
  const parsed = backupDownloadSpec.safeParse(download.spec);
  if (!parsed.success)
    for (const issue of parsed.error.issues) problems.push(`spec.${issue.path.join('.')}: ${issue.message}`);
  const path = volumePath.safeParse(download.spec.path ?? '/');
  if (!path.success) problems.push(`spec.path: "${download.spec.path ?? ''}": ${path.error.issues[0]?.message ?? ''}`);
  if (durationMs(download.spec.ttl ?? '1h') > maxPresignSeconds * 1000)
    problems.push(`spec.ttl: at most 7d (${download.spec.ttl ?? ''}): a presigned URL lives no longer`);
  if (download.spec.asOf !== undefined && (download.spec.backup ?? 'latest') !== 'latest')
    problems.push('spec.asOf: give either a time (asOf) or a backup, not both');
  return problems.length === 0 ? undefined : problems.join('; ');
}
