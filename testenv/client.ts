// A KubeClient for the test environment's own daemons and tests, from a kubeconfig file.
import { readFileSync } from 'node:fs';
import { connectionFromKubeconfig, KubeClient } from '../src/kube/index.ts';

export function connectTestClient(kubeconfigPath: string, context?: string): KubeClient {
  const text = readFileSync(kubeconfigPath, 'utf8');
  const client = new KubeClient(connectionFromKubeconfig(text, (p) => readFileSync(p, 'utf8'), context));
  // Audit logs and benchmarks tell the environment's own requests from Safehold's.
  client.userAgent = 'safehold-testenv';
  return client;
}
