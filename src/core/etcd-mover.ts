// Where an etcd snapshot's mover runs, and what it sees (issue 21): on a node
// the dump's nodeSelector picks (control-plane nodes by default, in place of
// the admin's mover nodeSelector, which is for nodes with volumes), their
// NoSchedule taint tolerated, with the host's network (etcd listens on the
// node's loopback) and the node's certificates folder mounted read-only at
// the path the task names. Pure: mover-job.ts puts the parts into the Job.
import type { Toleration, Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import type { MoverTask } from '../api/index.ts';

/** The taints kubeadm puts on control-plane nodes (and the one it used to). */
export const controlPlaneTolerations: Toleration[] = [
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
];

export interface EtcdMoverParts {
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  hostNetwork: true;
  /** With the host's network, the cluster's DNS only when asked for: the repository may be a Service. */
  dnsPolicy: 'ClusterFirstWithHostNet';
  volumes: Volume[];
  volumeMounts: VolumeMount[];
}

/** The parts of an etcd snapshot's mover Pod; undefined for any other task. */
export function etcdMoverParts(
  task: MoverTask,
  nodeSelector: Readonly<Record<string, string>> | undefined,
  adminTolerations: readonly Toleration[] | undefined,
): EtcdMoverParts | undefined {
  if (task.kind !== 'etcd-snapshot') return undefined;
  const admin = adminTolerations ?? [];
  const same = (a: Toleration, b: Toleration) => a.key === b.key && a.effect === b.effect && a.operator === b.operator;
  return {
    nodeSelector: { ...nodeSelector },
    tolerations: [...admin, ...controlPlaneTolerations.filter((t) => !admin.some((a) => same(a, t)))],
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    // Directory: the kubelet checks the folder is there before the mover starts.
    volumes: [{ name: 'etcd-certificates', hostPath: { path: task.certificates.hostPath, type: 'Directory' } }],
    volumeMounts: [{ name: 'etcd-certificates', mountPath: task.certificates.dir, readOnly: true }],
  };
}
