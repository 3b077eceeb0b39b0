// The temporary objects of one run, each created idempotently. In the
// volume's namespace, owned by the VolumeBackup: the VolumeSnapshot and the
// clone PVC restored from it. In Safehold's namespace, labelled with the run
// (an owner cannot be in another namespace; the sweep removes leftovers): the
// credentials Secret, the read-only alias of the volume's PV and its claim,
// and the mover Job. Tenants never see the credentials or the mover.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { durationMs, repositoryUrl, resticHost, tenantOf, type MoverTask, type VolumeBackup } from '../../api/index.ts';
import {
  moverCacheDir,
  moverJob,
  moverJobName,
  cephfsSnapshotName,
  moverSourceDevice,
  moverSourcePath,
  ownerReference,
  runObjectLabels,
} from '../../core/index.ts';
import { ignoreNotFound, ignoreAlreadyExists, kinds } from '../../kube/index.ts';
import type { BackupControllerDeps } from './backup-kind.ts';
import { blockExtents } from './block-source.ts';
import { firstConsumerAnnotations, selectedNodeAnnotation } from '../expose/first-consumer.ts';
import { cephKeyData, createCredentialsSecret, repositoryCredentials } from '../run/repository-credentials.ts';
import {
  aliasName,
  credentialsSecretName,
  nodeUsing,
  snapshotName,
  tempClaimName,
  type ObservedRun,
} from './backup-observation.ts';

/** The run's copy of the repository credentials, in Safehold's namespace; undefined when done, else what is missing. */
export async function ensureCredentials(
  deps: BackupControllerDeps,
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
    { name: credentialsSecretName(backup), namespace: deps.namespace, labels: runObjectLabels(backup, true) },
    { ...credentials.data, ...ceph.data },
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
  // The clone goes where the volume is, if the class binds only for a first consumer.
  const node = source?.metadata?.annotations?.[selectedNodeAnnotation];
  const claim: PersistentVolumeClaim = {
    metadata: {
      name: tempClaimName(backup),
      namespace: ns,
      labels: runObjectLabels(backup),
      ownerReferences: [ownerReference(backup)],
      annotations: await firstConsumerAnnotations(deps, source?.spec?.storageClassName, node),
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
  const block = claim?.spec?.volumeMode === 'Block';
  const common = {
    repository: {
      url: repositoryUrl(repo.spec, ns),
      region: repo.spec.s3.region,
      initialize: true,
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
    snapshotTime: backup.status?.snapshotTime ?? backup.status?.startTime,
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
        changeDetection: method === 'live' ? 'inode' : 'mtime-size',
        ...(method === 'cephfs-snapshot' ? { cephfsSnapshot: { name: cephfsSnapshotName } } : {}),
      };
  // A live RWO volume already in use can only be read on the node that has it.
  const node = method === 'live' ? nodeUsing(deps.cache, ns, backup.spec.pvc) : undefined;
  const job = moverJob({
    name: moverJobName(backup, backup.status?.attempt ?? 1),
    namespace: deps.namespace,
    labels: runObjectLabels(backup, true),
    mover: deps.mover,
    task,
    sourceClaim: aliasName(backup),
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

/** The read-only alias of the volume a backup mover reads: the snapshot's clone, or the live volume. */
export async function createAlias(deps: BackupControllerDeps, backup: VolumeBackup): Promise<void> {
  const ns = backup.metadata.namespace;
  const claimName = backup.status?.method === 'snapshot' ? tempClaimName(backup) : backup.spec.pvc;
  const source = deps.cache.volumes.get(deps.cache.claims.get(`${ns}/${claimName}`)?.spec?.volumeName ?? '');
  if (source?.spec === undefined) return; // not bound yet: the run comes back when it is
  // A cephfs-snapshot mover makes its snapshot in the volume's .snap folder: it needs the volume writable.
  const readOnly = backup.status?.method !== 'cephfs-snapshot';
  await ensureAlias(deps, source, { name: aliasName(backup), labels: runObjectLabels(backup, true), readOnly });
}

/**
 * An alias of a volume in Safehold's namespace, where movers run: a PV with
 * the same storage behind it, pre-bound to a claim there, reclaim policy
 * Retain so deleting it never touches the data. Read-only for a backup's
 * mover, writable for a restore's. The PV is named "safehold-" + name.
 */
export async function ensureAlias(
  deps: Pick<BackupControllerDeps, 'client' | 'cache' | 'namespace'>,
  source: PersistentVolume,
  alias: { name: string; labels: Record<string, string>; readOnly: boolean },
): Promise<void> {
  const { name, labels } = alias;
  const spec = { ...source.spec };
  delete spec.claimRef;
  const pv: PersistentVolume = {
    metadata: { name: `safehold-${name}`, labels },
    spec: {
      ...spec,
      ...(spec.csi === undefined ? {} : { csi: { ...spec.csi, readOnly: alias.readOnly } }),
      storageClassName: '',
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: { namespace: deps.namespace, name },
    },
  };
  const claim: PersistentVolumeClaim = {
    metadata: { name, namespace: deps.namespace, labels },
    spec: {
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      resources: { requests: { storage: spec.capacity?.storage ?? '1Gi' } },
      storageClassName: '',
      volumeMode: spec.volumeMode ?? 'Filesystem',
      volumeName: `safehold-${name}`,
    },
  };
  // The PV first; the claim once the PV controller has seen the PV (Available). Then the claim's own sync binds
  // both at once. The other orders leave the claim waiting for the PV controller's resync (15 s).
  const existing = deps.cache.volumes.get(pv.metadata?.name ?? '');
  if (existing === undefined) {
    await ignoreAlreadyExists(() => deps.client.create(kinds.persistentVolume, pv));
    return;
  }
  if (existing.status?.phase === 'Available' || existing.status?.phase === 'Bound')
    await ignoreAlreadyExists(() => deps.client.create(kinds.persistentVolumeClaim, claim));
}

/** Deletes an alias claim and its PV (the data behind them stays). */
export async function deleteAlias(deps: Pick<BackupControllerDeps, 'client' | 'namespace'>, name: string) {
  await ignoreNotFound(() => deps.client.delete(kinds.persistentVolumeClaim, { namespace: deps.namespace, name }));
  await ignoreNotFound(() => deps.client.delete(kinds.persistentVolume, { name: `safehold-${name}` }));
}

/** The alias claim and PV, then the clone, then (unless kept) the snapshot. */
export async function deleteRunVolumes(
  deps: Pick<BackupControllerDeps, 'client' | 'namespace'>,
  backup: VolumeBackup,
  snapshotToo: boolean,
): Promise<void> {
  const { client } = deps;
  const ns = backup.metadata.namespace;
  await deleteAlias(deps, aliasName(backup));
  await ignoreNotFound(() =>
    client.delete(kinds.persistentVolumeClaim, { namespace: ns, name: tempClaimName(backup) }),
  );
  if (snapshotToo)
    await ignoreNotFound(() => client.delete(kinds.volumeSnapshot, { namespace: ns, name: snapshotName(backup) }));
}
