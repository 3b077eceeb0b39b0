// Fetching a download's object from S3 with limits: no answer within
// answerMs, or no bytes for idleMs while the body streams, ends the fetch with
// an error that says what was fetched, from where, and how far it got. The
// body is handed on chunk by chunk, so a large file never sits in memory.

export interface FetchLimits {
  answerMs: number;
  idleMs: number;
}

export const defaultFetchLimits: FetchLimits = { answerMs: 30_000, idleMs: 60_000 };

export class FetchFailed extends Error {
  override name = 'FetchFailed';
}

/**
 * The body of `url` as it arrives. `what` names it in errors ("the file /etc/app.conf"). The idle
 * clock stops while the caller handles a chunk: a slow reader of stdout is not a stalled server.
 */
export async function* fetchBody(url: string, what: string, limits: FetchLimits): AsyncGenerator<Uint8Array> {
  const origin = new URL(url).origin;
  const controller = new AbortController();
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, message: () => string) => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new FetchFailed(message())), ms);
  };
  const failure = (error: unknown) => {
    if (controller.signal.reason instanceof FetchFailed) return controller.signal.reason;
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return new FetchFailed(
      `fetching ${what} from ${origin} failed after ${bytes} bytes: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause: error },
    );
  };
  try {
    arm(limits.answerMs, () => `fetching ${what} from ${origin}: no answer within ${limits.answerMs / 1000}s`);
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (error) {
      throw failure(error);
    }
    if (!response.ok)
      throw new FetchFailed(`fetching ${what} from ${origin} answered ${response.status} ${response.statusText}`);
    if (response.body === null) return;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const stalled = () => `fetching ${what} from ${origin}: no data for ${limits.idleMs / 1000}s after ${bytes} bytes`;
    for (;;) {
      arm(limits.idleMs, stalled);
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw failure(error);
      }
      clearTimeout(timer);
      if (chunk.done) return;
      bytes += chunk.value.byteLength;
      yield chunk.value;
    }
  } finally {
    clearTimeout(timer);
    if (!controller.signal.aborted) controller.abort();
  }
}
