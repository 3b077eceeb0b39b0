// The steps that build the one-node test cluster in an empty folder, in the
// order Ceph needs them, with independent steps run side by side: mon, then
// mgr + OSD + pools + CephFS, then radosgw, rbd pool init and the S3 user.
// Every wait fails fast, naming the daemon and its log, if a daemon exits.
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from '../command.ts';
import { logFile, startDaemon, waitFor } from '../daemons.ts';
import type { CephLayout } from './ceph-conf.ts';
import { MDS_ID, MGR_ID, MON_ID, OSD_ID, RGW_NAME, cephConf, checkSocketPathLength } from './ceph-conf.ts';
import type { CephDaemon } from './ceph-status.ts';
import { ceph, cephEnv, cephStatus, describeStatus, isServing, ownPid, s3Answers } from './ceph-status.ts';
import type { CephCluster } from './cluster.ts';

export const S3_USER = 'safehold';
const maxRadosgwStarts = 3;

interface PoolInfo {
  pool_name: string;
  pg_num: number;
}

export async function buildCluster(
  layout: CephLayout,
  cluster: CephCluster,
  ports: { mon: number; rgw: number },
  log: (line: string) => void,
): Promise<void> {
  const { dir, confPath } = layout;
  const env = cephEnv(confPath);
  const started: CephDaemon[] = [];
  const daemon = (name: CephDaemon, args: string[]): void => {
    startDaemon(dir, { name, command: name, args: ['-f', '-c', confPath, ...args], env });
    started.push(name);
  };
  const wait = (name: CephDaemon, what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> =>
    waitDaemons(dir, started, name, what, check, timeoutMs);
  const { rbdPool, cephfsName } = cluster;

  checkSocketPathLength(layout);
  const { runDir, logDir, crashDir, monData, mgrData, osdData, mdsData, rgwData } = layout;
  for (const folder of [runDir, logDir, crashDir, monData, mgrData, osdData, mdsData, rgwData]) {
    mkdirSync(folder, { recursive: true });
  }
  const fsid = randomUUID();
  writeFileSync(confPath, cephConf(layout, fsid, ports.mon, ports.rgw));

  log(`creating the mon on 127.0.0.1:${ports.mon}`);
  const monAddr = `[v1:127.0.0.1:${ports.mon}]`;
  await run('monmaptool', ['--create', '--clobber', '--fsid', fsid, '--addv', MON_ID, monAddr, layout.monmapPath], {
    env,
  });
  await run('ceph-mon', ['-c', confPath, '--mkfs', '-i', MON_ID, '--monmap', layout.monmapPath], { env });
  daemon('ceph-mon', ['-i', MON_ID]);
  await wait('ceph-mon', 'a mon quorum', async () => (await cephStatus(confPath, 3)).monsInQuorum > 0, 60_000);

  log('mon in quorum; starting the mgr, making the OSD, the pools and the file system');
  daemon('ceph-mgr', ['-i', MGR_ID]);
  const makeOsd = async (): Promise<void> => {
    const osdUuid = randomUUID();
    const register = async (): Promise<void> => {
      const osdId = (await ceph(confPath, ['osd', 'new', osdUuid])).trim();
      if (osdId !== String(OSD_ID)) throw new Error(`Ceph: expected the new OSD to get id ${OSD_ID}, got ${osdId}`);
      // What the OSD would do at boot had we not turned that off (see ceph-conf.ts); makes the host bucket too.
      await ceph(confPath, ['osd', 'crush', 'add', `osd.${OSD_ID}`, '0.004', 'host=host0', 'root=default']);
    };
    const mkfs = run('ceph-osd', ['-c', confPath, '-i', String(OSD_ID), '--mkfs', '--osd-uuid', osdUuid], { env });
    await allSettled([register(), mkfs]);
    daemon('ceph-osd', ['-i', String(OSD_ID)]);
  };
  const makePool = async (pool: string, application?: string): Promise<void> => {
    await ceph(confPath, ['osd', 'pool', 'create', pool, '8', '8']);
    if (application !== undefined) await ceph(confPath, ['osd', 'pool', 'application', 'enable', pool, application]);
  };
  const makeFs = async (): Promise<void> => {
    await allSettled([makePool('cephfs_metadata'), makePool('cephfs_data')]);
    await ceph(confPath, ['fs', 'new', cephfsName, 'cephfs_metadata', 'cephfs_data']);
    daemon('ceph-mds', ['-i', MDS_ID]);
  };
  // Every pool radosgw uses, made here: it then sends no pool-creating mon command as it starts,
  // and tests never wait for the bucket pools at the first bucket (and multipart upload).
  const rgwPools = [
    '.rgw.root',
    'default.rgw.log',
    'default.rgw.control',
    'default.rgw.meta',
    'default.rgw.buckets.index',
    'default.rgw.buckets.data',
    'default.rgw.buckets.non-ec',
  ];
  await allSettled([makeOsd(), makeFs(), makePool(rbdPool), ...rgwPools.map((pool) => makePool(pool, 'rgw'))]);

  await wait('ceph-osd', 'the OSD to be up and in', async () => {
    const status = await cephStatus(confPath);
    return status.osdsUp > 0 && status.osdsIn > 0;
  });
  log('OSD up and in; rbd pool init, starting radosgw, waiting for the MDS');
  const { endpoint, accessKey, secretKey } = cluster.s3;
  const user = ['--uid', S3_USER, '--display-name', 'Safehold tests', '--access-key', accessKey, '--secret', secretKey];
  const startRadosgw = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      startDaemon(dir, { name: 'radosgw', command: 'radosgw', args: ['-f', '-c', confPath, '-n', RGW_NAME], env });
      const exited = await waitDaemons(dir, ['radosgw'], 'radosgw', `S3 answers on ${endpoint}`, () =>
        s3Answers(endpoint),
      ).then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      );
      if (exited === undefined) break;
      // Once, on a CI machine, radosgw exited at start with an empty log: it gets three tries.
      if (ownPid(dir, 'radosgw') !== undefined || attempt === maxRadosgwStarts) throw exited;
      log(`radosgw exited as it started (try ${attempt} of ${maxRadosgwStarts}); starting it again`);
      appendFileSync(logFile(dir, 'radosgw'), `\n--- exited as it started; try ${attempt + 1} ---\n`);
    }
    started.push('radosgw');
    log(`radosgw answers on ${endpoint}; creating S3 user ${S3_USER}`);
    await run('radosgw-admin', ['-c', confPath, 'user', 'create', ...user], { env });
  };
  await allSettled([
    run('rbd', ['-c', confPath, 'pool', 'init', rbdPool], { env }),
    wait('ceph-mds', `an active MDS for ${cephfsName}`, async () => (await cephStatus(confPath)).mdsActive > 0),
    startRadosgw(),
  ]);

  let last = '';
  await wait('ceph-osd', 'all placement groups active+clean, mgr available, MDS active', async () => {
    // The mgr's PG statistics lag pool creation: count the PGs the pools should have.
    const pools = JSON.parse(await ceph(confPath, ['osd', 'pool', 'ls', 'detail', '--format', 'json'])) as PoolInfo[];
    const status = await cephStatus(confPath);
    last = describeStatus(status);
    return isServing(status) && status.pgs === pools.reduce((sum, pool) => sum + pool.pg_num, 0);
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

/** Polls check(); fails at once, naming the daemon and its log, if any started daemon has exited. */
async function waitDaemons(
  dir: string,
  started: readonly CephDaemon[],
  daemon: CephDaemon,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  let died: CephDaemon | undefined;
  try {
    await waitFor(
      what,
      async () => {
        died = started.find((name) => ownPid(dir, name) === undefined);
        return died !== undefined || (await check());
      },
      { timeoutMs, intervalMs: 500, log: logFile(dir, daemon) },
    );
  } catch (error) {
    throw daemonError(dir, daemon, `did not get ready within ${timeoutMs / 1000} s (waiting for ${what})`, error);
  }
  if (died !== undefined) throw daemonError(dir, died, `exited (noticed while waiting for ${what})`);
}

function daemonError(dir: string, daemon: CephDaemon, problem: string, cause?: unknown): Error {
  const log = logFile(dir, daemon);
  const tail = existsSync(log) ? lastLines(readFileSync(log, 'utf8'), 15) : '(no log)';
  return new Error(`Ceph: ${daemon} ${problem}. Its log is ${log}; last lines:\n${tail}`, { cause });
}

/** Ceph's stderr log puts a blank line after every entry. */
function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .join('\n');
}
