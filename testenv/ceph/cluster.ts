// A one-node Ceph cluster on loopback for tests: mon, mgr, one file-backed
// BlueStore OSD, an MDS serving CephFS and radosgw serving S3, all under one
// folder, each a foreground daemon tracked by its pid (see ../daemons.ts).
// startCeph reuses a healthy cluster in that folder, or wipes a dead one and
// builds it fresh; stopCeph stops the daemons by pid, in reverse order.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { run } from '../command.ts';
import { logFile, runningPid, startDaemon, stopDaemon, waitFor } from '../daemons.ts';
import type { CephLayout } from './ceph-conf.ts';
import {
  CONF_MARKER,
  MDS_ID,
  MGR_ID,
  MON_ID,
  OSD_ID,
  RGW_NAME,
  cephConf,
  cephLayout,
  checkSocketPathLength,
} from './ceph-conf.ts';
import { ceph, cephEnv, cephStatus, describeStatus, isServing, s3Answers } from './ceph-status.ts';

export interface CephCluster {
  dir: string;
  confPath: string;
  monHost: string;
  rbdPool: string;
  cephfsName: string;
  s3: { endpoint: string; accessKey: string; secretKey: string; region: string };
}

export interface StartCephOptions {
  dir: string;
  monPort?: number;
  rgwPort?: number;
  log?: (line: string) => void;
}

const RBD_POOL = 'rbd';
const CEPHFS_NAME = 'cephfs';
const S3_USER = 'safehold';
const S3_ACCESS_KEY = 'SAFEHOLDTESTACCESS';
const S3_SECRET_KEY = 'SafeholdTestSecretKey0123456789abcdefghi'; // 40 characters, like AWS secrets
const S3_REGION = 'us-east-1';

/** The daemons, in start order; stopCeph goes through them backwards. */
export const CEPH_DAEMONS = ['ceph-mon', 'ceph-mgr', 'ceph-osd', 'ceph-mds', 'radosgw'] as const;
type Daemon = (typeof CEPH_DAEMONS)[number];

/** The cluster's info if its info file exists and every daemon's pid is alive. */
export function cephInfo(dir: string): CephCluster | undefined {
  const absolute = resolve(dir);
  let info: CephCluster;
  try {
    info = JSON.parse(readFileSync(cephLayout(absolute).infoPath, 'utf8')) as CephCluster;
  } catch {
    return undefined;
  }
  return CEPH_DAEMONS.every((name) => runningPid(absolute, name) !== undefined) ? info : undefined;
}

export async function stopCeph(dir: string): Promise<void> {
  const absolute = resolve(dir);
  rmSync(cephLayout(absolute).infoPath, { force: true });
  for (const name of [...CEPH_DAEMONS].reverse()) await stopDaemon(absolute, name, 20_000);
}

export async function startCeph(options: StartCephOptions): Promise<CephCluster> {
  const started = Date.now();
  const log = (line: string): void => options.log?.(`[ceph ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const dir = resolve(options.dir);
  const monPort = options.monPort ?? 6789;
  const rgwPort = options.rgwPort ?? 7480;
  const wanted: CephCluster = {
    dir,
    confPath: cephLayout(dir).confPath,
    monHost: `127.0.0.1:${monPort}`,
    rbdPool: RBD_POOL,
    cephfsName: CEPHFS_NAME,
    s3: {
      endpoint: `http://127.0.0.1:${rgwPort}`,
      accessKey: S3_ACCESS_KEY,
      secretKey: S3_SECRET_KEY,
      region: S3_REGION,
    },
  };

  const existing = cephInfo(dir);
  if (existing !== undefined) {
    const problem =
      JSON.stringify(existing) === JSON.stringify(wanted) ? await servingProblem(existing) : 'other ports';
    if (problem === undefined) {
      log(`reusing the running cluster in ${dir}`);
      return existing;
    }
    log(`the cluster in ${dir} runs but is not usable (${problem}): rebuilding it`);
  }
  await stopCeph(dir);
  wipe(dir);
  await assertPortFree(monPort, 'ceph-mon');
  await assertPortFree(rgwPort, 'radosgw');
  try {
    await build(cephLayout(dir), monPort, rgwPort, log);
  } catch (error) {
    log(`start failed, stopping what was started (logs stay in ${dir})`);
    await stopCeph(dir);
    throw error;
  }
  writeFileSync(cephLayout(dir).infoPath, `${JSON.stringify(wanted, null, 2)}\n`);
  log(`cluster ready in ${dir}`);
  return wanted;
}

async function build(layout: CephLayout, monPort: number, rgwPort: number, log: (line: string) => void): Promise<void> {
  const { dir, confPath } = layout;
  const env = cephEnv(confPath);
  const started: Daemon[] = [];
  const daemon = (name: Daemon, args: string[]): void => {
    startDaemon(dir, { name, command: name, args: ['-f', '-c', confPath, ...args], env });
    started.push(name);
  };
  const wait = (name: Daemon, what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> =>
    waitDaemons(dir, started, name, what, check, timeoutMs);

  checkSocketPathLength(layout);
  const { runDir, logDir, crashDir, monData, mgrData, osdData, mdsData, rgwData } = layout;
  for (const folder of [runDir, logDir, crashDir, monData, mgrData, osdData, mdsData, rgwData]) {
    mkdirSync(folder, { recursive: true });
  }
  const fsid = randomUUID();
  writeFileSync(confPath, cephConf(layout, fsid, monPort, rgwPort));

  log(`creating the mon on 127.0.0.1:${monPort}`);
  const caps = [
    '--cap',
    'mon',
    'allow *',
    '--cap',
    'osd',
    'allow *',
    '--cap',
    'mds',
    'allow *',
    '--cap',
    'mgr',
    'allow *',
  ];
  await run(
    'ceph-authtool',
    ['--create-keyring', layout.keyringPath, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *'],
    { env },
  );
  await run('ceph-authtool', [layout.keyringPath, '--gen-key', '-n', 'client.admin', ...caps], { env });
  await run(
    'monmaptool',
    ['--create', '--clobber', '--fsid', fsid, '--addv', MON_ID, `[v1:127.0.0.1:${monPort}]`, layout.monmapPath],
    { env },
  );
  await run(
    'ceph-mon',
    ['-c', confPath, '--mkfs', '-i', MON_ID, '--monmap', layout.monmapPath, '--keyring', layout.keyringPath],
    { env },
  );
  daemon('ceph-mon', ['-i', MON_ID]);
  await wait('ceph-mon', 'a mon quorum', async () => (await cephStatus(confPath, 3)).monsInQuorum > 0, 60_000);
  log('mon in quorum; starting the mgr, making the OSD, the pools and the file system');
  daemon('ceph-mgr', ['-i', MGR_ID]);
  const makeOsd = async (): Promise<void> => {
    const osdUuid = randomUUID();
    const [osdId] = await allSettled([
      ceph(confPath, ['osd', 'new', osdUuid]).then((out) => out.trim()),
      run('ceph-osd', ['-c', confPath, '-i', String(OSD_ID), '--mkfs', '--osd-uuid', osdUuid], { env }),
    ]);
    if (osdId !== String(OSD_ID)) throw new Error(`Ceph: expected the new OSD to get id ${OSD_ID}, got ${osdId}`);
    await ceph(confPath, ['osd', 'crush', 'add-bucket', 'host0', 'host', 'root=default']);
    await ceph(confPath, ['osd', 'crush', 'add', `osd.${OSD_ID}`, '0.004', 'host=host0']);
    daemon('ceph-osd', ['-i', osdId]);
  };
  const makeFs = async (): Promise<void> => {
    const pools = [RBD_POOL, 'cephfs_metadata', 'cephfs_data'];
    await allSettled(pools.map((pool) => ceph(confPath, ['osd', 'pool', 'create', pool, '8', '8'])));
    await ceph(confPath, ['fs', 'new', CEPHFS_NAME, 'cephfs_metadata', 'cephfs_data']);
    daemon('ceph-mds', ['-i', MDS_ID]);
  };
  await allSettled([makeOsd(), makeFs()]);
  daemon('radosgw', ['-n', RGW_NAME]);

  await wait('ceph-osd', 'the OSD to be up and in', async () => {
    const status = await cephStatus(confPath);
    return status.osdsUp > 0 && status.osdsIn > 0;
  });
  log('OSD up and in; rbd pool init, waiting for the MDS and radosgw');
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const userArgs = [
    '--uid',
    S3_USER,
    '--display-name',
    'Safehold tests',
    '--access-key',
    S3_ACCESS_KEY,
    '--secret',
    S3_SECRET_KEY,
  ];
  await allSettled([
    run('rbd', ['-c', confPath, 'pool', 'init', RBD_POOL], { env }),
    wait('ceph-mds', `an active MDS for ${CEPHFS_NAME}`, async () => (await cephStatus(confPath)).mdsActive > 0),
    wait('radosgw', `S3 answers on ${endpoint}`, () => s3Answers(endpoint)).then(async () => {
      log(`radosgw answers on ${endpoint}; creating S3 user ${S3_USER}`);
      await run('radosgw-admin', ['-c', confPath, 'user', 'create', ...userArgs], { env });
    }),
  ]);

  let last = '';
  await wait('ceph-osd', 'all placement groups active+clean, mgr available, MDS active', async () => {
    const status = await cephStatus(confPath);
    last = describeStatus(status);
    return isServing(status);
  });
  log(last);
}

/** Like Promise.all, but waits for every branch before failing, so none starts a daemon after cleanup. */
async function allSettled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Undefined when a running cluster serves everything tests use, else what is wrong. */
async function servingProblem(info: CephCluster): Promise<string | undefined> {
  try {
    const status = await cephStatus(info.confPath, 5);
    if (!isServing(status)) return describeStatus(status);
    if (!(await s3Answers(info.s3.endpoint))) return `no S3 answer on ${info.s3.endpoint}`;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}

/** Polls check(); fails at once, naming the daemon and its log, if any started daemon has exited. */
async function waitDaemons(
  dir: string,
  started: readonly Daemon[],
  daemon: Daemon,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let died: Daemon | undefined;
  try {
    await waitFor(
      what,
      async () => {
        died = started.find((name) => runningPid(dir, name) === undefined);
        return died !== undefined || (await check());
      },
      { timeoutMs, intervalMs: 500, log: logFile(dir, daemon) },
    );
  } catch (error) {
    throw daemonError(dir, daemon, `did not get ready within ${timeoutMs / 1000} s (waiting for ${what})`, error);
  }
  if (died !== undefined) throw daemonError(dir, died, `exited while waiting for ${what}`);
}

function daemonError(dir: string, daemon: Daemon, problem: string, cause?: unknown): Error {
  const log = logFile(dir, daemon);
  let tail = '';
  try {
    tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    tail = '(no log)';
  }
  return new Error(`Ceph: ${daemon} ${problem}. Its log is ${log}; last lines:\n${tail}`, { cause });
}

/** Empties dir for a fresh cluster; refuses if it holds anything but a cluster written here. */
function wipe(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  const conf = join(dir, 'ceph.conf');
  const ours = existsSync(conf) && readFileSync(conf, 'utf8').startsWith(CONF_MARKER);
  if (!ours) throw new Error(`Ceph: ${dir} is not empty and holds no cluster made by startCeph; refusing to wipe it`);
  for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
}

function assertPortFree(port: number, daemon: string): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', (error) => {
      reject(
        new Error(`Ceph: port 127.0.0.1:${port} for ${daemon} is in use (another cluster still running?)`, {
          cause: error,
        }),
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort()));
  });
}
