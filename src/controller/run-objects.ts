// The temporary objects of one run, each created idempotently and owned by
// the VolumeBackup: the credentials Secret, the VolumeSnapshot, the clone
// PVC restored from it, and the mover Job.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { durationMs, repositoryUrl, resticHost, type BackupTask, type VolumeBackup } from '../api/index.ts';
import { moverCacheDir, moverJob, moverSourcePath, ownerReference, runObjectLabels } from '../core/index.ts';
import { ignoreNotFound, ignoreAlreadyExists, isNotFound, kinds, type KubeClient } from '../kube/index.ts';
import type { BackupControllerDeps } from './backup-controller.ts';
import {
  credentialsSecretName,
  nodeUsing,
  snapshotName,
  tempClaimName,
  type ObservedRun,
} from './backup-observation.ts';

export async function ensureCredentials(
  client: KubeClient,
  backup: VolumeBackup,
  observed: ObservedRun,
): Promise<string | undefined> {
  const repo = observed.repository;
  if (repo === undefined) return 'no repository';
  const refs = [
    ['RESTIC_PASSWORD', repo.spec.password],
    ['AWS_ACCESS_KEY_ID', repo.spec.s3.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', repo.spec.s3.secretAccessKey],
  ] as const;
  const data: Record<string, string> = {};
  for (const [name, ref] of refs) {
    try {
      const secret = await client.get<{ data?: Record<string, string> }>(kinds.secret, {
        namespace: ref.namespace,
        name: ref.name,
      });
      const value = secret.data?.[ref.key];
      if (value === undefined)
        return `Secret ${ref.namespace}/${ref.name} has no key "${ref.key}" (BackupRepository ${repo.metadata.name})`;
      data[name] = value;
    } catch (error) {
      if (isNotFound(error))
        return `Secret ${ref.namespace}/${ref.name} not found (BackupRepository ${repo.metadata.name})`;
      throw error;
    }
  }
  await ignoreAlreadyExists(() =>
    client.create(kinds.secret, {
      metadata: {
        name: credentialsSecretName(backup),
        namespace: backup.metadata.namespace,
        labels: runObjectLabels(backup),
        ownerReferences: [ownerReference(backup)],
      },
      type: 'Opaque',
      data,
    } as never),
  );
  return undefined;
}

export async function createSnapshot(deps: BackupControllerDeps, backup: VolumeBackup): Promise<void> {
  const ns = backup.metadata.namespace;
  const pvName = deps.cache.claims.get(`${ns}/${backup.spec.pvc}`)?.spec?.volumeName;
  const driver = pvName === undefined ? undefined : deps.cache.volumes.get(pvName)?.spec?.csi?.driver;
  const classes = deps.cache.snapshotClasses.list().filter((c) => c.driver === driver);
  const chosen =
    classes.find((c) => c.metadata?.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true') ??
    classes[0];
  await ignoreAlreadyExists(() =>
    deps.client.create(kinds.volumeSnapshot, {
      metadata: {
        name: snapshotName(backup),
        namespace: ns,
        labels: runObjectLabels(backup),
        ownerReferences: [ownerReference(backup)],
      },
      spec: {
        source: { persistentVolumeClaimName: backup.spec.pvc },
        ...(chosen?.metadata?.name === undefined ? {} : { volumeSnapshotClassName: chosen.metadata.name }),
      },
    } as never),
  );
}

export async function createTempClaim(deps: BackupControllerDeps, backup: VolumeBackup): Promise<void> {
  const ns = backup.metadata.namespace;
  const source = deps.cache.claims.get(`${ns}/${backup.spec.pvc}`);
  const size = source?.status?.capacity?.storage ?? source?.spec?.resources?.requests?.storage ?? '1Gi';
  const claim: PersistentVolumeClaim = {
    metadata: {
      name: tempClaimName(backup),
      namespace: ns,
      labels: runObjectLabels(backup),
      ownerReferences: [ownerReference(backup)],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      ...(source?.spec?.storageClassName === undefined ? {} : { storageClassName: source.spec.storageClassName }),
      volumeMode: source?.spec?.volumeMode ?? 'Filesystem',
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshotName(backup) },
    },
  };
  await ignoreAlreadyExists(() => deps.client.create(kinds.persistentVolumeClaim, claim));
}

/** Creates the attempt's mover Job; returns the node it is pinned to, if any. */
export async function createJob(
  deps: BackupControllerDeps,
  backup: VolumeBackup,
  observed: ObservedRun,
): Promise<string | undefined> {
  const repo = observed.repository;
  const policy = observed.observation.policy;
  if (repo === undefined || policy === undefined) return undefined;
  const ns = backup.metadata.namespace;
  const claim = deps.cache.claims.get(`${ns}/${backup.spec.pvc}`);
  const method = backup.status?.method ?? observed.observation.method;
  const task: BackupTask = {
    kind: 'backup',
    repository: {
      url: repositoryUrl(repo.spec, ns),
      region: repo.spec.s3.region,
      initialize: true,
    },
    sourcePath: moverSourcePath,
    host: resticHost(repo.spec, ns, backup.spec.pvc),
    tags: [
      `namespace=${ns}`,
      `pvc=${backup.spec.pvc}`,
      `pv=${claim?.spec?.volumeName ?? ''}`,
      `policy=${policy.metadata.name}`,
      `run=${backup.metadata.name}`,
    ],
    cacheDir: moverCacheDir,
    changeDetection: method === 'snapshot' ? 'mtime-size' : 'inode',
  };
  // A live RWO volume already in use can only be read on the node that has it.
  const node = method === 'live' ? nodeUsing(deps.cache, ns, backup.spec.pvc) : undefined;
  const job = moverJob({
    backup,
    attempt: backup.status?.attempt ?? 1,
    image: deps.moverImage,
    task,
    sourceClaim: method === 'snapshot' ? tempClaimName(backup) : backup.spec.pvc,
    secretName: credentialsSecretName(backup),
    nodeName: node,
    deadlineSeconds: Math.max(
      60,
      Math.round(
        (Date.parse(backup.metadata.creationTimestamp ?? '') +
          durationMs(policy.spec.retry.deadline) -
          deps.now().getTime()) /
          1000,
      ) || 3600,
    ),
  });
  await ignoreAlreadyExists(() => deps.client.create(kinds.job, job));
  return node;
}

export async function deleteRunVolumes(client: KubeClient, backup: VolumeBackup, snapshotToo: boolean): Promise<void> {
  const ns = backup.metadata.namespace;
  await ignoreNotFound(() =>
    client.delete(kinds.persistentVolumeClaim, { namespace: ns, name: tempClaimName(backup) }),
  );
  if (snapshotToo)
    await ignoreNotFound(() => client.delete(kinds.volumeSnapshot, { namespace: ns, name: snapshotName(backup) }));
}
