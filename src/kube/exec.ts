// Running a command in a Pod's container through the API server, as `kubectl
// exec` does: a WebSocket to the pods/exec subresource speaking Kubernetes'
// channel protocol (v5.channel.k8s.io, else v4): each message starts with
// its channel, 0 stdin, 1 stdout, 2 stderr, 3 the final status as JSON. No
// TTY. Output is kept as tails: a hook's log is for people, not a stream.
import WebSocket from 'ws';
import { resourcePath, kinds } from './resources.ts';
import type { Transport } from './transport.ts';

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  timeoutMs: number;
  userAgent: string;
  /** Bytes of stdout and of stderr kept, the last ones (default 4 KiB each). */
  keepBytes?: number;
  /**
   * Takes stdout as it comes instead of keeping its tail (an application dump). The stream
   * is paused while a few chunks wait on it, and the result comes after the last was taken.
   */
  onStdout?: (chunk: Buffer) => Promise<void>;
  /**
   * What the command reads on stdin (a dump restored into psql): sent as it is read, waiting while
   * the socket holds more than a little unsent, then stdin is closed (v5; v4 cannot close it alone).
   */
  stdin?: AsyncIterable<Uint8Array>;
  /** Sees stderr as it comes (its tail is kept too). */
  onStderr?: (chunk: Buffer) => void;
}

export interface ExecResult {
  /** The command's exit code; undefined when it did not finish (timeout) or never started. */
  exitCode: number | undefined;
  timedOut: boolean;
  /** Why the command did not run or finish, from the API server, the kubelet or this client. */
  error: string | undefined;
  stdout: string;
  stderr: string;
}

const protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/**
 * Runs the command and waits for it. A 401 at the handshake (a token that rotated a moment ago)
 * is tried once more with a fresh credential, as every other request is: the command had not started.
 */
export async function execInPod(transport: Transport, request: ExecRequest): Promise<ExecResult> {
  const url = podSocketUrl(transport, request, 'exec', [
    ...(request.stdin === undefined ? [] : ([['stdin', 'true']] as [string, string][])),
    ['stdout', 'true'],
    ['stderr', 'true'],
    ...request.command.map((word): [string, string] => ['command', word]),
  ]);
  const options = await transport.upgradeOptions();
  const first = await execOnce(url, request, options);
  if (first.httpStatus !== 401 || !options.refused()) return first.result;
  return (await execOnce(url, request, await transport.upgradeOptions())).result;
}

function execOnce(
  url: URL,
  request: ExecRequest,
  { agent, headers }: Awaited<ReturnType<Transport['upgradeOptions']>>,
): Promise<{ result: ExecResult; httpStatus?: number }> {
  const keep = request.keepBytes ?? 4096;
  const stdout = new Tail(keep);
  const stderr = new Tail(keep);
  let status: ExecStatus | undefined;
  // Streamed stdout: chunks handed on in order, the socket paused while too many wait.
  let delivered: Promise<void> = Promise.resolve();
  let waiting = 0;
  let sinkError: unknown;

  return new Promise((resolve) => {
    const socket = new WebSocket(url, protocols, {
      agent,
      headers: { ...headers, 'user-agent': request.userAgent },
      handshakeTimeout: Math.min(request.timeoutMs, 30_000),
    });
    let settled = false;
    const finish = (result: Omit<ExecResult, 'stdout' | 'stderr'>, httpStatus?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      // Every chunk already received is handed on before the result.
      void delivered.then(() => {
        const failed =
          sinkError === undefined
            ? {}
            : {
                exitCode: undefined,
                error: `the output could not be taken: ${sinkError instanceof Error ? sinkError.message : 'unknown error'}`,
              };
        resolve({
          result: { ...result, ...failed, stdout: stdout.text(), stderr: stderr.text() },
          ...(httpStatus === undefined ? {} : { httpStatus }),
        });
      });
    };
    const take = (chunk: Buffer) => {
      const sink = request.onStdout;
      if (sink === undefined) return stdout.add(chunk);
      waiting++;
      if (waiting > 4) socket.pause();
      delivered = delivered.then(async () => {
        try {
          if (sinkError === undefined) await sink(chunk);
        } catch (error) {
          sinkError = error;
          socket.terminate();
        } finally {
          waiting--;
          if (waiting <= 1 && socket.isPaused) socket.resume();
        }
      });
    };
    const timer = setTimeout(
      () =>
        finish({
          exitCode: undefined,
          timedOut: true,
          error: `still running after ${request.timeoutMs / 1000} s; Kubernetes cannot stop it, it may go on in the container`,
        }),
      request.timeoutMs,
    );
    if (request.stdin !== undefined) {
      const input = request.stdin;
      socket.once('open', () => {
        sendStdin(socket, input).catch((error: unknown) => {
          sinkError ??= error;
          socket.terminate();
        });
      });
    }
    socket.on('message', (data: Buffer) => {
      const channel = data[0];
      const payload = data.subarray(1);
      if (channel === 1) take(payload);
      else if (channel === 2) {
        stderr.add(payload);
        request.onStderr?.(payload);
      } else if (channel === 3 && payload.length > 0) status = parseStatus(payload.toString('utf8'));
    });
    socket.on('unexpected-response', (_req, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const message = (parseJson(body) as { message?: string } | undefined)?.message ?? body.trim();
        finish(
          { exitCode: undefined, timedOut: false, error: `HTTP ${response.statusCode ?? 0}: ${message}` },
          response.statusCode,
        );
      });
    });
    socket.on('error', (error) => finish({ exitCode: undefined, timedOut: false, error: error.message }));
    socket.on('close', () => {
      if (status === undefined)
        finish({ exitCode: undefined, timedOut: false, error: 'the stream ended without a status' });
      else finish(status);
    });
  });
}

const stdinHighWaterBytes = 1024 * 1024;

/** Sends stdin on channel 0 as it is read, waiting while much is unsent; then closes it (v5's close message). */
async function sendStdin(socket: WebSocket, input: AsyncIterable<Uint8Array>): Promise<void> {
  const open = () => socket.readyState === WebSocket.OPEN;
  for await (const chunk of input) {
    if (!open()) return;
    const message = Buffer.allocUnsafe(chunk.length + 1);
    message[0] = 0;
    message.set(chunk, 1);
    socket.send(message);
    while (socket.bufferedAmount > stdinHighWaterBytes && open()) await new Promise((r) => setTimeout(r, 5));
  }
  if (open() && socket.protocol === 'v5.channel.k8s.io') socket.send(Buffer.from([255, 0]));
}

/** The WebSocket address of a Pod's exec or attach subresource, for one container, with these parameters. */
export function podSocketUrl(
  transport: Transport,
  target: { namespace: string; pod: string; container: string },
  subresource: 'exec' | 'attach',
  params: readonly [string, string][],
): URL {
  const url = new URL(
    resourcePath(kinds.pod, { namespace: target.namespace, name: target.pod }, subresource),
    transport.server,
  );
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('container', target.container);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url;
}

type ExecStatus = Omit<ExecResult, 'stdout' | 'stderr'>;

/** The status object on channel 3: Success, a non-zero exit code, or why it could not run. */
export function parseStatus(text: string): ExecStatus {
  const status = parseJson(text) as
    | {
        status?: string;
        message?: string;
        reason?: string;
        details?: { causes?: { reason?: string; message?: string }[] };
      }
    | undefined;
  if (status?.status === 'Success') return { exitCode: 0, timedOut: false, error: undefined };
  const code = status?.details?.causes?.find((cause) => cause.reason === 'ExitCode')?.message;
  if (status?.reason === 'NonZeroExitCode' && code !== undefined && /^\d+$/.test(code))
    return { exitCode: Number(code), timedOut: false, error: undefined };
  return { exitCode: undefined, timedOut: false, error: status?.message ?? `unreadable exec status: ${text}` };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The last `limit` bytes of what was added, whole UTF-8 characters where cut. */
class Tail {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#chunks.length > 1 && this.#size - (this.#chunks[0]?.length ?? 0) >= this.#limit) {
      this.#size -= this.#chunks.shift()?.length ?? 0;
    }
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all
      .subarray(Math.max(0, all.length - this.#limit))
      .toString('utf8')
      .replace(/^\uFFFD+/, '');
  }
}
