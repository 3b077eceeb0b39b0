// A quick look at the S3 endpoint before restic starts: restic retries a
// refused connection for 15 minutes, a GET of the endpoint's root fails in
// seconds. Any HTTP answer, even 403, or a TLS complaint (restic may trust a
// CA Node does not) counts as reachable; only the network failing does not.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type ProbeResult = { reachable: true } | { reachable: false; reason: string };

/** The endpoint of an `s3:` repository URL (https when it names no scheme); undefined for other backends. */
export function s3Endpoint(repositoryUrl: string): string | undefined {
  if (!repositoryUrl.startsWith('s3:')) return undefined;
  const rest = repositoryUrl.slice('s3:'.length);
  const withScheme = /^https?:\/\//.test(rest) ? rest : `https://${rest}`;
  try {
    return new URL(withScheme).origin;
  } catch {
    return undefined;
  }
}

const networkFailures = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

export function probeEndpoint(endpoint: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const url = new URL(endpoint);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeout = AbortSignal.timeout(timeoutMs);
    const req = request(url, {
      method: 'GET',
      signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
    });
    req.on('response', (response) => {
      response.resume();
      req.destroy();
      resolve({ reachable: true });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (timeout.aborted) resolve({ reachable: false, reason: `no answer within ${timeoutMs / 1000} s` });
      else if (signal?.aborted === true) resolve({ reachable: false, reason: 'interrupted' });
      else if (error.code !== undefined && networkFailures.has(error.code)) {
        resolve({ reachable: false, reason: error.message });
      } else resolve({ reachable: true });
    });
    req.end();
  });
}
