// A one-node Ceph cluster on loopback for tests: mon, mgr, one file-backed
// BlueStore OSD, an MDS serving CephFS and radosgw serving S3, all under one
// folder, each a foreground daemon tracked by its pid (see ../daemons.ts).
// startCeph reuses a healthy cluster in that folder, or wipes a dead one and
// builds it afresh (ceph-build.ts); stopCeph stops the daemons by pid, in
// reverse order. Settings and their reasons: ceph-conf.ts.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidFile, stopDaemon } from '../daemons.ts';
import { buildCluster } from './ceph-build.ts';
import { CONF_MARKER, cephLayout } from './ceph-conf.ts';
import { cephProblem } from './ceph-health.ts';
import { CEPH_DAEMONS, ownPid } from './ceph-status.ts';

export { CEPH_DAEMONS } from './ceph-status.ts';

export interface CephCluster {
  dir: string; // everything lives under here (data, run, logs, admin sockets, ceph.conf)
  confPath: string; // ceph.conf to pass as `-c` / CEPH_CONF to ceph, rbd, rados, ceph-fuse, rbd-fuse
  monHost: string; // 127.0.0.1:<monPort>, msgr v1
  rbdPool: string; // 'rbd', `rbd pool init` done
  cephfsName: string; // 'cephfs', an MDS active
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string }; // radosgw, user made with radosgw-admin
}

export interface StartCephOptions {
  dir: string;
  monPort?: number; // default 6789
  rgwPort?: number; // default 7480
  log?: (line: string) => void; // progress, with elapsed seconds
}

const S3_ACCESS_KEY = 'SAFEHOLDTESTACCESS';
const S3_SECRET_KEY = 'SafeholdTestSecretKey0123456789abcdefghi'; // 40 characters, like AWS secrets
/**
 * A well-formed cephx key for Secrets that give Safehold Ceph access: the cluster runs without
 * cephx, so it checks none, but the key still travels from Secret to mover as a real one would.
 */
export const unverifiedCephKey = 'AQCy6wJrSXxfBBAAfXamApWZKsEF+fyop6SZmQ==';
const S3_REGION = 'us-east-1'; // radosgw accepts any region in signatures; us-east-1 needs no LocationConstraint

/** The cluster's info if its info file exists and every one of its daemons runs. */
export function cephInfo(dir: string): CephCluster | undefined {
  const absolute = resolve(dir);
  let info: CephCluster;
  try {
    info = JSON.parse(readFileSync(cephLayout(absolute).infoPath, 'utf8')) as CephCluster;
  } catch {
    return undefined;
  }
  return CEPH_DAEMONS.every((name) => ownPid(absolute, name) !== undefined) ? info : undefined;
}

/**
 * Stops the daemons by pid in reverse start order: SIGTERM, then SIGKILL after
 * graceMs. A stopped cluster is never restarted (startCeph builds afresh), so
 * a clean shutdown buys nothing; the MDS alone would take ~9 s to leave.
 * Unmount ceph-fuse / rbd-fuse mounts first: they hang once the cluster is gone.
 */
export async function stopCeph(dir: string, graceMs = 3000): Promise<void> {
  const absolute = resolve(dir);
  rmSync(cephLayout(absolute).infoPath, { force: true });
  for (const name of [...CEPH_DAEMONS].reverse()) {
    // A stale pid file may name a pid reused by an unrelated process: signal only our own daemons.
    if (ownPid(absolute, name) === undefined) rmSync(pidFile(absolute, name), { force: true });
    else await stopDaemon(absolute, name, graceMs);
  }
}

export async function startCeph(options: StartCephOptions): Promise<CephCluster> {
  const started = Date.now();
  const log = (line: string): void => options.log?.(`[ceph ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const dir = resolve(options.dir);
  const layout = cephLayout(dir);
  const ports = { mon: options.monPort ?? 6789, rgw: options.rgwPort ?? 7480 };
  const wanted: CephCluster = {
    dir,
    confPath: layout.confPath,
    monHost: `127.0.0.1:${ports.mon}`,
    rbdPool: 'rbd',
    cephfsName: 'cephfs',
    s3: {
      endpoint: `http://127.0.0.1:${ports.rgw}`,
      accessKey: S3_ACCESS_KEY,
      secretKey: S3_SECRET_KEY,
      region: S3_REGION,
    },
  };

  const existing = cephInfo(dir);
  if (existing !== undefined) {
    const same = JSON.stringify(existing) === JSON.stringify(wanted);
    const problem = same ? await cephProblem(existing) : 'it was started with other settings';
    if (problem === undefined) {
      log(`reusing the running cluster in ${dir}`);
      return existing;
    }
    log(`the cluster in ${dir} runs but is not usable (${problem}): rebuilding it`);
  } else if (existsSync(layout.confPath)) {
    log(`no running cluster in ${dir}: building afresh`);
  }
  await killLeftovers(dir);
  wipe(dir);
  await assertPortFree(ports.mon, 'ceph-mon');
  await assertPortFree(ports.rgw, 'radosgw');
  try {
    await buildCluster(layout, wanted, ports, log);
  } catch (error) {
    log(`start failed, stopping what was started (logs stay in ${dir})`);
    await killLeftovers(dir);
    throw error;
  }
  writeFileSync(layout.infoPath, `${JSON.stringify(wanted, null, 2)}\n`);
  log(`cluster ready in ${dir}`);
  return wanted;
}

/**
 * SIGKILL, by pid, for whatever still runs of a cluster about to be wiped. No
 * grace, and no wait for init to reap the zombies (here it reaps every ~2 s,
 * which stopDaemon's kill -0 loop would wait out daemon by daemon).
 */
async function killLeftovers(dir: string): Promise<void> {
  rmSync(cephLayout(dir).infoPath, { force: true });
  for (const name of [...CEPH_DAEMONS].reverse()) {
    const pid = ownPid(dir, name);
    if (pid !== undefined) killGroup(pid);
    while (ownPid(dir, name) !== undefined) await sleep(50);
    rmSync(pidFile(dir, name), { force: true });
  }
}

function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
      return;
    } catch {
      // no such group: try the pid alone
    }
  }
}

/** Empties dir for a fresh cluster; refuses if it holds anything but a cluster written here. */
function wipe(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  const conf = join(dir, 'ceph.conf');
  const ours = existsSync(conf)
    ? readFileSync(conf, 'utf8').startsWith(CONF_MARKER)
    : entries.every((entry) => /^(data|run|log|crash|monmap|cluster\.json|.*\.(pid|log))$/.test(entry)); // crashed early
  if (!ours) throw new Error(`Ceph: ${dir} is not empty and holds no cluster made by startCeph; refusing to wipe it`);
  for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
}

function assertPortFree(port: number, daemon: string): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', (error) => {
      const message = `Ceph: port 127.0.0.1:${port} for ${daemon} is in use (another cluster still running?)`;
      reject(new Error(message, { cause: error }));
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort()));
  });
}
