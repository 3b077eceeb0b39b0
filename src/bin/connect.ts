// How the CLI and the operator find the API server, the way kubectl does:
// --kubeconfig, then $KUBECONFIG (its first file), then ~/.kube/config, then
// the service account of the Pod it runs in.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connectionFromKubeconfig, inClusterConnection, KubeClient } from '../kube/index.ts';

const read = (path: string) => readFileSync(path, 'utf8');

export function connect(options: { kubeconfig?: string; context?: string }): KubeClient {
  const fromEnv = process.env.KUBECONFIG?.split(':').find((p) => p !== '');
  const candidates = [options.kubeconfig, fromEnv, join(homedir(), '.kube', 'config')];
  const path = candidates.find((p) => p !== undefined && (p === options.kubeconfig || existsSync(p)));
  if (path !== undefined) return new KubeClient(connectionFromKubeconfig(read(path), read, options.context));
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (host !== undefined && port !== undefined) return new KubeClient(inClusterConnection(host, port, read));
  throw new Error('no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a Pod');
}
