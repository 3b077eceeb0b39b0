import { describe, expect, it } from 'vitest';
import type { MoverSettings, MoverTask } from '../api/index.ts';
import { controlPlaneTolerations, etcdMoverParts } from './etcd-mover.ts';
import { moverJob } from './mover-job.ts';

const etcdTask: MoverTask = {
  kind: 'etcd-snapshot',
  repository: { engine: 'restic' as const, url: 's3:http://s3/b/cluster', initialize: true },
  endpoints: ['https://127.0.0.1:2379'],
  certificates: {
    dir: '/etcd-pki',
    hostPath: '/etc/kubernetes/pki/etcd',
    caFile: 'ca.crt',
    certFile: 'healthcheck-client.crt',
    keyFile: 'healthcheck-client.key',
  },
  fileName: 'etcd.db',
  host: 'h',
  tags: [],
  cacheDir: '/cache',
  compression: 'auto',
};
const fileBackup: MoverTask = {
  kind: 'backup',
  repository: { engine: 'restic' as const, url: 's3:http://s3/b/team', initialize: true },
  sourcePath: '/data',
  host: 'h',
  tags: [],
  cacheDir: '/cache',
  compression: 'auto',
  verifyBeforeUpload: true,
  changeDetection: 'inode',
};
const controlPlane = { 'node-role.kubernetes.io/control-plane': '' };
const infra = { key: 'dedicated', operator: 'Equal' as const, value: 'backup', effect: 'NoSchedule' as const };

const podOf = (task: MoverTask, mover: MoverSettings, etcdNodeSelector?: Record<string, string>) =>
  moverJob({
    name: 'j',
    namespace: 'safehold-system',
    labels: {},
    mover,
    task,
    secretName: 's',
    deadlineSeconds: 600,
    ...(etcdNodeSelector === undefined ? {} : { etcdNodeSelector }),
  }).spec?.template.spec;

describe('an etcd snapshot mover', () => {
  const cases: {
    name: string;
    task: MoverTask;
    mover: MoverSettings;
    etcdNodeSelector?: Record<string, string>;
    want: { nodeSelector?: object; tolerations?: object[]; hostNetwork?: boolean; dnsPolicy?: string };
  }[] = [
    {
      name: 'runs on a control-plane node with the host network, the taint tolerated',
      task: etcdTask,
      mover: { image: 'safehold' },
      etcdNodeSelector: controlPlane,
      want: {
        nodeSelector: controlPlane,
        tolerations: controlPlaneTolerations,
        hostNetwork: true,
        dnsPolicy: 'ClusterFirstWithHostNet',
      },
    },
    {
      name: "takes its dump's nodeSelector in place of the admin's, and keeps the admin's tolerations",
      task: etcdTask,
      mover: { image: 'safehold', nodeSelector: { pool: 'workers' }, tolerations: [infra] },
      etcdNodeSelector: { 'kubernetes.io/hostname': 'cp-1' },
      want: {
        nodeSelector: { 'kubernetes.io/hostname': 'cp-1' },
        tolerations: [infra, ...controlPlaneTolerations],
        hostNetwork: true,
        dnsPolicy: 'ClusterFirstWithHostNet',
      },
    },
    {
      name: 'adds no toleration the admin gave already',
      task: etcdTask,
      mover: {
        image: 'safehold',
        tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
      },
      etcdNodeSelector: controlPlane,
      want: { nodeSelector: controlPlane, tolerations: controlPlaneTolerations },
    },
    {
      name: 'leaves every other mover as it was',
      task: fileBackup,
      mover: { image: 'safehold', nodeSelector: { pool: 'workers' }, tolerations: [infra] },
      etcdNodeSelector: controlPlane,
      want: { nodeSelector: { pool: 'workers' }, tolerations: [infra], hostNetwork: undefined, dnsPolicy: undefined },
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const pod = podOf(c.task, c.mover, c.etcdNodeSelector);
      for (const [field, value] of Object.entries(c.want))
        expect(pod?.[field as keyof typeof pod], field).toEqual(value);
    });

  it("mounts the node's certificates folder read-only where the task reads it, and nothing else of the host", () => {
    const pod = podOf(etcdTask, { image: 'safehold' }, controlPlane);
    expect(pod?.volumes?.filter((v) => v.hostPath !== undefined)).toEqual([
      { name: 'etcd-certificates', hostPath: { path: '/etc/kubernetes/pki/etcd', type: 'Directory' } },
    ]);
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({
      name: 'etcd-certificates',
      mountPath: '/etcd-pki',
      readOnly: true,
    });
    // Still locked down: root to read kubeadm's keys (0600 root), no capability beyond reading files.
    expect(pod?.containers[0]?.securityContext).toMatchObject({
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
    });
    expect(podOf(fileBackup, { image: 'safehold' })?.volumes?.some((v) => v.hostPath !== undefined)).toBe(false);
  });

  it('has no parts for another task', () => {
    expect(etcdMoverParts(fileBackup, controlPlane, undefined)).toBeUndefined();
  });
});
