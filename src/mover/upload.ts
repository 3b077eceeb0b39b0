// One PUT of a file to a presigned S3 URL: the whole body with its
// Content-Length (a presigned PUT takes no chunked encoding). The URL's query
// string is its signature, so no message names more of the URL than its
// origin and path.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { s3ErrorOf } from '../core/index.ts';

export type Upload = { ok: true; bytes: number } | { ok: false; reason: string };

export interface UploadOptions {
  signal?: AbortSignal | undefined;
  /** Give up when the connection sends or receives nothing for this long. */
  idleTimeoutMs: number;
  /** The CAs to trust instead of Node's (PEM), as restic trusts $SSL_CERT_FILE's. */
  ca?: string | undefined;
}

/** The URL without its query string and fragment: what a message may show. */
export function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

const errorBodyLimit = 64 * 1024;

/** S3's words from an error response: "AccessDenied (Request has expired)". */
export async function uploadFile(url: string, file: string, options: UploadOptions): Promise<Upload> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { ok: false, reason: 'the upload URL is not a URL' };
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return { ok: false, reason: `the upload URL must be http or https, not ${target.protocol}` };
  }
  const bytes = (await stat(file)).size;
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(target, {
      method: 'PUT',
      headers: { 'Content-Length': String(bytes) },
      timeout: options.idleTimeoutMs,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    req.on('timeout', () => req.destroy(new Error(`nothing moved for ${options.idleTimeoutMs / 1000} s`)));
    req.on('error', (error) => resolve({ ok: false, reason: error.message }));
    req.on('response', (response) => {
      const status = response.statusCode ?? 0;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < errorBodyLimit) body += chunk;
      });
      response.on('error', (error) => resolve({ ok: false, reason: error.message }));
      response.on('end', () => {
        if (status >= 200 && status < 300) resolve({ ok: true, bytes });
        else resolve({ ok: false, reason: `HTTP ${status}${describe(s3ErrorOf(body))}` });
      });
    });
    const content = createReadStream(file);
    content.on('error', (error) => req.destroy(error));
    content.pipe(req);
  });
}

const describe = (s3Error: string | undefined) => (s3Error === undefined ? '' : ` ${s3Error}`);
