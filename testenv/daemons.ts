// Starting and stopping the test environment's long-running processes.
// Each daemon is detached, logs to <dir>/<name>.log and leaves <dir>/<name>.pid,
// so a later command (or a later test run) can find it and stop it by pid.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function pidFile(dir: string, name: string): string {
  return join(dir, `${name}.pid`);
}

export function logFile(dir: string, name: string): string {
  return join(dir, `${name}.log`);
}

/** Alive and not a zombie: this machine's PID 1 reaps orphans only every few seconds. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function readPid(dir: string, name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(dir, name), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function runningPid(dir: string, name: string): number | undefined {
  const pid = readPid(dir, name);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** Starts a daemon in its own process group unless one with that name runs. */
export function startDaemon(dir: string, spec: DaemonSpec): number {
  const existing = runningPid(dir, spec.name);
  if (existing !== undefined) return existing;
  mkdirSync(dir, { recursive: true });
  const out = openSync(logFile(dir, spec.name), 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd ?? dir,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  child.unref();
  writeFileSync(pidFile(dir, spec.name), `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM to the daemon's process group, SIGKILL after the grace period. */
export async function stopDaemon(dir: string, name: string, graceMs = 10_000): Promise<void> {
  const pid = readPid(dir, name);
  if (pid === undefined) return;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  rmSync(pidFile(dir, name), { force: true });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Thrown by a waitFor check to stop waiting at once: what it waits for will never come. */
export class GiveUp extends Error {}

/**
 * Polls until check() resolves true. A check that throws GiveUp ends the wait with that
 * error; any other error counts as "not yet". On timeout the error names what was
 * awaited, the log to read, and the last error the check threw.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  { timeoutMs = 60_000, intervalMs = 250, log }: { timeoutMs?: number; intervalMs?: number; log?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    await sleep(intervalMs);
  }
  const hint = log === undefined ? '' : ` (see ${log})`;
  const last = lastError instanceof Error ? `; last: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${hint}${last}`, { cause: lastError });
}
