// The Job of a drill command: after the mover has restored a backup into the
// scratch volume and read it back, a command the policy names (fsck -n of the
// device, pg_amcheck after starting PostgreSQL on the files) runs on that
// volume in a container of the image the policy names; its exit code is the
// verdict. The volume is mounted writable (a database writes as it starts)
// at /data, or is the device /dev/safehold-target; the environment says
// which (SAFEHOLD_DRILL_PATH or SAFEHOLD_DRILL_DEVICE). The container's last
// log lines become its termination message when it fails, for the verdict's
// message.
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { MoverSettings } from '../api/index.ts';
import { moverTargetDevice } from './mover-job.ts';

export const drillCommandPath = '/data';

export interface DrillCommandJobInput {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The movers' settings: their image is the default, their node selector and tolerations apply. */
  mover: MoverSettings;
  image: string | undefined;
  command: readonly string[];
  runAsUser: number | undefined;
  scratchClaim: string;
  volumeMode: 'Filesystem' | 'Block';
  deadlineSeconds: number;
}

export function drillCommandJob(input: DrillCommandJobInput): Job {
  const block = input.volumeMode === 'Block';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: input.name, namespace: input.namespace, labels: input.labels, annotations: input.annotations },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: input.deadlineSeconds,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: input.labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(input.mover.nodeSelector === undefined ? {} : { nodeSelector: input.mover.nodeSelector }),
          ...(input.mover.tolerations === undefined ? {} : { tolerations: input.mover.tolerations }),
          containers: [
            {
              name: 'drill',
              image: input.image ?? input.mover.image,
              command: [...input.command],
              env: block
                ? [{ name: 'SAFEHOLD_DRILL_DEVICE', value: moverTargetDevice }]
                : [{ name: 'SAFEHOLD_DRILL_PATH', value: drillCommandPath }],
              ...(input.mover.resources === undefined ? {} : { resources: input.mover.resources }),
              securityContext: {
                allowPrivilegeEscalation: false,
                ...(input.runAsUser === undefined ? {} : { runAsUser: input.runAsUser }),
              },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              ...(block
                ? { volumeDevices: [{ name: 'scratch', devicePath: moverTargetDevice }] }
                : { volumeMounts: [{ name: 'scratch', mountPath: drillCommandPath }] }),
            },
          ],
          volumes: [{ name: 'scratch', persistentVolumeClaim: { claimName: input.scratchClaim } }],
        },
      },
    },
  };
}
