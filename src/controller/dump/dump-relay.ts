// The operator's part of an application dump (ADR 0026): the dump command runs
// in the application's container (pods/exec) and its stdout, as it comes, is
// written as frames to the mover's stdin (pods/attach), then one end frame
// saying how the command ended. Each side waits for the other: the exec
// socket pauses while the mover's stdin is full.
//
// The API server may cut a command's stdout short and still report success
// (kubernetes/kubernetes#124571: it closes the stream when the command ends,
// dropping output a slow reader has not taken yet). So the command runs under
// /bin/sh with dd, which counts what it writes and says so on stderr, and the
// shell then waits on stdin: the relay answers only once every byte dd
// counted has arrived, so the stream ends after the last byte, not before.
// The end frame carries dd's count; the mover stores the dump only if as many
// bytes arrived.
//
// An objects dump has no command: the operator writes what it produces (the
// namespace's objects, namespace-objects.ts) to the mover the same way, and an
// end frame with exit code 0 and the count, or with none if producing failed.
//
// A relay lives in this process only; the run's status says one started, so
// a restarted operator knows the stream was lost instead of starting another.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { dataFrames, endFrame } from '../../api/index.ts';
import { kinds, type KubeClient } from '../../kube/index.ts';
import type { Log } from '../operator.ts';

/** What the mover gets: a command's output in an application's container, or what the operator produces. */
export type RelaySource =
  | { kind: 'exec'; app: { namespace: string; pod: string; container: string; command: string[] } }
  | { kind: 'produced'; what: string; produce: () => AsyncIterable<Buffer> };

export interface RelayRequest {
  /** The run's uid and attempt: one relay each. */
  key: string;
  source: RelaySource;
  mover: { namespace: string; pod: string };
  timeoutMs: number;
}

/** The source in messages: the command and where it runs, or what is produced. */
export function relayedWhat(source: RelaySource): string {
  if (source.kind === 'produced') return source.what;
  const { app } = source;
  return `${app.command.join(' ')} in Pod ${app.namespace}/${app.pod}, container ${app.container}`;
}

export interface RelayOutcome {
  exitCode: number | undefined;
  bytes: number;
  message: string;
}

/** How long the relay waits, once the command has ended, for the rest of its output before it gives up. */
const drainMs = 120_000;

/**
 * The shell around the dump command: its exit code and dd's count on stderr, then a wait for the
 * relay's answer on stdin. "$@" is the command, as given (no shell of ours reads it).
 */
const wrapper = [
  '{ "$@" < /dev/null; echo "safehold-dump-exit $?" >&2; } | dd bs=65536',
  'echo safehold-dump-done >&2',
  'read -r answer',
].join('\n');

export function wrappedCommand(command: readonly string[]): string[] {
  return ['/bin/sh', '-c', wrapper, 'safehold-dump', ...command];
}

/** What the wrapper said on stderr: the command's exit code, dd's count, and whether it is done. */
export function wrapperReport(stderr: string): { exitCode?: number; written?: number; done: boolean; rest: string } {
  const exit = /^safehold-dump-exit (\d+)$/m.exec(stderr);
  const count = /^(\d+) bytes\b.*copied/m.exec(stderr);
  const rest = stderr
    .split('\n')
    .filter((line) => !/^(safehold-dump-(exit \d+|done)|\d+\+\d+ records (in|out)|\d+ bytes\b.*copied.*)$/.test(line))
    .join('\n')
    .trim();
  return {
    ...(exit === null ? {} : { exitCode: Number(exit[1]) }),
    ...(count === null ? {} : { written: Number(count[1]) }),
    done: /^safehold-dump-done$/m.test(stderr),
    rest,
  };
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
    const relay = (
      request.source.kind === 'exec'
        ? relayOnce(this.#client, request, request.source.app)
        : relayProduced(this.#client, request, request.source.produce)
    ).catch((error: unknown): RelayOutcome => ({
      exitCode: undefined,
      bytes: 0,
      message: `the stream to the mover failed: ${error instanceof Error ? error.message : String(error)}`,
    }));
    this.#running.set(request.key, relay);
    void relay.then((outcome) => {
      this.#running.delete(request.key);
      this.#ended.add(request.key);
      this.#log('dump stream ended', {
        source: relayedWhat(request.source),
        exitCode: outcome.exitCode,
        bytes: outcome.bytes,
      });
      ended(outcome);
    });
  }
}

/** The Pod's uid and its container's restarts: what tells that it went away or restarted while the command ran. */
type ExecApp = Extract<RelaySource, { kind: 'exec' }>['app'];

async function podLife(client: KubeClient, app: ExecApp) {
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
  app: ExecApp,
  before: Awaited<ReturnType<typeof podLife>>,
): Promise<string | undefined> {
  const after = await podLife(client, app);
  const pod = `Pod ${app.namespace}/${app.pod}`;
  if (after.uid === undefined || after.uid !== before.uid || after.deleting)
    return `${pod} was deleted while the dump ran`;
  if (after.restarts !== before.restarts) return `container ${app.container} of ${pod} restarted while the dump ran`;
  return undefined;
}

/** What the operator produces, written to the mover as it comes; a failure to produce is an end without exit code. */
async function relayProduced(
  client: KubeClient,
  request: RelayRequest,
  produce: () => AsyncIterable<Buffer>,
): Promise<RelayOutcome> {
  const stdin = await client.attach({
    namespace: request.mover.namespace,
    pod: request.mover.pod,
    container: 'mover',
    timeoutMs: 30_000,
  });
  let bytes = 0;
  let outcome: RelayOutcome;
  try {
    const deadline = Date.now() + request.timeoutMs;
    for await (const chunk of produce()) {
      if (Date.now() > deadline) throw new Error(`not done within ${Math.round(request.timeoutMs / 1000)} s`);
      for (const frame of dataFrames(chunk)) await stdin.write(frame);
      bytes += chunk.length;
    }
    outcome = { exitCode: 0, bytes, message: '' };
  } catch (error) {
    outcome = { exitCode: undefined, bytes, message: error instanceof Error ? error.message : String(error) };
  }
  try {
    await stdin.write(endFrame(outcome));
    await stdin.end();
  } catch (error) {
    stdin.abort();
    throw error;
  }
  return outcome;
}

async function relayOnce(client: KubeClient, request: RelayRequest, app: ExecApp): Promise<RelayOutcome> {
  const before = await podLife(client, app);
  const stdin = await client.attach({
    namespace: request.mover.namespace,
    pod: request.mover.pod,
    container: 'mover',
    timeoutMs: 30_000,
  });
  let bytes = 0;
  let stderr = '';
  // Answered once the wrapper is done and every byte dd counted has arrived (or after drainMs without them).
  let answer: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  let drainTimer: NodeJS.Timeout | undefined;
  const settle = () => {
    const report = wrapperReport(stderr);
    if (!report.done) return;
    if (report.written !== undefined && bytes >= report.written) answer();
    else drainTimer ??= setTimeout(answer, drainMs);
  };
  async function* reply() {
    await answered;
    yield Buffer.from('done\n');
  }
  try {
    const result = await client.exec({
      ...app,
      command: wrappedCommand(app.command),
      timeoutMs: request.timeoutMs,
      keepBytes: 4096,
      stdin: reply(),
      onStderr: (chunk) => {
        // Only the end matters (the wrapper's lines come last): a bounded tail.
        stderr = (stderr + chunk.toString('utf8')).slice(-16_384);
        settle();
      },
      onStdout: async (chunk) => {
        for (const frame of dataFrames(chunk)) await stdin.write(frame);
        bytes += chunk.length;
        settle();
      },
    });
    clearTimeout(drainTimer);
    answer();
    const report = wrapperReport(stderr);
    const said = report.rest.split('\n').slice(-5).join('\n');
    const exitCode = result.timedOut ? undefined : report.exitCode;
    const changed = exitCode === 0 ? undefined : await podChange(client, app, before);
    const unconfirmed =
      exitCode !== undefined && report.written === undefined
        ? 'Safehold could not tell how many bytes the command wrote: it runs it under /bin/sh with dd, which count them (the container needs both)'
        : undefined;
    const outcome: RelayOutcome = {
      exitCode: unconfirmed === undefined ? exitCode : undefined,
      // What the command wrote, as dd counted it: the mover compares it with what arrived.
      bytes: report.written ?? bytes,
      message: [changed, unconfirmed, result.error, said].filter((t) => t !== undefined && t !== '').join(': '),
    };
    await stdin.write(endFrame(outcome));
    await stdin.end();
    return outcome;
  } catch (error) {
    clearTimeout(drainTimer);
    stdin.abort();
    throw error;
  }
}
