// Running one restic command as a child process: its stdout and stderr read
// line by line as they come, a time limit (restic retries backend errors for
// up to 15 minutes and no option shortens that), and SIGTERM passed on so
// restic removes its lock before the Pod goes away.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Failure } from '../failure.ts';
import { isRetrying } from './failure.ts';
import { parseResticLine, type ResticLine } from './output.ts';

export interface ResticInvocation {
  binary: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Stop restic (SIGTERM) when it runs longer than this. */
  timeoutMs?: number | undefined;
  /** Stop restic (SIGTERM) when this aborts. */
  signal?: AbortSignal | undefined;
  /** Every line restic prints, parsed, as it comes (but the plain-text answer of a command). */
  onLine?: ((line: ResticLine) => void) | undefined;
  /** Every line restic prints on stdout, as it is: the answer of snapshots --json, stats --json or prune. */
  onAnswer?: ((line: string) => void) | undefined;
  /**
   * Stop restic (SIGTERM), as at timeoutMs, when it has retried a backend error for this long
   * before its first JSON line: it is not getting the repository open. Opening slowly (a large
   * index) without errors is not stopped.
   */
  openRetryLimitMs?: number | undefined;
  /** Stop restic (SIGTERM) at the first line for which this is true: an answer that retrying cannot change. */
  stopWhen?: ((line: ResticLine) => boolean) | undefined;
  /**
   * Takes restic's stdout as bytes instead of lines (the file `restic dump` writes). Should it
   * throw, restic is stopped and the error's message is the last of the exit's messages.
   */
  onStdout?: ((stdout: Readable) => Promise<void>) | undefined;
}

export interface ResticExit {
  exitCode: number | null;
  /** What restic said that may explain how it ended (exit_error and plain stderr), oldest first, at most the last 50. */
  messages: string[];
  /** Why the mover stopped restic, if it did ('consumer': what took its stdout failed). */
  stopped: 'timeout' | 'signal' | 'line' | 'consumer' | undefined;
  /** restic could not be started at all (not installed, not executable). */
  spawnError?: string;
  /** Why the command did not run: getting the repository ready for it failed (see openingOnFirstUse). */
  notReady?: Failure;
}

const keptMessages = 50;
const killGraceMs = 10_000;

export function runRestic(invocation: ResticInvocation): Promise<ResticExit> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    let stopped: ResticExit['stopped'];
    let spawnError: string | undefined;
    const child = spawn(invocation.binary, invocation.args, {
      env: invocation.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    const stop = (why: NonNullable<ResticExit['stopped']>) => {
      stopped ??= why;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), killGraceMs).unref();
    };
    const timer =
      invocation.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), invocation.timeoutMs);
    let opened = false;
    let retryTimer: NodeJS.Timeout | undefined;
    const watchOpening = (line: ResticLine) => {
      const limit = invocation.openRetryLimitMs;
      if (opened || limit === undefined) return;
      if (line.kind === 'text') {
        if (isRetrying(line.text)) retryTimer ??= setTimeout(() => stop('timeout'), limit);
      } else if (line.kind !== 'exit-error') {
        opened = true;
        clearTimeout(retryTimer);
      }
    };
    const onAbort = () => stop('signal');
    if (invocation.signal?.aborted === true) onAbort();
    else invocation.signal?.addEventListener('abort', onAbort, { once: true });

    const keep = (message: string) => {
      messages.push(message);
      if (messages.length > keptMessages) messages.shift();
    };
    // Plain text on stdout is a command's answer (cat config's JSON document), not a diagnostic.
    const read = (stream: Readable, answers: boolean) =>
      new Promise<void>((done) => {
        const lines = createInterface({ input: stream, crlfDelay: Infinity });
        lines.on('line', (raw) => {
          if (raw.trim() === '') return;
          if (answers) invocation.onAnswer?.(raw);
          const line = parseResticLine(raw);
          if (answers && line.kind === 'text') return;
          // Not error lines: a file restic could not read does not explain why restic stopped.
          if (line.kind === 'exit-error') keep(line.message);
          if (line.kind === 'text') keep(line.text);
          watchOpening(line);
          invocation.onLine?.(line);
          if (invocation.stopWhen?.(line) === true) stop('line');
        });
        lines.on('close', done);
      });
    const consume = invocation.onStdout;
    const stdout =
      consume === undefined
        ? read(child.stdout, true)
        : consume(child.stdout).catch((error: unknown) => {
            keep(error instanceof Error ? error.message : String(error));
            stopped ??= 'consumer';
            child.kill('SIGTERM');
            child.stdout.destroy();
          });
    const streams = Promise.all([stdout, read(child.stderr, false)]);

    child.on('error', (error) => {
      spawnError = error.message;
    });
    child.on('close', (code) => {
      if (timer !== undefined) clearTimeout(timer);
      clearTimeout(retryTimer);
      invocation.signal?.removeEventListener('abort', onAbort);
      void streams.then(() => {
        resolve({
          exitCode: code,
          messages,
          stopped,
          ...(spawnError === undefined ? {} : { spawnError }),
        });
      });
    });
  });
}

/** runRestic with the binary, environment and stop signal of one mover run already bound. */
export type Restic = (
  args: readonly string[],
  options?: Pick<ResticInvocation, 'timeoutMs' | 'openRetryLimitMs' | 'onLine' | 'onAnswer' | 'stopWhen' | 'onStdout'>,
) => Promise<ResticExit>;

/** The exit of a command that did not run because the repository could not be made ready for it. */
export function notReadyExit(failure: Failure): ResticExit {
  return { exitCode: null, messages: [], stopped: undefined, notReady: failure };
}
