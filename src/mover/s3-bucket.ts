// A bucket read and written by the mover with the bucket's own S3 keys: a
// ListObjectsV2 page by page (1000 keys, continuation tokens, keys URL-encoded
// so any key survives the XML), an object's body streamed to a file with its
// MD5, a file PUT with its Content-Type, metadata and Content-MD5, DELETE.
// Each request is presigned (core/s3-presign.ts) for a few minutes, headers
// it carries signed with it. node:http, not fetch: fetch would decompress a
// body stored with a Content-Encoding. Failures name the bucket, the key and
// what S3 answered; what S3 or the network may answer differently a moment
// later is tried twice more.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BucketSource } from '../api/index.ts';
import { plainEtag, presignS3, s3ErrorOf, type ListedObject, type PresignRequest } from '../core/index.ts';

export class BucketError extends Error {
  /** S3's error code (NoSuchBucket, AccessDenied, ...), when it answered one. */
  readonly s3Code: string | undefined;
  readonly status: number | undefined;
  constructor(message: string, s3Code: string | undefined, status: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BucketError';
    this.s3Code = s3Code;
    this.status = status;
  }
}

/** What a GET gave: the body's own size and MD5 as they arrived, and the object's headers. */
export interface Downloaded {
  bytes: number;
  md5: string;
  /** Content-Length as S3 announced it. */
  contentLength: number;
  etag: string;
  lastModified: string;
  contentType: string;
  metadata: Record<string, string>;
  /** Content-Encoding, Content-Disposition, Cache-Control, Content-Language, as stored. */
  headers: Record<string, string>;
}

export interface Upload {
  size: number;
  md5: string;
  contentType: string;
  metadata: Readonly<Record<string, string>>;
  headers: Readonly<Record<string, string>>;
}

export interface BucketClient {
  readonly name: string;
  /** The objects under prefix, a page (up to 1000) at a time. */
  pages(prefix: string): AsyncGenerator<ListedObject[]>;
  /** The object's body into file; undefined when there is no such key (deleted since the listing). */
  download(key: string, file: string): Promise<Downloaded | undefined>;
  upload(key: string, file: string, upload: Upload): Promise<void>;
  remove(key: string): Promise<void>;
}

export interface BucketAccess {
  accessKeyId: string;
  secretAccessKey: string;
  now: () => Date;
  signal?: AbortSignal | undefined;
  /** A PEM file of the CAs to trust instead of Node's ($SSL_CERT_FILE, as restic trusts it). */
  caFile?: string | undefined;
}

/** The headers a restore sets again besides Content-Type and metadata. */
export const storedHeaders = ['content-encoding', 'content-disposition', 'cache-control', 'content-language'] as const;

const signedSeconds = 900;
const attempts = 3;
const errorBodyLimit = 64 * 1024;

export function bucketClient(bucket: BucketSource, access: BucketAccess): BucketClient {
  const ca = access.caFile === undefined ? undefined : readFileSync(access.caFile, 'utf8');
  const sign = (request: Pick<PresignRequest, 'method' | 'key' | 'list' | 'query' | 'headers'>) =>
    presignS3({
      ...request,
      // exchange() sends the path as signed: keys with '.' and '..' segments reach their own objects.
      dotSegments: 'keep',
      endpoint: bucket.endpoint,
      bucket: bucket.name,
      region: bucket.region,
      accessKeyId: access.accessKeyId,
      secretAccessKey: access.secretAccessKey,
      expiresSeconds: signedSeconds,
      now: access.now(),
    });
  const where = (key?: string) => (key === undefined ? `bucket ${bucket.name}` : `"${key}" in bucket ${bucket.name}`);
  const send = (
    url: string,
    method: string,
    headers: Record<string, string> = {},
    body?: () => NodeJS.ReadableStream,
  ) => exchange(url, { method, headers, body, signal: access.signal, ca });

  return {
    name: bucket.name,
    async *pages(prefix) {
      let token: string | undefined;
      do {
        const url = sign({
          method: 'GET',
          key: '',
          list: { prefix, maxKeys: 1000, continuationToken: token },
          query: { 'encoding-type': 'url' },
        });
        const page = await retried(`listing ${where()}`, async () => {
          const response = await send(url, 'GET');
          const text = await textOf(response);
          if (!isOk(response))
            throw failure(`listing ${where()}${prefix === '' ? '' : ` under "${prefix}"`}`, response, text);
          return parseListPage(text);
        });
        yield page.objects;
        token = page.nextToken;
      } while (token !== undefined);
    },

    download: (key, file) =>
      retried(`reading ${where(key)}`, async () => {
        const response = await send(sign({ method: 'GET', key }), 'GET');
        if (response.statusCode === 404) {
          const text = await textOf(response);
          if (s3ErrorOf(text)?.startsWith('NoSuchKey') ?? true) return undefined;
          throw failure(`reading ${where(key)}`, response, text);
        }
        if (!isOk(response)) throw failure(`reading ${where(key)}`, response, await textOf(response));
        const md5 = createHash('md5');
        let bytes = 0;
        const counted = new Transform({
          transform(chunk: Buffer, _, done) {
            md5.update(chunk);
            bytes += chunk.length;
            done(null, chunk);
          },
        });
        await pipeline(response, counted, createWriteStream(file));
        const header = (name: string) => {
          const value = response.headers[name];
          return Array.isArray(value) ? value.join(', ') : value;
        };
        const lastModified = new Date(header('last-modified') ?? '');
        return {
          bytes,
          md5: md5.digest('hex'),
          contentLength: Number(header('content-length') ?? Number.NaN),
          etag: plainEtag(header('etag') ?? ''),
          lastModified: Number.isNaN(lastModified.getTime()) ? '' : lastModified.toISOString(),
          contentType: header('content-type') ?? 'binary/octet-stream',
          metadata: Object.fromEntries(
            Object.keys(response.headers)
              .filter((name) => name.startsWith('x-amz-meta-'))
              .map((name) => [name.slice('x-amz-meta-'.length), header(name) ?? '']),
          ),
          headers: Object.fromEntries(
            storedHeaders.flatMap((name) => (header(name) === undefined ? [] : [[name, header(name) ?? '']])),
          ),
        };
      }),

    upload: (key, file, upload) =>
      retried(`writing ${where(key)}`, async () => {
        const headers: Record<string, string> = {
          'content-type': upload.contentType,
          'content-md5': Buffer.from(upload.md5, 'hex').toString('base64'),
          ...upload.headers,
          ...Object.fromEntries(Object.entries(upload.metadata).map(([name, value]) => [`x-amz-meta-${name}`, value])),
        };
        const url = sign({ method: 'PUT', key, headers });
        const response = await send(url, 'PUT', { ...headers, 'content-length': String(upload.size) }, () =>
          createReadStream(file),
        );
        const text = await textOf(response);
        if (!isOk(response)) throw failure(`writing ${where(key)}`, response, text);
      }),

    remove: (key) =>
      retried(`deleting ${where(key)}`, async () => {
        const response = await send(sign({ method: 'DELETE', key }), 'DELETE');
        const text = await textOf(response);
        if (!isOk(response) && response.statusCode !== 404) throw failure(`deleting ${where(key)}`, response, text);
      }),
  };
}

interface ListPage {
  objects: ListedObject[];
  nextToken: string | undefined;
}

/** One ListObjectsV2 answer; keys URL-decoded when S3 says it encoded them. */
export function parseListPage(xml: string): ListPage {
  if (!/<ListBucketResult[\s>]/.test(xml))
    throw new BucketError('the listing is not a ListBucketResult', undefined, 200);
  const urlEncoded = /<EncodingType>url<\/EncodingType>/i.test(xml);
  const field = (block: string, name: string) => {
    const value = new RegExp(`<${name}>([^<]*)</${name}>`).exec(block)?.[1];
    return value === undefined ? undefined : unescapeXml(value);
  };
  const objects = [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map(([, block = '']) => {
    const rawKey = field(block, 'Key') ?? '';
    const size = Number(field(block, 'Size'));
    const lastModified = field(block, 'LastModified') ?? '';
    if (rawKey === '' || !Number.isSafeInteger(size) || size < 0 || Number.isNaN(Date.parse(lastModified))) {
      throw new BucketError(
        `the listing has an entry without a key, size or time: ${block.slice(0, 200)}`,
        undefined,
        200,
      );
    }
    const key = urlEncoded ? decodeURIComponent(rawKey.replaceAll('+', ' ')) : rawKey;
    return { key, size, lastModified, etag: plainEtag(field(block, 'ETag') ?? '') };
  });
  const truncated = field(xml, 'IsTruncated') === 'true';
  const token = field(xml, 'NextContinuationToken');
  if (truncated && (token === undefined || token === ''))
    throw new BucketError('the listing is truncated but gives no continuation token', undefined, 200);
  return { objects, nextToken: truncated ? token : undefined };
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|quot|apos|amp);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[entity] ?? '';
  });
}

const isOk = (response: IncomingMessage) => (response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300;

function failure(what: string, response: IncomingMessage, body: string): BucketError {
  const said = s3ErrorOf(body);
  const code = said?.split(' ')[0];
  return new BucketError(
    `${what}: S3 answered HTTP ${response.statusCode}${said === undefined ? '' : ` ${said}`}`,
    code,
    response.statusCode,
  );
}

/** A request's answer, once its headers are in (its body still to read). */
function exchange(
  url: string,
  options: {
    method: string;
    headers: Record<string, string>;
    body?: (() => NodeJS.ReadableStream) | undefined;
    signal?: AbortSignal | undefined;
    ca?: string | undefined;
  },
): Promise<IncomingMessage> {
  // Not through WHATWG URL parsing, which would fold a key's '.' and '..' segments away.
  const target = new URL(url);
  const path = url.slice(target.origin.length);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: target.port,
      path,
      method: options.method,
      headers: options.headers,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    req.setTimeout(120_000, () => req.destroy(new Error('nothing moved for 120 s')));
    req.on('error', reject);
    req.on('response', resolve);
    if (options.body === undefined) req.end();
    else {
      const body = options.body();
      body.on('error', (error: Error) => req.destroy(error));
      body.pipe(req);
    }
  });
}

/** The answer's body as text: a listing whole (1000 keys at most), an error's first 64 KiB. */
async function textOf(response: IncomingMessage): Promise<string> {
  const limit = isOk(response) ? Number.POSITIVE_INFINITY : errorBodyLimit;
  let text = '';
  response.setEncoding('utf8');
  for await (const chunk of response) if (text.length < limit) text += String(chunk);
  return text;
}

/** S3 busy or failing inside (5xx), or the connection lost: tried again after 0.5 s, then 2 s. */
async function retried<T>(what: string, action: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      const transient = error instanceof BucketError ? (error.status ?? 0) >= 500 : !isAbort(error);
      if (!transient || attempt >= attempts) {
        if (error instanceof BucketError) throw error;
        throw new BucketError(
          `${what}: ${error instanceof Error ? error.message : String(error)}`,
          undefined,
          undefined,
          {
            cause: error,
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * 4 ** (attempt - 1)));
    }
  }
}

const isAbort = (error: unknown) => error instanceof Error && error.name === 'AbortError';
