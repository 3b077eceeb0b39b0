// A quick look at the S3 endpoint before restic starts: restic retries a
// refused connection for 15 minutes, a GET of the endpoint's root fails in
// seconds. Any HTTP answer, even 403, or a TLS complaint (restic may trust a
// CA Node does not) counts as reachable; only the network failing does not.
// A connection that opens but never answers is told apart: that endpoint is
// stalled (its storage is stuck), not unreachable.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type ProbeResult =
  | { reachable: true }
  /** connected: the TCP (and TLS) connection opened, but no HTTP answer came. */
  | { reachable: false; reason: string; connected: boolean };

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
    let connected = false;
    // TCP connected is enough: a TLS handshake that never finishes is a stalled server too.
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        connected = true;
      });
    });
    const unreachable = (reason: string) => resolve({ reachable: false, reason, connected });
    req.on('response', (response) => {
      response.resume();
      req.destroy();
      resolve({ reachable: true });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (timeout.aborted)
        unreachable(
          connected
            ? `connected, but no answer within ${timeoutMs / 1000} s`
            : `no connection within ${timeoutMs / 1000} s`,
        );
      else if (signal?.aborted === true) unreachable('interrupted');
      else if (error.code !== undefined && networkFailures.has(error.code)) unreachable(error.message);
      else resolve({ reachable: true });
    });
    req.end();
  });
}
