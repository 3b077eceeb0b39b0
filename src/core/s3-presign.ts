// S3 presigned URLs (AWS Signature Version 4, query-string form): the operator
// signs one method on one object for a short while, so a tenant's CLI or a
// mover can move that object without ever holding the S3 keys. Pure: the
// clock comes in as `now`, and nothing here talks to S3.
import { createHash, createHmac } from 'node:crypto';

export type PresignMethod = 'GET' | 'PUT' | 'DELETE' | 'HEAD';

export interface PresignRequest {
  method: PresignMethod;
  /** Scheme, host, optional port and optional path prefix: http://127.0.0.1:7480, https://s3.example:443/store/ */
  endpoint: string;
  bucket: string;
  /** The object key as stored, unencoded ('tenants/a/notes 1.txt'). */
  key: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** 1 to 604800 (seven days, the SigV4 limit). */
  expiresSeconds: number;
  now: Date;
  /** 'path' (the default, as radosgw and MinIO are usually run) puts the bucket in the path, 'virtual-hosted' in the host. */
  addressing?: 'path' | 'virtual-hosted';
  /** A ListObjectsV2 of the keys under `prefix` instead of one object: method GET and key ''. */
  list?: { prefix: string; maxKeys: number; continuationToken?: string | undefined };
  /**
   * More query parameters, signed with the rest: a subresource of the bucket with key '' ({ policy: '' }),
   * or an operation's arguments (radosgw's admin API: bucket 'admin', key 'bucket', { format: 'json' }).
   */
  query?: Readonly<Record<string, string>>;
  /**
   * Headers the request will carry, signed with the host (Content-Type, Content-MD5, x-amz-meta-*): S3 refuses
   * the request when they differ. Names in any case; values as sent.
   */
  headers?: Readonly<Record<string, string>>;
  /**
   * 'keep': the key may have '.' and '..' segments, because the caller sends the path exactly as signed
   * (node:http with the path as given), where a WHATWG URL client would fold them away.
   */
  dotSegments?: 'refuse' | 'keep';
}

export class S3PresignError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'S3PresignError';
  }
}

export const maxPresignSeconds = 604_800;
const algorithm = 'AWS4-HMAC-SHA256';

/** A URL that performs `method` on the object until `now + expiresSeconds`, signed for the host header only. */
export function presignS3(request: PresignRequest): string {
  const { method, bucket, key, accessKeyId, secretAccessKey, expiresSeconds, now } = request;
  const region = request.region ?? 'us-east-1';
  const addressing = request.addressing ?? 'path';
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > maxPresignSeconds) {
    throw new S3PresignError(
      `expiresSeconds must be a whole number from 1 to ${maxPresignSeconds}, not ${expiresSeconds}`,
    );
  }
  if (Number.isNaN(now.getTime())) throw new S3PresignError('now is not a valid date');
  if (accessKeyId === '' || secretAccessKey === '') throw new S3PresignError('the S3 access key is empty');
  if (region === '' || region.includes('/')) throw new S3PresignError(`"${region}" is not a region`);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new S3PresignError(`"${bucket}" is not a bucket name`);
  if (request.list !== undefined) {
    if (key !== '' || method !== 'GET') throw new S3PresignError('a listing is a GET of the bucket, with no key');
  } else if (key !== '' || request.query === undefined) checkKey(key, request.dotSegments ?? 'refuse');

  const base = parseEndpoint(request.endpoint);
  const host = addressing === 'path' ? base.host : `${bucket}.${base.host}`;
  const path = `${base.pathPrefix}${addressing === 'path' ? `/${bucket}` : ''}/${encodePath(key)}`;

  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, ''); // 20130524T000000Z
  const scope = `${amzDate.slice(0, 8)}/${region}/s3/aws4_request`;
  const list = request.list;
  const signed = signedHeaders(host, request.headers ?? {});
  const params: [string, string][] = [
    ['X-Amz-Algorithm', algorithm],
    ['X-Amz-Credential', `${accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expiresSeconds)],
    ['X-Amz-SignedHeaders', signed.names],
    ...(list === undefined
      ? []
      : ([
          ['list-type', '2'],
          ['max-keys', String(list.maxKeys)],
          ['prefix', list.prefix],
          ...(list.continuationToken === undefined ? [] : [['continuation-token', list.continuationToken]]),
        ] as [string, string][])),
    ...Object.entries(request.query ?? {}),
  ];
  // Sorted by encoded name in code-point order, as SigV4 signs them (upper-case X before lower-case).
  const query = params
    .map(([name, value]) => [s3UriEncode(name), s3UriEncode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');

  const canonicalRequest = [method, path, query, signed.canonical, '', signed.names, 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = [algorithm, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = [amzDate.slice(0, 8), region, 's3', 'aws4_request'].reduce<Buffer>(
    (secret, part) => hmac(secret, part),
    Buffer.from(`AWS4${secretAccessKey}`, 'utf8'),
  );
  const signature = hmac(signingKey, stringToSign).toString('hex');
  return `${base.protocol}//${host}${path}?${query}&X-Amz-Signature=${signature}`;
}

export interface S3ObjectLocation {
  /** Scheme, host and port, no trailing '/': what presignS3 takes as endpoint. */
  endpoint: string;
  bucket: string;
  /** The path inside the bucket, '' or without leading and trailing '/': 'tenants/a'. */
  prefix: string;
}

export type S3LocationResult = { ok: true; location: S3ObjectLocation } | { ok: false; error: string };

/**
 * Where a restic `s3:` repository keeps its objects: `s3:http://127.0.0.1:7480/bucket/tenants/a`, or
 * `s3:host/bucket/prefix` and `s3://host/bucket/prefix`, which restic reaches over https.
 */
export function s3ObjectLocation(resticRepositoryUrl: string): S3LocationResult {
  if (!resticRepositoryUrl.startsWith('s3:')) return { ok: false, error: `"${resticRepositoryUrl}" is not an s3: URL` };
  const rest = resticRepositoryUrl.slice('s3:'.length).replace(/^\/\//, '');
  let url: URL;
  let segments: string[];
  try {
    url = new URL(/^https?:\/\//.test(rest) ? rest : `https://${rest}`);
    segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    return { ok: false, error: `"${resticRepositoryUrl}" is not a URL after "s3:"` };
  }
  const [bucket, ...prefix] = segments;
  if (bucket === undefined) return { ok: false, error: `"${resticRepositoryUrl}" names no bucket` };
  return { ok: true, location: { endpoint: url.origin, bucket, prefix: prefix.join('/') } };
}

/** S3's UriEncode: every UTF-8 byte except A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex). */
export function s3UriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An object key as a URL path: each segment encoded, the '/' between them kept. */
function encodePath(key: string): string {
  return key.split('/').map(s3UriEncode).join('/');
}

function checkKey(key: string, dotSegments: 'refuse' | 'keep'): void {
  if (key === '') throw new S3PresignError('the object key is empty');
  if (!key.isWellFormed()) throw new S3PresignError('the object key has a lone surrogate, which UTF-8 cannot carry');
  if (Buffer.byteLength(key, 'utf8') > 1024) throw new S3PresignError('the object key is longer than 1024 bytes');
  // Every WHATWG URL client (fetch, browsers) folds '.' and '..' segments away, so the request would name another object.
  if (dotSegments === 'refuse' && key.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new S3PresignError(`the object key "${key}" has a '.' or '..' segment, which URL clients rewrite`);
  }
}

interface Endpoint {
  protocol: 'http:' | 'https:';
  /** As the Host header carries it: lower-case, and without the scheme's default port. */
  host: string;
  /** '' or '/store': re-encoded segment by segment, no trailing '/'. */
  pathPrefix: string;
}

function parseEndpoint(endpoint: string): Endpoint {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new S3PresignError(`the endpoint "${endpoint}" is not a URL`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new S3PresignError(`the endpoint "${endpoint}" is not http or https`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new S3PresignError(`the endpoint "${endpoint}" may hold only a scheme, a host, a port and a path`);
  }
  const segments = url.pathname.replace(/\/+$/, '').split('/').slice(1);
  try {
    const pathPrefix = segments.map((s) => `/${s3UriEncode(decodeURIComponent(s))}`).join('');
    return { protocol: url.protocol, host: url.host, pathPrefix };
  } catch (error) {
    throw new S3PresignError(`the endpoint "${endpoint}" has a path that is not valid percent-encoding`, {
      cause: error,
    });
  }
}

/** The canonical headers (host among them) and their names, as SigV4 signs them: lower-case names in order, values trimmed. */
function signedHeaders(host: string, headers: Readonly<Record<string, string>>): { canonical: string; names: string } {
  const entries = new Map<string, string>([['host', host]]);
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!/^[a-z0-9-]+$/.test(lower)) throw new S3PresignError(`"${name}" is not a header name`);
    if (entries.has(lower)) throw new S3PresignError(`the header "${name}" is given twice (or is host)`);
    entries.set(lower, value.trim().replace(/ +/g, ' '));
  }
  const names = [...entries.keys()].sort();
  return {
    canonical: names.map((name) => `${name}:${entries.get(name) ?? ''}`).join('\n'),
    names: names.join(';'),
  };
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

/** What an S3 error body says: its Code, and its Message when there is one (XML, or the JSON radosgw's admin API answers). */
export function s3ErrorOf(body: string): string | undefined {
  const field = (name: string) =>
    (new RegExp(`<${name}>([^<]*)</${name}>`).exec(body) ??
      new RegExp(`"${name}"\\s*:\\s*"([^"]*)"`).exec(body))?.[1]?.trim();
  const code = field('Code');
  const message = field('Message');
  if (code === undefined) return undefined;
  return message === undefined || message === '' ? code : `${code} (${message})`;
}
