// client-go's exec credential plugins (EKS `aws eks get-token`, GKE, kubelogin,
// OIDC helpers): run the command with KUBERNETES_EXEC_INFO set, read the
// ExecCredential it prints, keep it until its expirationTimestamp or until the
// server refuses it (401), and say the plugin's stderr when it fails.
import { z } from 'zod';
import type { ClusterEntry, ExecConfig } from './kubeconfig.ts';
import { LoginError } from './login-error.ts';

export interface PluginRun {
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  /** Hand the terminal's stdin to the plugin (interactive), or give it none. */
  stdin: 'terminal' | 'none';
}

export type PluginOutcome =
  | { started: true; exitCode: number | null; signal: string | null; stdout: string; stderr: string }
  | { started: false; error: NodeJS.ErrnoException };

export type RunPlugin = (run: PluginRun) => Promise<PluginOutcome>;

export interface PluginCredential {
  token?: string;
  cert?: string;
  key?: string;
  /** Milliseconds since the epoch; none means until the server refuses it. */
  expiresAt?: number;
}

/** The cluster as a plugin may be told it (provideClusterInfo), with its CA as PEM. */
export type PluginCluster = ClusterEntry & { server: string; caPem?: string };

export interface ExecPluginDeps {
  run: RunPlugin;
  now: () => number;
  /** The environment the plugin starts from (Safehold's own). */
  env: Record<string, string | undefined>;
  stdinIsTerminal: boolean;
}

const statusSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('ExecCredential'),
  status: z.object({
    token: z.string().optional(),
    clientCertificateData: z.string().optional(),
    clientKeyData: z.string().optional(),
    expirationTimestamp: z.iso.datetime({ offset: true }).optional(),
  }),
});

interface Kept {
  credential: Promise<PluginCredential>;
  settled?: PluginCredential;
}

/** Runs one user's plugin when needed; concurrent callers share one run. */
export class ExecPlugin {
  #cached: Kept | undefined;
  readonly #subject: string;
  readonly #config: ExecConfig;
  readonly #cluster: PluginCluster;
  readonly #deps: ExecPluginDeps;

  constructor(userName: string, config: ExecConfig, cluster: PluginCluster, deps: ExecPluginDeps) {
    this.#subject = `kubeconfig user "${userName}"`;
    this.#config = config;
    this.#cluster = cluster;
    this.#deps = deps;
  }

  credential(): Promise<PluginCredential> {
    const cached = this.#cached;
    const expiresAt = cached?.settled?.expiresAt;
    if (cached !== undefined && (expiresAt === undefined || expiresAt > this.#deps.now())) return cached.credential;
    const entry: Kept = { credential: this.#run() };
    this.#cached = entry;
    entry.credential.then(
      (credential) => (entry.settled = credential),
      // A failed run is not kept: the next request runs the plugin again.
      () => {
        if (this.#cached === entry) this.#cached = undefined;
      },
    );
    return entry.credential;
  }

  /** The server refused a credential: forget the kept one if it is that one, so the next call runs the plugin. */
  refused(sent: { token?: string; cert?: string }): void {
    const settled = this.#cached?.settled;
    if (settled === undefined) return;
    if (
      (settled.token !== undefined && settled.token === sent.token) ||
      (settled.cert !== undefined && settled.cert === sent.cert)
    )
      this.#cached = undefined;
  }

  async #run(): Promise<PluginCredential> {
    const config = this.#config;
    const name = config.command;
    if (config.interactiveMode === 'Always' && !this.#deps.stdinIsTerminal)
      throw new LoginError(
        this.#subject,
        `exec plugin ${name} needs a terminal (interactiveMode Always), and stdin is not one`,
      );
    const interactive = this.#deps.stdinIsTerminal && config.interactiveMode !== 'Never';
    const env: Record<string, string | undefined> = { ...this.#deps.env };
    for (const { name: key, value } of config.env) env[key] = value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify(execInfo(config, this.#cluster, interactive));
    const outcome = await this.#deps.run({
      command: config.command,
      args: config.args,
      env,
      stdin: interactive ? 'terminal' : 'none',
    });
    if (!outcome.started) {
      const hint = config.installHint?.trim();
      const why = outcome.error.code === 'ENOENT' ? 'not found' : `could not start: ${outcome.error.message}`;
      throw new LoginError(this.#subject, `exec plugin ${name} ${why}${hint ? `\n${hint}` : ''}`, {
        cause: outcome.error,
      });
    }
    if (outcome.exitCode !== 0) {
      const how = outcome.signal === null ? `exit ${outcome.exitCode ?? '?'}` : `killed by ${outcome.signal}`;
      const stderr = outcome.stderr.trim();
      throw new LoginError(
        this.#subject,
        `exec plugin ${name} failed (${how}): ${stderr === '' ? '(nothing on stderr)' : lastChars(stderr)}`,
      );
    }
    const parsed = parseExecCredential(config.apiVersion, outcome.stdout);
    if (!parsed.ok)
      throw new LoginError(this.#subject, `exec plugin ${name} printed no usable ExecCredential: ${parsed.error}`);
    return parsed.value;
  }
}

/** The ExecCredential request in KUBERNETES_EXEC_INFO, with the cluster when provideClusterInfo is set. */
export function execInfo(config: ExecConfig, cluster: PluginCluster, interactive: boolean): unknown {
  const clusterInfo = {
    server: cluster.server,
    ...(cluster.tlsServerName === undefined ? {} : { 'tls-server-name': cluster.tlsServerName }),
    ...(cluster.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
    ...(cluster.caPem === undefined
      ? {}
      : { 'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64') }),
    ...(cluster.proxyUrl === undefined ? {} : { 'proxy-url': cluster.proxyUrl }),
    ...(cluster.execExtension === undefined ? {} : { config: cluster.execExtension }),
  };
  return {
    apiVersion: config.apiVersion,
    kind: 'ExecCredential',
    spec: { interactive, ...(config.provideClusterInfo ? { cluster: clusterInfo } : {}) },
  };
}

/** What a plugin printed, checked as client-go checks it. */
export function parseExecCredential(
  apiVersion: string,
  stdout: string,
): { ok: true; value: PluginCredential } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return { ok: false, error: `not JSON: ${lastChars(stdout.trim(), 200) || '(nothing on stdout)'}` };
  }
  const parsed = statusSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  const { status } = parsed.data;
  if (parsed.data.apiVersion !== apiVersion)
    return { ok: false, error: `apiVersion ${parsed.data.apiVersion}, but the kubeconfig asks for ${apiVersion}` };
  const hasCert = status.clientCertificateData !== undefined && status.clientCertificateData !== '';
  const hasKey = status.clientKeyData !== undefined && status.clientKeyData !== '';
  if (hasCert !== hasKey) return { ok: false, error: 'clientCertificateData and clientKeyData must come together' };
  if ((status.token === undefined || status.token === '') && !hasCert)
    return { ok: false, error: 'neither a token nor a client certificate and key' };
  return {
    ok: true,
    value: {
      ...(status.token === undefined || status.token === '' ? {} : { token: status.token }),
      ...(hasCert ? { cert: status.clientCertificateData, key: status.clientKeyData } : {}),
      ...(status.expirationTimestamp === undefined ? {} : { expiresAt: Date.parse(status.expirationTimestamp) }),
    },
  };
}

function lastChars(text: string, max = 2000): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}
