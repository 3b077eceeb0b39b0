// The staging object of a BackupDownload: where it is (beside the restic
// repository in its bucket, outside restic's folders), the presigned URLs
// that let a mover upload it and a tenant's CLI fetch it without S3 keys, and
// its deletion when the download ends.
import { repositoryUrl, type BackupDownload, type BackupRepository } from '../../api/index.ts';
import { presignS3, s3ObjectLocation } from '../../core/index.ts';
import { kinds, objectKey, type KubeClient } from '../../kube/index.ts';
import type { Log } from '../operator.ts';

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface StagingDeps {
  client: KubeClient;
  now: () => Date;
  log: Log;
}

export function stagingObject(repository: BackupRepository, download: BackupDownload) {
  const url = repositoryUrl(repository.spec, download.status?.backup?.namespace ?? download.metadata.namespace);
  const location = s3ObjectLocation(url);
  if (!location.ok) return undefined;
  const key = `.safehold-downloads/${download.metadata.namespace}/${download.metadata.name}-${download.metadata.uid ?? ''}`;
  return { ...location.location, key };
}

/** A presigned URL of the staging object; GET URLs use the endpoint users reach. */
export async function presignStaging(
  deps: StagingDeps,
  download: BackupDownload,
  repository: BackupRepository,
  method: 'GET' | 'PUT' | 'DELETE',
  expiresSeconds: number,
  now: Date,
  /** The repository's S3 keys when the caller has read them already. */
  known?: S3Keys,
): Promise<string | undefined> {
  const staging = stagingObject(repository, download);
  if (staging === undefined) return undefined;
  const keys = known ?? (await s3Keys(deps.client, repository));
  if (keys === undefined) return undefined;
  return presignS3({
    method,
    endpoint: method === 'GET' ? (repository.spec.s3.publicEndpoint ?? staging.endpoint) : staging.endpoint,
    bucket: staging.bucket,
    key: staging.key,
    region: repository.spec.s3.region,
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
    expiresSeconds,
    now,
  });
}

/** Deletes the staging object (gone already is fine); a failure is logged, not thrown. */
export async function deleteStaging(
  deps: StagingDeps,
  download: BackupDownload,
  repository: BackupRepository | undefined,
): Promise<void> {
  if (repository === undefined || download.status?.backup === undefined) return;
  const url = await presignStaging(deps, download, repository, 'DELETE', 300, deps.now()).catch(() => undefined);
  if (url === undefined) return;
  try {
    const response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
    if (!response.ok && response.status !== 404)
      deps.log('could not delete a download staging object', {
        download: objectKey(download),
        status: response.status,
      });
  } catch (error) {
    deps.log('could not delete a download staging object', { download: objectKey(download), error: String(error) });
  }
}

/** The repository's S3 keys, read from the Secrets it names. */
async function s3Keys(client: KubeClient, repository: BackupRepository): Promise<S3Keys | undefined> {
  const read = async (ref: { namespace: string; name: string; key: string }) => {
    const secret = await client.get<{ data?: Record<string, string> }>(kinds.secret, ref);
    const value = secret.data?.[ref.key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  const accessKeyId = await read(repository.spec.s3.accessKeyId).catch(() => undefined);
  const secretAccessKey = await read(repository.spec.s3.secretAccessKey).catch(() => undefined);
  return accessKeyId === undefined || secretAccessKey === undefined ? undefined : { accessKeyId, secretAccessKey };
}
