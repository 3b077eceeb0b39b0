// The ceph.conf of the test environment's one-node Ceph cluster, and where each
// daemon keeps its data under the cluster folder. Kept apart from cluster.ts so
// that the settings (and why each one is there) can be read in one place.
import { join } from 'node:path';

export interface CephLayout {
  dir: string;
  confPath: string;
  monmapPath: string;
  infoPath: string;
  monData: string;
  mgrData: string;
  osdData: string;
  mdsData: string;
  rgwData: string;
  runDir: string;
  logDir: string;
  crashDir: string;
}

/** First line of every ceph.conf written here: a folder holding one may be wiped and rebuilt. */
export const CONF_MARKER = '# Written by testenv/ceph/cluster.ts: a one-node test cluster on loopback.';

/** Daemon ids: one of each. */
export const MON_ID = 'a';
export const MGR_ID = 'x';
export const OSD_ID = 0;
export const MDS_ID = 'a';
export const RGW_NAME = 'client.rgw.a';

export function cephLayout(dir: string): CephLayout {
  return {
    dir,
    confPath: join(dir, 'ceph.conf'),
    monmapPath: join(dir, 'monmap'),
    infoPath: join(dir, 'cluster.json'),
    monData: join(dir, 'data', `mon-${MON_ID}`),
    mgrData: join(dir, 'data', `mgr-${MGR_ID}`),
    osdData: join(dir, 'data', `osd-${OSD_ID}`),
    mdsData: join(dir, 'data', `mds-${MDS_ID}`),
    rgwData: join(dir, 'data', 'rgw-a'),
    runDir: join(dir, 'run'),
    logDir: join(dir, 'log'),
    crashDir: join(dir, 'crash'),
  };
}

/** Unix socket paths are limited to 107 bytes; the longest admin socket is the radosgw one. */
export function checkSocketPathLength(layout: CephLayout): void {
  const longest = join(layout.runDir, `${RGW_NAME}.4194304.asok`);
  if (Buffer.byteLength(longest) > 107) {
    throw new Error(`Ceph folder ${layout.dir} is too long for admin socket paths (${longest}): use a shorter one`);
  }
}

export function cephConf(layout: CephLayout, fsid: string, monPort: number, rgwPort: number): string {
  const daemonLogging = [
    // Daemons run in the foreground under startDaemon, which sends their
    // stderr to <dir>/<daemon>.log: one log per daemon, nothing in /var/log.
    'log file = ""',
    'log to stderr = true',
    'err to stderr = true',
  ];
  const sections: Record<string, string[]> = {
    global: [
      `fsid = ${fsid}`,
      `mon host = v1:127.0.0.1:${monPort}`,
      `mon initial members = ${MON_ID}`,
      // Loopback only, msgr v1 only (one port per mon, as the mon host above).
      'public addr = 127.0.0.1',
      'cluster addr = 127.0.0.1',
      'ms bind msgr2 = false',
      'ms bind ipv6 = false',
      // No cephx: tests talk to the cluster without keyrings, no keyring files at all.
      'auth cluster required = none',
      'auth service required = none',
      'auth client required = none',
      'auth allow insecure global id reclaim = false',
      // One OSD: one copy, small fixed PG counts so that rbd, cephfs and all
      // radosgw pools fit under mon max pg per osd, no autoscaler surprises.
      'osd pool default size = 1',
      'osd pool default min size = 1',
      'osd pool default pg num = 8',
      'osd pool default pgp num = 8',
      'osd pool default pg autoscale mode = off',
      'osd crush chooseleaf type = 0',
      'mon allow pool size one = true',
      'mon allow pool delete = true',
      'mon max pg per osd = 1000',
      'mon warn on pool no redundancy = false',
      'mon warn on pool pg num not power of two = false',
      // Maps change every 0.1 s instead of every 1 s: pool creation (radosgw
      // makes its pools one by one), fs new and OSD boot wait for map changes.
      'paxos propose interval = 0.1',
      // A busy shared disk must not turn the cluster HEALTH_WARN/ERR.
      'mon data avail warn = 2',
      'mon data avail crit = 1',
      // Every path under the cluster folder; $pid keeps concurrent CLI admin sockets apart.
      `run dir = ${layout.runDir}`,
      `admin socket = ${join(layout.runDir, '$name.$pid.asok')}`,
      `log file = ${join(layout.logDir, '$name.log')}`,
      `crash dir = ${layout.crashDir}`,
      `mon data = ${layout.monData}`,
      `mgr data = ${layout.mgrData}`,
      `osd data = ${layout.osdData}`,
      `mds data = ${layout.mdsData}`,
      `rgw data = ${layout.rgwData}`,
    ],
    mon: [
      ...daemonLogging,
      `mon cluster log file = ${join(layout.logDir, 'cluster.log')}`,
      // Only modules whose Python deps ship with ceph-mgr (restful and
      // dashboard would fail on missing cherrypy/pecan and warn forever).
      'mgr initial modules = iostat',
    ],
    mgr: [...daemonLogging, 'mgr stats period = 1'],
    osd: [
      ...daemonLogging,
      // A 24 GiB file-backed BlueStore OSD (a sparse file: it costs what is written), modest
      // memory. 4 GiB filled up under the 2 GiB backup benchmark, and a full OSD blocks writes.
      'osd objectstore = bluestore',
      'bluestore block create = true',
      'bluestore block size = 25769803776',
      'bluestore fsck on mount = false',
      'osd memory target = 1073741824',
      // Ceph 16 clients (daemons too) send their first mon commands with fsid 0
      // if the mon's monmap has not reached them yet; the mon answers "wrong
      // fsid" (EPERM). Under load the OSD lost that race at boot and exited, so
      // it sends no mon commands at boot: ceph-build.ts places it in CRUSH itself.
      'osd crush update on start = false',
      'osd class update on start = false',
      'osd op num shards = 2',
      'osd op num threads per shard = 1',
    ],
    mds: [...daemonLogging, 'mds cache memory limit = 268435456'],
    client: [
      // rbd-fuse writes reach the OSDs before write() returns, so a sync before
      // `rbd snap create` (testenv/storage/rbd-backend.ts) is enough to get them in.
      'rbd cache = false',
      // Clone v2: clones need no protected snapshot, and a snapshot or an image
      // with clones can be deleted (it waits in the trash for its last clone).
      'rbd default clone format = 2',
    ],
    [RGW_NAME]: [...daemonLogging, `rgw frontends = beast endpoint=127.0.0.1:${rgwPort}`, 'rgw thread pool size = 64'],
  };
  const lines = [CONF_MARKER];
  for (const [name, settings] of Object.entries(sections)) {
    lines.push('', `[${name}]`, ...settings.map((line) => `    ${line}`));
  }
  return `${lines.join('\n')}\n`;
}
