// Mover Jobs as pure functions. Every mover runs in Safehold's own namespace,
// where the repository password and S3 keys are, so no tenant can read them
// (ADR 0008); a backup mover reads its volume through a read-only alias of
// the volume's PV bound to a claim there. Locked down by default (no
// service-account token, not privileged, read-only root, every capability
// dropped but DAC_READ_SEARCH, see ADR 0005), bounded in retries and time,
// labelled with the run so the sweep finds what a crash leaves behind.
import type { Job } from 'kubernetes-types/batch/v1.js';
import {
  apiGroup,
  apiVersion,
  moverEnv,
  runLabels,
  type MoverSettings,
  type MoverTask,
  type RepositoryMaintenance,
  type VolumeBackup,
} from '../api/index.ts';
import { etcdMoverParts } from './etcd-mover.ts';

export const moverSourcePath = '/data';
export const moverCacheDir = '/cache';
export const moverTargetPath = '/target';

/**
 * Where a file restore's target volume is mounted: below moverTargetPath, with the name of the
 * folder its backup read (`/target/data`), so the engine restores that folder's own owner, mode,
 * times and attributes onto the volume's root with the rest (src/mover/restic/restore.ts).
 */
export function restoreTargetPath(snapshotPath: string): string {
  const name = snapshotPath.split('/').filter(Boolean).at(-1);
  return name === undefined ? moverTargetPath : `${moverTargetPath}/${name}`;
}
/** Where a Block volume's device is, in place of the mount paths above. */
/**
 * A cephfs-snapshot backup's CephFS snapshot, made in the volume's .snap folder for the run and
 * removed after: one stable name, so every backup of the volume has the same path in restic and
 * each finds its parent (one run per volume at a time).
 */
export const cephfsSnapshotName = 'safehold-backup';

/** Where a backup's files are in its restic snapshot. */
export function backupSnapshotPath(method: string | undefined): string {
  return method === 'cephfs-snapshot' ? `${moverSourcePath}/.snap/${cephfsSnapshotName}` : moverSourcePath;
}
export const moverSourceDevice = '/dev/safehold-source';
export const moverTargetDevice = '/dev/safehold-target';
/** What restoring owners, modes and times of any file needs, and no more. */
export const restoreCapabilities = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'];

export const maintenanceLabel = 'safehold.io/maintenance';

export interface MoverJobInput {
  name: string;
  /** Safehold's namespace. */
  namespace: string;
  labels: Record<string, string>;
  /** The owner record of a run in another namespace (see run-owner.ts). */
  annotations?: Record<string, string> | undefined;
  ownerReferences?: NonNullable<Job['metadata']>['ownerReferences'];
  /** The image, and the admin's resources, nodeSelector and tolerations for every mover. */
  mover: MoverSettings;
  task: MoverTask;
  /** The claim the mover reads at moverSourcePath, if any (in the Job's namespace). */
  sourceClaim?: string | undefined;
  /** The claim a restore writes at its task's targetPath, if any (in the Job's namespace). */
  targetClaim?: string | undefined;
  /** Block: the claims are devices at moverSourceDevice / moverTargetDevice, not folders. */
  volumeMode?: 'Filesystem' | 'Block' | undefined;
  /** The source is mounted writable: a cephfs-snapshot backup makes its snapshot in the volume's .snap folder. */
  sourceWritable?: boolean | undefined;
  /** Capabilities beyond reading every file (DAC_READ_SEARCH): a restore sets owners and modes. */
  capabilities?: string[] | undefined;
  /** Holds the repository password and S3 keys for this run, in the Job's namespace. */
  secretName: string;
  /** Pin to this node (a live RWO volume already attached there). */
  nodeName?: string | undefined;
  /** An etcd snapshot: the nodes with etcd (its dump's spec.etcd.nodeSelector), in place of the admin's. */
  etcdNodeSelector?: Record<string, string> | undefined;
  deadlineSeconds: number;
}

/**
 * A short, stable name for the objects of one run, unique across namespaces and kinds (a restore
 * passes its kind): fits every name limit.
 */
export function runObjectBase(run: { metadata: { namespace: string; name: string } }, kind = ''): string {
  const ns = run.metadata.namespace;
  const name = run.metadata.name;
  const readable = `${ns}-${name}`
    .slice(0, 48)
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+$/, '');
  return `${readable}-${fnv1a(`${kind}${ns}/${name}`)}`;
}

export function moverJobName(backup: VolumeBackup, attempt: number): string {
  return `${runObjectBase(backup)}-${attempt}`;
}

/** The Job of the current attempt: a retry gets a Job of its own, never the failed one that may still be going. */
export function maintenanceJobName(maintenance: RepositoryMaintenance): string {
  const attempt = maintenance.status?.attempt ?? 1;
  return `${maintenance.metadata.name.slice(0, 52).replace(/-+$/, '')}-m${attempt > 1 ? attempt : ''}`;
}

/** The controlling owner reference to one of Safehold's runs (a VolumeBackup by default). */
export function ownerReference(
  run: { metadata: { name: string; uid?: string } },
  kind: 'VolumeBackup' | 'VolumeRestore' = 'VolumeBackup',
) {
  return {
    apiVersion: `${apiGroup}/${apiVersion}`,
    kind,
    name: run.metadata.name,
    uid: run.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Labels of a run's objects; those in Safehold's namespace also name the run's namespace. */
export function runObjectLabels(backup: VolumeBackup, inSafeholdNamespace = false): Record<string, string> {
  return {
    [runLabels.run]: backup.metadata.name,
    [runLabels.pvc]: backup.spec.pvc.slice(0, 63),
    [runLabels.component]: 'mover',
    ...(inSafeholdNamespace ? { [runLabels.namespace]: backup.metadata.namespace } : {}),
  };
}

export function moverJob(input: MoverJobInput): Job {
  const secret = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: input.secretName, key } } });
  const source = input.sourceClaim;
  const target = input.targetClaim;
  const block = input.volumeMode === 'Block';
  const sourceReadOnly = input.sourceWritable !== true;
  const etcd = etcdMoverParts(input.task, input.etcdNodeSelector, input.mover.tolerations);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: input.labels,
      ...(input.annotations === undefined ? {} : { annotations: input.annotations }),
      ...(input.ownerReferences === undefined ? {} : { ownerReferences: input.ownerReferences }),
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.deadlineSeconds,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: input.labels },
        spec: {
          restartPolicy: 'Never',
          ...(input.mover.serviceAccountName === undefined
            ? {}
            : { serviceAccountName: input.mover.serviceAccountName }),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(etcd === undefined ? nodeSelector(input) : { nodeSelector: etcd.nodeSelector }),
          ...(etcd === undefined
            ? input.mover.tolerations === undefined
              ? {}
              : { tolerations: input.mover.tolerations }
            : { tolerations: etcd.tolerations, hostNetwork: etcd.hostNetwork, dnsPolicy: etcd.dnsPolicy }),
          securityContext: {
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'mover',
              image: input.mover.image,
              args: ['mover'],
              // An application dump arrives on stdin, written by the operator (pods/attach); once: its end is the dump's.
              ...(input.task.kind === 'dump-backup' ? { stdin: true, stdinOnce: true } : {}),
              ...(input.mover.resources === undefined ? {} : { resources: input.mover.resources }),
              env: [
                { name: moverEnv.task, value: JSON.stringify(input.task) },
                secret(moverEnv.resticPassword),
                secret(moverEnv.accessKeyId),
                secret(moverEnv.secretAccessKey),
                ...(input.task.kind === 'download' ? [secret(moverEnv.uploadUrl)] : []),
                // A Git repository's credentials, those its Secret has (basic: username and password; ssh: key, known hosts).
                ...(input.task.kind === 'git-backup'
                  ? [moverEnv.gitUsername, moverEnv.gitPassword, moverEnv.gitSshKey, moverEnv.gitKnownHosts].map(
                      (key) => ({
                        name: key,
                        valueFrom: { secretKeyRef: { name: input.secretName, key, optional: true } },
                      }),
                    )
                  : []),
                // A bucket's own keys (not the repository's), optional so that the mover says which is missing.
                ...(input.task.kind === 'bucket-backup' || input.task.kind === 'bucket-restore'
                  ? [moverEnv.bucketAccessKeyId, moverEnv.bucketSecretAccessKey].map((key) => ({
                      name: key,
                      valueFrom: { secretKeyRef: { name: input.secretName, key, optional: true } },
                    }))
                  : []),
                ...(input.task.kind === 'block-backup'
                  ? [
                      {
                        ...secret(moverEnv.cephKey),
                        valueFrom: { secretKeyRef: { name: input.secretName, key: moverEnv.cephKey, optional: true } },
                      },
                    ]
                  : []),
                { name: 'HOME', value: '/tmp' },
              ],
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH', ...(input.capabilities ?? [])] },
              },
              terminationMessagePolicy: 'File',
              ...(block
                ? {
                    volumeDevices: [
                      ...(source === undefined ? [] : [{ name: 'source', devicePath: moverSourceDevice }]),
                      ...(target === undefined ? [] : [{ name: 'target', devicePath: moverTargetDevice }]),
                    ],
                  }
                : {}),
              volumeMounts: [
                ...(source === undefined || block
                  ? []
                  : [{ name: 'source', mountPath: moverSourcePath, readOnly: sourceReadOnly }]),
                ...(target === undefined || block
                  ? []
                  : [
                      {
                        name: 'target',
                        mountPath: input.task.kind === 'restore' ? input.task.targetPath : moverTargetPath,
                      },
                    ]),
                { name: 'cache', mountPath: moverCacheDir },
                { name: 'tmp', mountPath: '/tmp' },
                ...(etcd?.volumeMounts ?? []),
              ],
            },
          ],
          volumes: [
            ...(source === undefined
              ? []
              : [{ name: 'source', persistentVolumeClaim: { claimName: source, readOnly: sourceReadOnly } }]),
            ...(target === undefined ? [] : [{ name: 'target', persistentVolumeClaim: { claimName: target } }]),
            { name: 'cache', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
            ...(etcd?.volumes ?? []),
          ],
        },
      },
    },
  };
}

/** The admin's nodeSelector, and the node a live RWO volume pins the mover to. */
function nodeSelector(input: MoverJobInput): { nodeSelector?: Record<string, string> } {
  const selector = {
    ...input.mover.nodeSelector,
    ...(input.nodeName === undefined ? {} : { 'kubernetes.io/hostname': input.nodeName }),
  };
  return Object.keys(selector).length === 0 ? {} : { nodeSelector: selector };
}

/** 32-bit FNV-1a as 8 hex digits: stable short suffixes for names. */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
