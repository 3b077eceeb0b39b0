// FUSE daemons behind the Ceph backends (ceph-fuse, rbd-fuse), each run in the
// foreground as a daemon of its own (daemons.ts: pid file and log beside its
// mount point) and mounted in the root mount namespace, where the storage
// driver, the node agent and tests all see it. Also the teardown the
// environment runs before Ceph stops: a FUSE mount hangs once its cluster is
// gone, and a loop device on a FUSE file with it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../command.ts';
import { logFile, readPid, runningPid, startDaemon, stopDaemon } from '../daemons.ts';

export interface MountEntry {
  target: string;
  fstype: string;
  source: string;
}

/** This process's mounts (the root namespace's for every testenv process), from /proc/self/mountinfo. */
export function mounts(): MountEntry[] {
  const unescape = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [before = '', after = ''] = line.split(' - ');
      const [fstype = '', source = ''] = after.split(' ');
      return { target: unescape(before.split(' ')[4] ?? ''), fstype, source: unescape(source) };
    });
}

export function isMountPoint(path: string, fstype?: string): boolean {
  return mounts().some((m) => m.target === path && (fstype === undefined || m.fstype === fstype));
}

export interface FuseDaemon {
  /** Folder of the pid file and log. */
  dir: string;
  name: string;
  command: string;
  args: string[];
  mountPoint: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts the daemon unless its mount is there and its process runs; resolves once mounted. */
export async function startFuse(daemon: FuseDaemon, timeoutMs = 30_000): Promise<void> {
  const fstype = `fuse.${daemon.command}`;
  const pid = runningPid(daemon.dir, daemon.name);
  if (pid !== undefined && isMountPoint(daemon.mountPoint, fstype)) return;
  // A mount whose daemon died answers ENOTCONN: take it away before mounting afresh.
  if (pid === undefined && isMountPoint(daemon.mountPoint)) await run('umount', ['-l', daemon.mountPoint]);
  mkdirSync(daemon.mountPoint, { recursive: true });
  startDaemon(daemon.dir, {
    name: daemon.name,
    command: daemon.command,
    args: daemon.args,
    ...(daemon.env === undefined ? {} : { env: daemon.env }),
  });
  const deadline = Date.now() + timeoutMs;
  while (!isMountPoint(daemon.mountPoint, fstype)) {
    if (runningPid(daemon.dir, daemon.name) === undefined || Date.now() > deadline) {
      const log = logFile(daemon.dir, daemon.name);
      const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
      throw new Error(`${daemon.command} did not mount ${daemon.mountPoint} (log ${log}):\n${tail}`);
    }
    await sleep(50);
  }
}

/**
 * SIGTERM to the daemon (it unmounts and closes what it opened, as rbd-fuse's
 * rbd_close), then a lazy unmount if the mount outlived it. Only a process
 * whose command line names the mount point is signalled: pids get reused.
 */
export async function stopFuse(dir: string, name: string, mountPoint: string): Promise<void> {
  const pid = readPid(dir, name);
  if (pid !== undefined && commandLine(pid).includes(mountPoint)) await stopDaemon(dir, name, 10_000);
  if (isMountPoint(mountPoint)) await run('umount', ['-l', mountPoint]);
  if (existsSync(mountPoint)) rmdirSync(mountPoint);
  rmSync(logFile(dir, name), { force: true }); // one per image ever made, otherwise
}

/**
 * Takes down every mount under `dir` in an order that cannot hang: file
 * systems on loop devices first, then the loop devices whose files are under
 * `dir`, then the FUSE mounts, then the FUSE daemons with pid files in `daemonDirs`.
 */
export async function unmountAllUnder(dir: string, daemonDirs: string[]): Promise<void> {
  const under = (path: string) => path.startsWith(`${dir}/`);
  const found = mounts()
    .filter((m) => under(m.target))
    .sort((a, b) => b.target.length - a.target.length);
  for (const m of found.filter((m) => !m.fstype.startsWith('fuse'))) await umountLazy(m.target);
  for (const loop of (await loopDevices()).filter((l) => under(l.file))) {
    await run('losetup', ['-d', loop.name]).catch(() => undefined);
  }
  for (const m of found.filter((m) => m.fstype.startsWith('fuse'))) await umountLazy(m.target);
  for (const daemonDir of daemonDirs.filter((d) => existsSync(d))) {
    for (const name of readdirSync(daemonDir).filter((n) => n.endsWith('.pid'))) {
      const pid = readPid(daemonDir, name.slice(0, -4));
      if (pid !== undefined && /fuse$/.test(commandLine(pid)[0] ?? ''))
        await stopDaemon(daemonDir, name.slice(0, -4), 5000);
    }
  }
}

export interface LoopDevice {
  name: string;
  file: string;
  /** Set by `losetup -d` on a device still open somewhere: it detaches itself when closed. */
  autoclear: boolean;
}

export async function loopDevices(): Promise<LoopDevice[]> {
  const { stdout } = await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE,AUTOCLEAR']);
  if (stdout.trim() === '') return [];
  const { loopdevices } = JSON.parse(stdout) as {
    loopdevices: { name: string; 'back-file'?: string | null; autoclear?: boolean | string }[];
  };
  return loopdevices.map((l) => ({
    name: l.name,
    file: l['back-file'] ?? '',
    autoclear: l.autoclear === true || l.autoclear === '1',
  }));
}

async function umountLazy(target: string): Promise<void> {
  await run('umount', ['-l', target]).catch(() => undefined);
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}
