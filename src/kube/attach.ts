// Writing to a container's stdin through the API server, as `kubectl attach
// -i` does: a WebSocket to the pods/attach subresource, channel 0 for stdin.
// The container must ask for stdin (stdin: true; stdinOnce: true closes it
// when this session ends). Writes wait while the socket holds more than a
// little unsent, so a fast producer cannot fill the operator's memory.
import WebSocket from 'ws';
import { podSocketUrl } from './exec.ts';
import type { Transport } from './transport.ts';

export interface AttachRequest {
  namespace: string;
  pod: string;
  container: string;
  userAgent: string;
  /** How long opening may take. */
  timeoutMs: number;
}

export interface StdinWriter {
  /** Sends a piece; resolves when the socket has room for more. */
  write(chunk: Buffer): Promise<void>;
  /** Closes stdin (and the session): what was written is delivered first. */
  end(): Promise<void>;
  /** Ends the session at once. */
  abort(): void;
}

const protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const highWaterBytes = 1024 * 1024;
const stdinChannel = 0;
/** v5's message that closes a channel: 255, then the channel. */
const closeChannel = 255;

export async function attachStdin(transport: Transport, request: AttachRequest): Promise<StdinWriter> {
  const url = podSocketUrl(transport, request, 'attach', [
    ['stdin', 'true'],
    ['stdout', 'false'],
    ['stderr', 'false'],
  ]);
  const { agent, headers } = await transport.upgradeOptions();
  const socket = new WebSocket(url, protocols, {
    agent,
    headers: { ...headers, 'user-agent': request.userAgent },
    handshakeTimeout: request.timeoutMs,
  });
  let failure: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, response) => {
      response.resume();
      reject(new Error(`attach to Pod ${request.namespace}/${request.pod}: HTTP ${response.statusCode ?? 0}`));
    });
    socket.once('error', reject);
  });
  socket.on('error', (error) => (failure ??= error));
  socket.on('close', () => (failure ??= new Error('the attach session ended')));
  const send = (data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      // ws calls back with null on success, whatever its types say.
      socket.send(data, (error) => (error instanceof Error ? reject(error) : resolve()));
    });
  const roomy = async () => {
    while (socket.bufferedAmount > highWaterBytes && failure === undefined)
      await new Promise((resolve) => setTimeout(resolve, 5));
    if (failure !== undefined) throw failure;
  };
  return {
    async write(chunk) {
      const message = Buffer.allocUnsafe(chunk.length + 1);
      message[0] = stdinChannel;
      chunk.copy(message, 1);
      void send(message).catch((error: unknown) => (failure ??= error as Error));
      await roomy();
    },
    async end() {
      if (socket.protocol === 'v5.channel.k8s.io') await send(Buffer.from([closeChannel, stdinChannel]));
      await roomy();
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      });
    },
    abort() {
      socket.terminate();
    },
  };
}
