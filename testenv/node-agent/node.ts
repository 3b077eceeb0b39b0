// The test node's presence in the API, as a kubelet keeps it: a Node with
// capacity, a Ready condition and the port of its kubelet endpoint, and a Lease
// in kube-node-lease renewed every ten seconds so kube-controller-manager's
// node lifecycle keeps it Ready.
import type { Node } from 'kubernetes-types/core/v1.js';
import { release } from 'node:os';
import { isAlreadyExists, isNotFound, kinds, type KubeClient } from '../../src/kube/index.ts';

export async function registerNode(
  client: KubeClient,
  name: string,
  kubeletVersion: string,
  kubeletPort: number,
): Promise<void> {
  const node: Node = {
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'safehold.test/node-agent': 'true',
      },
    },
    spec: {},
  };
  try {
    await client.create(kinds.node, node);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  await client.mergePatch(kinds.node, { name }, { status: nodeStatus(name, kubeletVersion, kubeletPort) }, 'status');
  await renewLease(client, name);
}

export function nodeStatus(name: string, kubeletVersion: string, kubeletPort: number): Node['status'] {
  const now = new Date().toISOString();
  const resources = { cpu: '8', memory: '16Gi', pods: '250', 'ephemeral-storage': '100Gi' };
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: reason,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
      condition('Ready', 'True', 'KubeletReady'),
    ],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    nodeInfo: {
      machineID: name,
      systemUUID: name,
      bootID: name,
      kernelVersion: release(),
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'safehold-test://1',
      kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

export async function renewLease(client: KubeClient, name: string): Promise<void> {
  const renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const spec = { holderIdentity: name, leaseDurationSeconds: 40, renewTime };
  try {
    await client.mergePatch(kinds.lease, { namespace: 'kube-node-lease', name }, { spec });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await client.create(kinds.lease, { metadata: { name, namespace: 'kube-node-lease' }, spec } as {
      metadata: { name: string; namespace: string };
    });
  }
}
