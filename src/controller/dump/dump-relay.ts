// The operator's part of an application dump (ADR 0026): the dump command runs
// in the application's container (pods/exec) and its stdout, as it comes, is
// written as frames to the mover's stdin (pods/attach), then one end frame
// saying how the command ended. Each side waits for the other: the exec
// socket pauses while the mover's stdin is full. A relay lives in this
// process only; the run's status says one started, so a restarted operator
// knows the stream was lost instead of starting another.
import { dataFrames, endFrame } from '../../api/index.ts';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { kinds, type KubeClient } from '../../kube/index.ts';
import type { Log } from '../operator.ts';

export interface RelayRequest {
  /** The run's uid and attempt: one relay each. */
  key: string;
  app: { namespace: string; pod: string; container: string; command: string[] };
  mover: { namespace: string; pod: string };
  timeoutMs: number;
}

export interface RelayOutcome {
  exitCode: number | undefined;
  bytes: number;
  message: string;
}

export class DumpRelays {
  readonly #client: KubeClient;
  readonly #log: Log;
  readonly #running = new Map<string, Promise<RelayOutcome>>();
  /** Relays that ended in this process, until their run has finished: their mover's end is not a lost stream. */
  readonly #ended = new Set<string>();

  constructor(client: KubeClient, log: Log) {
    this.#client = client;
    this.#log = log;
  }

  /** Whether this process streams the run's attempt, or did until the command ended. */
  streamed(key: string): boolean {
    return this.#running.has(key) || this.#ended.has(key);
  }

  /** The run has finished: what this process knew of its stream is no longer needed. */
  forget(key: string): void {
    this.#ended.delete(key);
  }

  /** Starts the relay unless it runs; `ended` is called once it has. */
  start(request: RelayRequest, ended: (outcome: RelayOutcome) => void): void {
    if (this.#running.has(request.key)) return;
    const relay = relayOnce(this.#client, request).catch((error: unknown): RelayOutcome => ({
      exitCode: undefined,
      bytes: 0,
      message: `the stream to the mover failed: ${error instanceof Error ? error.message : String(error)}`,
    }));
    this.#running.set(request.key, relay);
    void relay.then((outcome) => {
      this.#running.delete(request.key);
      this.#ended.add(request.key);
      this.#log('dump stream ended', {
        pod: `${request.app.namespace}/${request.app.pod}`,
        exitCode: outcome.exitCode,
        bytes: outcome.bytes,
      });
      ended(outcome);
    });
  }
}

/** The Pod's uid and its container's restarts: what tells that it went away or restarted while the command ran. */
async function podLife(client: KubeClient, app: RelayRequest['app']) {
  const pod = await client.get<Pod>(kinds.pod, { namespace: app.namespace, name: app.pod }).catch(() => undefined);
  return {
    uid: pod?.metadata?.uid,
    deleting: pod?.metadata?.deletionTimestamp !== undefined,
    restarts: pod?.status?.containerStatuses?.find((c) => c.name === app.container)?.restartCount,
  };
}

/** Why a command that failed did: its Pod was deleted or its container restarted meanwhile, if so. */
async function podChange(
  client: KubeClient,
  app: RelayRequest['app'],
  before: Awaited<ReturnType<typeof podLife>>,
): Promise<string | undefined> {
  const after = await podLife(client, app);
  const pod = `Pod ${app.namespace}/${app.pod}`;
  if (after.uid === undefined || after.uid !== before.uid || after.deleting)
    return `${pod} was deleted while the dump ran`;
  if (after.restarts !== before.restarts) return `container ${app.container} of ${pod} restarted while the dump ran`;
  return undefined;
}

async function relayOnce(client: KubeClient, request: RelayRequest): Promise<RelayOutcome> {
  const before = await podLife(client, request.app);
  const stdin = await client.attach({
    namespace: request.mover.namespace,
    pod: request.mover.pod,
    container: 'mover',
    timeoutMs: 30_000,
  });
  let bytes = 0;
  try {
    const result = await client.exec({
      ...request.app,
      timeoutMs: request.timeoutMs,
      keepBytes: 2048,
      onStdout: async (chunk) => {
        bytes += chunk.length;
        for (const frame of dataFrames(chunk)) await stdin.write(frame);
      },
    });
    const stderr = result.stderr.trim().split('\n').slice(-5).join('\n');
    const changed = result.exitCode === 0 ? undefined : await podChange(client, request.app, before);
    const outcome: RelayOutcome = {
      exitCode: result.timedOut ? undefined : result.exitCode,
      bytes,
      message: [changed, result.error, stderr].filter((t) => t !== undefined && t !== '').join(': '),
    };
    await stdin.write(endFrame(outcome));
    await stdin.end();
    return outcome;
  } catch (error) {
    stdin.abort();
    throw error;
  }
}
