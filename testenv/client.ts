// A KubeClient for the test environment's own daemons and tests, from a kubeconfig file.
import { readFileSync } from 'node:fs';
import { kubeconfigConnection, KubeClient, nodeLoginIo } from '../src/kube/index.ts';

export function connectTestClient(kubeconfigPath: string, context?: string): KubeClient {
  const text = readFileSync(kubeconfigPath, 'utf8');
  const io = nodeLoginIo({ env: process.env, stdinIsTerminal: false });
  // No client-side rate limit: the environment plays kubelet and controllers, and tests build fixtures fast.
  const client = new KubeClient(kubeconfigConnection([{ path: kubeconfigPath, text }], context, io), {
    rateLimit: undefined,
  });
  // Audit logs and benchmarks tell the environment's own requests from Safehold's.
  client.userAgent = 'safehold-testenv';
  return client;
}
