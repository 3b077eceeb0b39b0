// How the CLI and the operator find the API server, the way kubectl does:
// --kubeconfig (that file alone), else every file of $KUBECONFIG that exists
// (merged), else ~/.kube/config, else the service account of the Pod it runs in.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  describeFileError,
  inClusterConnection,
  kubeconfigConnection,
  KubeClient,
  nodeLoginIo,
} from '../kube/index.ts';

export function connect(options: { kubeconfig?: string; context?: string }): KubeClient {
  // Node's types say boolean, but isTTY is undefined when stdin is a pipe or /dev/null.
  const stdin: { isTTY?: boolean } = process.stdin;
  const io = nodeLoginIo({
    env: process.env,
    stdinIsTerminal: stdin.isTTY === true,
    stderr: (chunk) => process.stderr.write(chunk),
  });
  const paths = kubeconfigPaths(options.kubeconfig, process.env.KUBECONFIG, join(homedir(), '.kube', 'config'));
  if (paths.length > 0) {
    const files = paths.map((path) => ({ path, text: readKubeconfig(path) }));
    return new KubeClient(kubeconfigConnection(files, options.context, io));
  }
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (host !== undefined && port !== undefined) return new KubeClient(inClusterConnection(host, port, io));
  throw new Error(
    process.env.KUBECONFIG === undefined || process.env.KUBECONFIG === ''
      ? 'no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a Pod'
      : `none of the files in $KUBECONFIG exists (${process.env.KUBECONFIG}) and not running in a Pod`,
  );
}

/** kubectl's order: the flag's file (which must exist); else $KUBECONFIG's existing files, once each; else the home file. */
function kubeconfigPaths(flag: string | undefined, list: string | undefined, home: string): string[] {
  if (flag !== undefined) return [flag];
  if (list !== undefined && list !== '')
    return [...new Set(list.split(delimiter).filter((path) => path !== '' && existsSync(path)))];
  return existsSync(home) ? [home] : [];
}

function readKubeconfig(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`kubeconfig ${path}: ${describeFileError(error)}`, { cause: error });
  }
}
