// The mover Job for one attempt of one VolumeBackup, as a pure function:
// locked down by default (no service-account token, not privileged, read-only
// root, every capability dropped but DAC_READ_SEARCH, see ADR 0005), bounded
// in retries and time, owned by the VolumeBackup and labelled with its run so
// garbage collection and the sweep find it.
import type { Job } from 'kubernetes-types/batch/v1.js';
import { moverEnv, runLabels, type MoverTask, type VolumeBackup } from '../api/index.ts';

export const moverSourcePath = '/data';
export const moverCacheDir = '/cache';

export interface MoverJobInput {
  backup: VolumeBackup;
  attempt: number;
  image: string;
  task: MoverTask;
  /** The claim the mover reads: the snapshot's temporary clone, or the live PVC. */
  sourceClaim: string;
  /** Holds the repository password and S3 keys for this run, in the Job's namespace. */
  secretName: string;
  /** Pin to this node (a live RWO volume already attached there). */
  nodeName?: string | undefined;
  deadlineSeconds: number;
}

export function moverJobName(backup: VolumeBackup, attempt: number): string {
  return `${backup.metadata.name.slice(0, 52)}-${attempt}`;
}

export function ownerReference(backup: VolumeBackup) {
  return {
    apiVersion: 'safehold.io/v1alpha1',
    kind: 'VolumeBackup',
    name: backup.metadata.name,
    uid: backup.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function runObjectLabels(backup: VolumeBackup): Record<string, string> {
  return {
    [runLabels.run]: backup.metadata.name,
    [runLabels.pvc]: backup.spec.pvc.slice(0, 63),
    [runLabels.component]: 'mover',
  };
}

export function moverJob(input: MoverJobInput): Job {
  const { backup } = input;
  const labels = runObjectLabels(backup);
  const secret = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: input.secretName, key } } });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: moverJobName(backup, input.attempt),
      namespace: backup.metadata.namespace,
      labels,
      ownerReferences: [ownerReference(backup)],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.deadlineSeconds,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(input.nodeName === undefined ? {} : { nodeSelector: { 'kubernetes.io/hostname': input.nodeName } }),
          securityContext: {
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'mover',
              image: input.image,
              args: ['mover'],
              env: [
                { name: moverEnv.task, value: JSON.stringify(input.task) },
                secret(moverEnv.resticPassword),
                secret(moverEnv.accessKeyId),
                secret(moverEnv.secretAccessKey),
                { name: 'HOME', value: '/tmp' },
              ],
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
              },
              terminationMessagePolicy: 'File',
              volumeMounts: [
                { name: 'source', mountPath: moverSourcePath, readOnly: true },
                { name: 'cache', mountPath: moverCacheDir },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'source', persistentVolumeClaim: { claimName: input.sourceClaim, readOnly: true } },
            { name: 'cache', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}
