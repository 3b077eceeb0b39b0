// What etcdctl and etcdutl say, read for an etcd snapshot: the reason a
// client could not reach etcd (from its JSON log lines or its "Error:" line),
// with a hint naming the certificate file to check, and the JSON of
// `etcdutl snapshot status`. Pure.
import { z } from 'zod';

/** `etcdutl snapshot status -w json` */
const snapshotStatus = z.object({
  hash: z.int(),
  revision: z.int(),
  totalKey: z.int(),
  totalSize: z.number(),
  version: z.string().optional(),
});
export type SnapshotStatus = z.infer<typeof snapshotStatus>;

export function parseSnapshotStatus(stdout: string): SnapshotStatus | undefined {
  try {
    const parsed = snapshotStatus.safeParse(JSON.parse(stdout));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The client's reason, as one short line: the gRPC error under its wrappers, else its last "Error:" line. */
export function etcdClientSaid(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim());
  const errors = lines.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const error = (JSON.parse(line) as { error?: unknown }).error;
      return typeof error === 'string' ? [error] : [];
    } catch {
      return [];
    }
  });
  const error = errors.at(-1);
  if (error !== undefined) return unwrap(error);
  const said = lines.filter((line) => line !== '' && !line.startsWith('{'));
  const last = said.findLast((line) => line.startsWith('Error:')) ?? said.at(-1);
  return last === undefined ? 'it printed nothing' : last.replace(/^Error:\s*/, '');
}

/** "rpc error: code = ... desc = latest balancer error: connection error: desc = \"transport: ...\"" to its cause. */
function unwrap(error: string): string {
  return error
    .replace(/^rpc error: code = \w+ desc = /, '')
    .replace(/^latest balancer error: /, '')
    .replace(/^connection error: desc = /, '')
    .replace(/^"(.*)"$/, '$1')
    .replace(/\\"/g, '"')
    .replace(/^transport: (Error while dialing: )?/, '');
}

/** The certificate fields, as the dump names them. */
export interface CertificateFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** What to check, given why the client failed; undefined when nothing specific is known. */
export function etcdHint(reason: string, endpoint: string, files: CertificateFiles): string | undefined {
  if (/unknown authority|certificate is not valid|certificate is valid for|doesn't contain any IP SANs/.test(reason))
    return `etcd's serving certificate is not signed by ${files.caFile} (spec.etcd.certificates.caFile), or does not name ${hostOf(endpoint)}`;
  if (/private key does not match|failed to find any PEM data|failed to parse private key/.test(reason))
    return `${files.certFile} and ${files.keyFile} (spec.etcd.certificates.certFile, keyFile) are not a certificate and its key`;
  if (/bad certificate|certificate required|unknown certificate|broken pipe|connection reset/.test(reason))
    return `etcd refused the client certificate ${files.certFile} (spec.etcd.certificates.certFile): it must be signed by etcd's client CA`;
  if (/server preface|first record does not look like a TLS handshake/.test(reason))
    return endpoint.startsWith('http://')
      ? 'etcd speaks TLS there: use https:// (spec.etcd.endpoints)'
      : 'etcd does not speak TLS there: use http:// (spec.etcd.endpoints)';
  if (/connection refused|no route to host|i\/o timeout|no such host/.test(reason))
    return 'no etcd listens there: is the mover on a control-plane node (spec.etcd.nodeSelector), and etcd on that address (spec.etcd.endpoints)?';
  return undefined;
}

function hostOf(endpoint: string): string {
  return URL.canParse(endpoint) ? new URL(endpoint).hostname : endpoint;
}
