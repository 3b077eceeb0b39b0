// The real node's kubelet (built from k8s.io/kubernetes like the control
// plane) and kube-proxy: the node's client certificate signed by the test
// environment's client CA (system:node:<name>, so the Node authorizer and
// NodeRestriction treat it as a node), its serving certificate the one the
// API server already trusts for kubelets, serving at a port of
// its own on the bridge's address, cgroupfs, containerd's socket, and a taint that keeps every Pod
// off it unless it tolerates it (the node agent's nodes keep running the
// rest of the suite).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateFiles } from '../kube/certificates.ts';
import { bridge } from './network.ts';

export const realNodeName = 'real-1';
export const realNodeTaint = { key: 'safehold.io/real-node', value: 'true', effect: 'NoSchedule' } as const;
export const kubeletPort = 10260;

/** What places a Pod on the real node: its name, and the toleration of the taint that keeps everything else away. */
export function realNodePlacement() {
  return {
    nodeSelector: { 'kubernetes.io/hostname': realNodeName },
    tolerations: [{ key: realNodeTaint.key, operator: 'Exists' as const, effect: realNodeTaint.effect }],
  };
}

export interface KubeletInput {
  nodeDir: string;
  clientCaPath: string;
  serving: CertificateFiles;
  containerdSocket: string;
}

/** The KubeletConfiguration, as JSON (YAML's superset). */
export function kubeletConfig(input: KubeletInput): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // The node's address: the bridge's (a kubelet refuses a loopback node IP).
    address: bridge.address,
    port: kubeletPort,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 0,
    tlsCertFile: input.serving.certPath,
    tlsPrivateKeyFile: input.serving.keyPath,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: input.clientCaPath },
    },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${input.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    podCIDR: bridge.subnet,
    podLogsDir: join(input.nodeDir, 'pod-logs'),
    resolvConf: '',
    registerWithTaints: [realNodeTaint],
    serializeImagePulls: false,
    imageGCHighThresholdPercent: 100,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    fileCheckFrequency: '5s',
    syncFrequency: '10s',
    nodeStatusReportFrequency: '10s',
    volumePluginDir: join(input.nodeDir, 'volume-plugins'),
    staticPodPath: '',
    shutdownGracePeriod: '0s',
  };
}

export function writeKubeletConfig(input: KubeletInput): string {
  const path = join(input.nodeDir, 'kubelet-config.json');
  writeFileSync(path, JSON.stringify(kubeletConfig(input), null, 2));
  return path;
}
