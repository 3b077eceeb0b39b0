// What a kubeconfig says, read the way kubectl reads it: each file parsed with
// its relative paths made absolute against the file's folder, several files
// merged by kubectl's rules, and one context resolved to a plain description
// of how to log in (KubeconfigLogin). Pure: callers pass the files' text in;
// src/kube/login.ts turns the description into credentials.
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/** PEM text given inline (already decoded from base64), or a file to read it from. */
export type PemSource = { data: string } | { file: string };

export type InteractiveMode = 'Never' | 'IfAvailable' | 'Always';
export const execApiVersions = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;
export type ExecApiVersion = (typeof execApiVersions)[number];

export interface ExecConfig {
  apiVersion: ExecApiVersion;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  installHint?: string;
  provideClusterInfo: boolean;
  interactiveMode: InteractiveMode;
}

export interface ClusterEntry {
  server?: string;
  ca?: PemSource;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
  /** The cluster's `client.authentication.k8s.io/exec` extension, handed to exec plugins. */
  execExtension?: unknown;
}

export interface UserEntry {
  token?: string;
  tokenFile?: string;
  basic?: { username: string; password: string };
  clientCertificate?: PemSource;
  clientKey?: PemSource;
  exec?: ExecConfig;
  /** What is set but not supported, such as `auth-provider`: refused when this user is used. */
  unsupported: string[];
}

export interface ContextEntry {
  cluster: string;
  user: string;
  namespace?: string;
}

export interface Kubeconfig {
  currentContext?: string;
  clusters: Map<string, ClusterEntry>;
  users: Map<string, UserEntry>;
  contexts: Map<string, ContextEntry>;
}

export interface KubeconfigLogin {
  context: string;
  cluster: ClusterEntry & { name: string; server: string };
  user: UserEntry & { name: string };
  namespace?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((items) => items ?? []);

const clusterSchema = z.object({
  server: z.string().optional(),
  'certificate-authority': z.string().optional(),
  'certificate-authority-data': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().optional(),
  'proxy-url': z.string().optional(),
  extensions: z.array(z.object({ name: z.string(), extension: z.unknown() })).optional(),
});

const execSchema = z.object({
  apiVersion: z.string(),
  command: z.string().min(1),
  args: z.array(z.string()).nullish(),
  env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
  installHint: z.string().optional(),
  provideClusterInfo: z.boolean().optional(),
  interactiveMode: z.enum(['Never', 'IfAvailable', 'Always']).optional(),
});

const userSchema = z.object({
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  'client-certificate': z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key': z.string().optional(),
  'client-key-data': z.string().optional(),
  exec: execSchema.optional(),
  'auth-provider': z.object({ name: z.string() }).loose().optional(),
  as: z.string().optional(),
  'as-groups': z.array(z.string()).optional(),
  'as-uid': z.string().optional(),
});

const contextSchema = z.object({ cluster: z.string(), user: z.string(), namespace: z.string().optional() });

const fileSchema = z
  .object({
    'current-context': z.string().nullish(),
    clusters: list(z.object({ name: z.string(), cluster: clusterSchema })),
    users: list(z.object({ name: z.string(), user: userSchema.nullish() })),
    contexts: list(z.object({ name: z.string(), context: contextSchema })),
  })
  .nullable();

/** One kubeconfig file; relative paths in it are taken from the file's folder, as kubectl does. */
export function parseKubeconfig(path: string, text: string): Parsed<Kubeconfig> {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    return { ok: false, error: `kubeconfig ${path}: not YAML: ${(error as Error).message}` };
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `kubeconfig ${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  const file = parsed.data ?? { 'current-context': undefined, clusters: [], users: [], contexts: [] };
  const folder = dirname(path);
  const clusters = byName(file.clusters, 'cluster', (c) => clusterEntry(c.cluster, folder));
  const users = byName(file.users, 'user', (u) => userEntry(u.user ?? {}, folder));
  const contexts = byName(file.contexts, 'context', (c) => c.context);
  if (typeof clusters === 'string') return { ok: false, error: `kubeconfig ${path}: ${clusters}` };
  if (typeof users === 'string') return { ok: false, error: `kubeconfig ${path}: ${users}` };
  if (typeof contexts === 'string') return { ok: false, error: `kubeconfig ${path}: ${contexts}` };
  const currentContext = file['current-context'] ?? undefined;
  return {
    ok: true,
    value: {
      ...(currentContext === undefined || currentContext === '' ? {} : { currentContext }),
      clusters,
      users,
      contexts,
    },
  };
}

/** kubectl's rules for a KUBECONFIG list: the first file to set a name (or current-context) wins. */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const merged: Kubeconfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const config of configs) {
    merged.currentContext ??= config.currentContext;
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      const into = merged[key] as Map<string, unknown>;
      for (const [name, entry] of config[key]) if (!into.has(name)) into.set(name, entry);
    }
  }
  return merged;
}

/** The context given (else the current one) as a cluster and a user to log in as. */
export function resolveLogin(config: Kubeconfig, contextName?: string): Parsed<KubeconfigLogin> {
  const name = contextName ?? config.currentContext;
  if (name === undefined)
    return { ok: false, error: 'kubeconfig: no context given (--context) and no current-context set' };
  const context = config.contexts.get(name);
  if (context === undefined) return { ok: false, error: `kubeconfig: context "${name}" not found` };
  const cluster = config.clusters.get(context.cluster);
  if (cluster === undefined)
    return { ok: false, error: `kubeconfig: cluster "${context.cluster}" of context "${name}" not found` };
  if (cluster.server === undefined || cluster.server === '')
    return { ok: false, error: `kubeconfig cluster "${context.cluster}": no server` };
  if (cluster.insecureSkipTlsVerify && cluster.ca !== undefined)
    return {
      ok: false,
      error: `kubeconfig cluster "${context.cluster}": certificate-authority and insecure-skip-tls-verify together are not allowed (as in kubectl)`,
    };
  // kubectl, too, goes on without credentials when the user is not defined.
  const user = config.users.get(context.user) ?? { unsupported: [] };
  const refused = user.unsupported[0];
  if (refused !== undefined) return { ok: false, error: `kubeconfig user "${context.user}": ${refused}` };
  if (user.token !== undefined && user.basic !== undefined)
    return { ok: false, error: `kubeconfig user "${context.user}": token and username/password: only one is allowed` };
  return {
    ok: true,
    value: {
      context: name,
      cluster: { ...cluster, name: context.cluster, server: cluster.server },
      user: { ...user, name: context.user },
      ...(context.namespace === undefined || context.namespace === '' ? {} : { namespace: context.namespace }),
    },
  };
}

/** A named list as a map; kubectl refuses a name listed twice in one file (the message says so). */
function byName<T extends { name: string }, E>(
  items: T[],
  what: string,
  entry: (item: T) => E,
): Map<string, E> | string {
  const map = new Map<string, E>();
  for (const item of items) {
    if (map.has(item.name)) return `two ${what}s named "${item.name}"`;
    map.set(item.name, entry(item));
  }
  return map;
}

function clusterEntry(c: z.infer<typeof clusterSchema>, folder: string): ClusterEntry {
  const ca = pem(c['certificate-authority-data'], c['certificate-authority'], folder);
  const extension = c.extensions?.find((e) => e.name === 'client.authentication.k8s.io/exec')?.extension;
  return {
    ...(c.server === undefined ? {} : { server: c.server }),
    ...(ca === undefined ? {} : { ca }),
    insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
    ...(c['tls-server-name'] === undefined ? {} : { tlsServerName: c['tls-server-name'] }),
    ...(c['proxy-url'] === undefined || c['proxy-url'] === '' ? {} : { proxyUrl: c['proxy-url'] }),
    ...(extension === undefined ? {} : { execExtension: extension }),
  };
}

function userEntry(u: z.infer<typeof userSchema>, folder: string): UserEntry {
  const cert = pem(u['client-certificate-data'], u['client-certificate'], folder);
  const key = pem(u['client-key-data'], u['client-key'], folder);
  const unsupported: string[] = [];
  const exec = u.exec === undefined ? undefined : execConfig(u.exec, folder, unsupported);
  if (u['auth-provider'] !== undefined)
    unsupported.push(
      `auth-provider "${u['auth-provider'].name}" is not supported; use its exec plugin (kubelogin, gke-gcloud-auth-plugin, aws eks get-token)`,
    );
  if (u.as !== undefined || u['as-groups'] !== undefined || u['as-uid'] !== undefined)
    unsupported.push('impersonation (as, as-groups, as-uid) is not supported');
  const hasBasic = u.username !== undefined || u.password !== undefined;
  return {
    ...(u.token === undefined || u.token === '' ? {} : { token: u.token }),
    ...(u.tokenFile === undefined || u.tokenFile === '' ? {} : { tokenFile: absolute(u.tokenFile, folder) }),
    ...(hasBasic ? { basic: { username: u.username ?? '', password: u.password ?? '' } } : {}),
    ...(cert === undefined ? {} : { clientCertificate: cert }),
    ...(key === undefined ? {} : { clientKey: key }),
    ...(exec === undefined ? {} : { exec }),
    unsupported,
  };
}

function execConfig(e: z.infer<typeof execSchema>, folder: string, unsupported: string[]): ExecConfig | undefined {
  const apiVersion = execApiVersions.find((v) => v === e.apiVersion);
  if (apiVersion === undefined) {
    unsupported.push(
      `exec plugin ${e.command}: apiVersion "${e.apiVersion}" is not supported (use ${execApiVersions.join(' or ')})`,
    );
    return undefined;
  }
  if (apiVersion === 'client.authentication.k8s.io/v1' && e.interactiveMode === undefined) {
    unsupported.push(`exec plugin ${e.command}: interactiveMode is required in ${apiVersion}`);
    return undefined;
  }
  // kubectl: a command with a path separator is relative to the kubeconfig; a bare name is looked up in PATH.
  const command = e.command.includes('/') ? absolute(e.command, folder) : e.command;
  return {
    apiVersion,
    command,
    args: e.args ?? [],
    env: e.env ?? [],
    ...(e.installHint === undefined ? {} : { installHint: e.installHint }),
    provideClusterInfo: e.provideClusterInfo === true,
    interactiveMode: e.interactiveMode ?? 'IfAvailable',
  };
}

// Inline data overrides a file, as in kubectl.
function pem(data: string | undefined, file: string | undefined, folder: string): PemSource | undefined {
  if (data !== undefined && data !== '') return { data: Buffer.from(data, 'base64').toString('utf8') };
  if (file !== undefined && file !== '') return { file: absolute(file, folder) };
  return undefined;
}

function absolute(path: string, folder: string): string {
  return isAbsolute(path) ? path : join(folder, path);
}
