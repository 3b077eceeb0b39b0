// The loader: from kubeconfig files (or a Pod's service account) to a
// ClusterConnection the client can use. The files' text and the environment
// come from src/bin; the certificate authority is read here at once, the
// credentials on each request (see credentials.ts). nodeLoginIo is the real I/O.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { ClusterConnection } from './client.ts';
import { serviceAccountCredentials, userCredentials, type CredentialIo } from './credentials.ts';
import { ExecPlugin, type PluginOutcome, type RunPlugin } from './exec-plugin.ts';
import { mergeKubeconfigs, parseKubeconfig, resolveLogin, type Kubeconfig } from './kubeconfig.ts';
import { describeFileError, LoginError } from './login-error.ts';

export interface LoginIo extends CredentialIo {
  readFileSync(path: string): string;
  runPlugin: RunPlugin;
  /** The environment exec plugins start from. */
  env: Record<string, string | undefined>;
  stdinIsTerminal: boolean;
}

export interface KubeconfigFile {
  path: string;
  text: string;
}

/** The files of a KUBECONFIG list, merged as kubectl merges them, logged in as the context's user. */
export function kubeconfigConnection(
  files: KubeconfigFile[],
  context: string | undefined,
  io: LoginIo,
): ClusterConnection {
  const configs: Kubeconfig[] = [];
  for (const file of files) {
    const parsed = parseKubeconfig(file.path, file.text);
    if (!parsed.ok) throw new Error(parsed.error);
    configs.push(parsed.value);
  }
  const resolved = resolveLogin(mergeKubeconfigs(configs), context);
  if (!resolved.ok) throw new Error(resolved.error);
  const { cluster, user, namespace } = resolved.value;
  const clusterSubject = `kubeconfig cluster "${cluster.name}"`;
  const ca =
    cluster.ca === undefined
      ? undefined
      : 'data' in cluster.ca
        ? cluster.ca.data
        : readNow(io, clusterSubject, 'certificate-authority', cluster.ca.file);
  if (cluster.proxyUrl !== undefined) checkProxyUrl(clusterSubject, cluster.proxyUrl);
  const subject = `kubeconfig user "${user.name}"`;
  const plugin =
    user.exec === undefined
      ? undefined
      : new ExecPlugin(
          user.name,
          user.exec,
          { ...cluster, ...(ca === undefined ? {} : { caPem: ca }) },
          {
            run: io.runPlugin,
            now: () => io.now(),
            env: io.env,
            stdinIsTerminal: io.stdinIsTerminal,
          },
        );
  return {
    server: cluster.server,
    ...(ca === undefined ? {} : { ca }),
    ...(cluster.insecureSkipTlsVerify ? { insecureSkipTlsVerify: true } : {}),
    ...(cluster.tlsServerName === undefined ? {} : { tlsServerName: cluster.tlsServerName }),
    ...(cluster.proxyUrl === undefined ? {} : { proxyUrl: cluster.proxyUrl }),
    ...(namespace === undefined ? {} : { namespace }),
    credentials: userCredentials(subject, user, io, plugin),
  };
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The connection a Pod has through its service account, given KUBERNETES_SERVICE_HOST and _PORT. */
export function inClusterConnection(host: string, port: string, io: LoginIo): ClusterConnection {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    ca: readNow(io, 'service account', 'ca.crt', `${serviceAccountDir}/ca.crt`),
    namespace: readNow(io, 'service account', 'namespace', `${serviceAccountDir}/namespace`).trim(),
    credentials: serviceAccountCredentials(`${serviceAccountDir}/token`, io),
  };
}

/** Real files, processes and clock; `stderr` shows an interactive plugin's prompts as they come. */
export function nodeLoginIo(options: {
  env: Record<string, string | undefined>;
  stdinIsTerminal: boolean;
  stderr?: (chunk: string) => void;
}): LoginIo {
  return {
    readFile: (path) => readFile(path, 'utf8'),
    readFileSync: (path) => readFileSync(path, 'utf8'),
    fileVersion: async (path) => {
      const s = await stat(path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    },
    now: () => Date.now(),
    runPlugin: (run) => runProcess(run, run.stdin === 'terminal' ? options.stderr : undefined),
    env: options.env,
    stdinIsTerminal: options.stdinIsTerminal,
  };
}

function runProcess(run: Parameters<RunPlugin>[0], forwardStderr?: (chunk: string) => void): Promise<PluginOutcome> {
  return new Promise((resolve) => {
    const child = spawn(run.command, run.args, {
      env: run.env,
      stdio: [run.stdin === 'terminal' ? 'inherit' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      forwardStderr?.(chunk);
    });
    child.once('error', (error) => resolve({ started: false, error }));
    child.once('close', (exitCode, signal) => resolve({ started: true, exitCode, signal, stdout, stderr }));
  });
}

function readNow(io: LoginIo, subject: string, label: string, path: string): string {
  try {
    return io.readFileSync(path);
  } catch (error) {
    throw new LoginError(subject, `${label} ${path}: ${describeFileError(error)}`, { cause: error });
  }
}

// Node's agents tunnel through http:// and https:// proxies (CONNECT); SOCKS would need a library.
function checkProxyUrl(subject: string, proxyUrl: string): void {
  let protocol: string;
  try {
    protocol = new URL(proxyUrl).protocol;
  } catch {
    throw new LoginError(subject, `proxy-url ${proxyUrl} is not a URL`);
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new LoginError(
      subject,
      `proxy-url ${proxyUrl}: only http:// and https:// proxies are supported, not ${protocol}//`,
    );
}
