// How to reach an API server: read from a kubeconfig file's text, or from the
// service-account files a Pod gets. No file or environment is read here; the
// caller (src/bin) passes the contents in.
import { parse } from 'yaml';
import { z } from 'zod';

export interface ClusterConnection {
  server: string;
  ca?: string;
  token?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify?: boolean;
  /** The namespace commands use when none is given (the context's, or the Pod's). */
  namespace?: string;
}

const named = <T extends z.ZodType>(field: string, inner: T) =>
  z.array(z.object({ name: z.string() }).and(z.object({ [field]: inner })));

const kubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: named(
    'cluster',
    z.object({
      server: z.string(),
      'certificate-authority-data': z.string().optional(),
      'certificate-authority': z.string().optional(),
      'insecure-skip-tls-verify': z.boolean().optional(),
    }),
  ),
  contexts: named('context', z.object({ cluster: z.string(), user: z.string(), namespace: z.string().optional() })),
  users: named(
    'user',
    z.object({
      token: z.string().optional(),
      tokenFile: z.string().optional(),
      'client-certificate-data': z.string().optional(),
      'client-key-data': z.string().optional(),
    }),
  ),
});

export type ReadFile = (path: string) => string;

/** Resolves a kubeconfig's context (the current one by default) to a connection. */
export function connectionFromKubeconfig(text: string, readFile: ReadFile, context?: string): ClusterConnection {
  const config = kubeconfigSchema.parse(parse(text));
  const contextName = context ?? config['current-context'];
  if (contextName === undefined) throw new Error('kubeconfig: no context given and no current-context set');
  const ctx = config.contexts.find((c) => c.name === contextName)?.context;
  if (ctx === undefined) throw new Error(`kubeconfig: context "${contextName}" not found`);
  const cluster = config.clusters.find((c) => c.name === ctx.cluster)?.cluster;
  if (cluster === undefined)
    throw new Error(`kubeconfig: cluster "${ctx.cluster}" of context "${contextName}" not found`);
  const user = config.users.find((u) => u.name === ctx.user)?.user ?? {};
  const decode = (b64: string | undefined) =>
    b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  const ca = decode(cluster['certificate-authority-data']) ?? optionalRead(readFile, cluster['certificate-authority']);
  const token = user.token ?? optionalRead(readFile, user.tokenFile)?.trim();
  const cert = decode(user['client-certificate-data']);
  const key = decode(user['client-key-data']);
  return {
    server: cluster.server,
    ...(ca === undefined ? {} : { ca }),
    ...(token === undefined ? {} : { token }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(ctx.namespace === undefined ? {} : { namespace: ctx.namespace }),
  };
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The connection a Pod has through its service account, given KUBERNETES_SERVICE_HOST and _PORT. */
export function inClusterConnection(host: string, port: string, readFile: ReadFile): ClusterConnection {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    ca: readFile(`${serviceAccountDir}/ca.crt`),
    token: readFile(`${serviceAccountDir}/token`).trim(),
    namespace: readFile(`${serviceAccountDir}/namespace`).trim(),
  };
}

function optionalRead(readFile: ReadFile, path: string | undefined): string | undefined {
  return path === undefined ? undefined : readFile(path);
}
