// A backup run's own objects in Safehold's namespace, each created
// idempotently with the run's labels and owner record (an owner reference
// cannot cross namespaces): the copy of the repository credentials and the
// mover Job. The volume's exposure (snapshot, clone, alias) is the exposer's.
// Clean-up removes them all: Job, exposure, then the Secret.
import { durationMs, repositoryUrl, resticHost, tenantOf, type MoverTask, type VolumeBackup } from '../../api/index.ts';
import {
  cephfsSnapshotName,
  moverCacheDir,
  moverJob,
  moverJobName,
  moverSourceDevice,
  moverSourcePath,
  ownerRecord,
  runObjectLabels,
  type RunStep,
} from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds } from '../../kube/index.ts';
import {
  cephKeyData,
  createCredentialsSecret,
  repositoryCredentials,
  repositorySource,
} from '../run/repository-credentials.ts';
import type { BackupDeps } from './backup-kind.ts';
import { nodeUsing } from '../expose/index.ts';
import { backupExposure, backupSnapshotName, credentialsSecretName, type ObservedRun } from './backup-observation.ts';
import { blockExtents } from './block-source.ts';

/** The run's copy of the repository credentials, in Safehold's namespace; undefined when done, else what is missing. */
export async function ensureCredentials(
  deps: BackupDeps,
  backup: VolumeBackup,
  observed: ObservedRun,
): Promise<string | undefined> {
  const repo = observed.repository;
  if (repo === undefined) return 'no repository';
  const credentials = await repositoryCredentials(
    deps.client,
    deps.namespace,
    repo,
    tenantOf(repo.spec, backup.metadata.namespace),
  );
  if ('missing' in credentials) return credentials.missing;
  // Only a block volume's backup asks Ceph (rbd diff): a missing key must not hold up the others.
  const block = deps.cache.claims.get(`${backup.metadata.namespace}/${backup.spec.pvc}`)?.spec?.volumeMode === 'Block';
  const ceph = block ? await cephKeyData(deps.client, repo) : { data: {} };
  if ('missing' in ceph) return ceph.missing;
  await createCredentialsSecret(
    deps.client,
    {
      name: credentialsSecretName(backup),
      namespace: deps.namespace,
      labels: runObjectLabels(backup, true),
      annotations: ownerRecord('VolumeBackup', backup),
    },
    { ...credentials.data, ...ceph.data },
  );
  return undefined;
}

/** Creates the attempt's mover Job, telling restic when its data was captured; returns the node it is pinned to, if any. */
export async function createJob(
  deps: BackupDeps,
  backup: VolumeBackup,
  observed: ObservedRun,
  step: Extract<RunStep, { kind: 'create-job' }>,
): Promise<string | undefined> {
  const repo = observed.repository;
  const policy = observed.observation.policy;
  if (repo === undefined || policy === undefined) return undefined;
  const ns = backup.metadata.namespace;
  const claim = deps.cache.claims.get(`${ns}/${backup.spec.pvc}`);
  const method = backup.status?.method ?? observed.observation.method;
  const block = claim?.spec?.volumeMode === 'Block';
  const common = {
    repository: {
      engine: repo.spec.engine,
      url: repositoryUrl(repo.spec, ns),
      region: repo.spec.s3.region,
      initialize: true,
      source: repositorySource(deps.namespace, repo, tenantOf(repo.spec, ns)),
    },
    host: resticHost(repo.spec, ns, backup.spec.pvc),
    tags: [
      `namespace=${ns}`,
      `pvc=${backup.spec.pvc}`,
      `pv=${claim?.spec?.volumeName ?? ''}`,
      `policy=${policy.metadata.name}`,
      `run=${backup.metadata.name}`,
    ],
    cacheDir: moverCacheDir,
    compression: repo.spec.compression,
    verifyBeforeUpload: repo.spec.verifyBeforeUpload,
    snapshotTime: step.snapshotTime,
  };
  const task: MoverTask = block
    ? {
        kind: 'block-backup',
        ...common,
        devicePath: moverSourceDevice,
        fileName: `${backup.spec.pvc}.qcow2`,
        ...(await blockExtents(deps, backup, repo, policy.spec, method)),
      }
    : {
        kind: 'backup',
        ...common,
        sourcePath: moverSourcePath,
        changeDetection: step.changeDetection?.mode === 'mtime-size' ? 'mtime-size' : 'inode',
        ...(method === 'cephfs-snapshot' ? { cephfsSnapshot: { name: cephfsSnapshotName } } : {}),
      };
  // A live RWO volume already in use can only be read on the node that has it.
  const node = method === 'live' ? nodeUsing(deps.cache, ns, backup.spec.pvc) : undefined;
  const job = moverJob({
    name: moverJobName(backup, backup.status?.attempt ?? 1),
    namespace: deps.namespace,
    labels: runObjectLabels(backup, true),
    annotations: ownerRecord('VolumeBackup', backup),
    mover: deps.mover,
    task,
    sourceClaim: backupExposure(backup, method).aliasName,
    volumeMode: block ? 'Block' : 'Filesystem',
    sourceWritable: method === 'cephfs-snapshot',
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

/** Every mover Job of the run (one per attempt). */
export async function deleteJobs(deps: BackupDeps, backup: VolumeBackup): Promise<void> {
  const jobs = deps.cache
    .jobsOfRun(backup.metadata.namespace, backup.metadata.name)
    .filter((j) => j.metadata?.namespace === deps.namespace)
    .map((j) => j.metadata?.name ?? '');
  // The current attempt's Job may not be in the cache yet.
  const current = moverJobName(backup, backup.status?.attempt ?? 1);
  for (const name of new Set([...jobs, current]))
    await ignoreNotFound(() =>
      deps.client.delete(kinds.job, { namespace: deps.namespace, name }, { propagationPolicy: 'Background' }),
    );
}

/**
 * Everything a run made, whatever its phase: Jobs, the exposure (the snapshot unless kept, or its
 * group snapshot's: that goes with the group), the Secret.
 */
export async function removeTemporaries(deps: BackupDeps, backup: VolumeBackup, keepSnapshot: boolean) {
  await deleteJobs(deps, backup);
  const ownSnapshot = backupSnapshotName(backup) === backup.metadata.name;
  await deps.exposer.remove(backupExposure(backup, backup.status?.method), !keepSnapshot && ownSnapshot);
  await ignoreNotFound(() =>
    deps.client.delete(kinds.secret, { namespace: deps.namespace, name: credentialsSecretName(backup) }),
  );
}
