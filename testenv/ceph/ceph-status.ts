// Asking the test cluster how it is doing: which of its daemons still run, the
// `ceph` CLI with short timeouts, `ceph status` boiled down to the facts
// readiness depends on, and a probe of radosgw's S3 endpoint. Used by
// cluster.ts and ceph-build.ts while starting, when reusing and when stopping.
import { readFileSync } from 'node:fs';
import { CommandError, run } from '../command.ts';
import { readPid } from '../daemons.ts';
import { cephLayout } from './ceph-conf.ts';

/** The daemons, in start order; stopCeph goes through them backwards. */
export const CEPH_DAEMONS = ['ceph-mon', 'ceph-mgr', 'ceph-osd', 'ceph-mds', 'radosgw'] as const;
export type CephDaemon = (typeof CEPH_DAEMONS)[number];

/**
 * The pid of daemon `name` of the cluster in dir, if it runs: not a zombie
 * (kill -0 succeeds on those until init reaps them) and really our daemon
 * (its command line names this cluster's ceph.conf; pids get reused).
 */
export function ownPid(dir: string, name: CephDaemon): number | undefined {
  const pid = readPid(dir, name);
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return state !== 'Z' && state !== 'X' && argv.includes(cephLayout(dir).confPath) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface CephStatusSummary {
  health: string;
  checks: string[];
  monsInQuorum: number;
  mgrAvailable: boolean;
  osdsUp: number;
  osdsIn: number;
  pgs: number;
  pgsActiveClean: number;
  mdsActive: number;
}

export function cephEnv(confPath: string): NodeJS.ProcessEnv {
  return { ...process.env, CEPH_CONF: confPath };
}

/**
 * Runs the `ceph` CLI; it gives up after connectSeconds if no mon answers.
 * A fresh Ceph 16 client may send its first command before the mon's monmap,
 * and so the cluster's fsid, has reached it; the mon refuses it ("EPERM: problem
 * getting command descriptions from mon", mon log: "handle_command on fsid
 * 00000000-..."). Rare, more likely under load; such calls are retried.
 */
export async function ceph(confPath: string, args: string[], connectSeconds = 10): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await run('ceph', ['-c', confPath, '--connect-timeout', String(connectSeconds), ...args], {
        env: cephEnv(confPath),
        timeoutMs: (connectSeconds + 60) * 1000,
      });
      return stdout;
    } catch (error) {
      if (attempt >= 5 || !(error instanceof CommandError) || !FSID_RACE.test(error.stderr)) throw error;
    }
  }
}

export const FSID_RACE = /problem getting command descriptions|wrong fsid/;

interface RawStatus {
  health?: { status?: string; checks?: Record<string, { summary?: { message?: string } }> };
  quorum?: number[];
  mgrmap?: { available?: boolean };
  osdmap?: { num_up_osds?: number; num_in_osds?: number; osdmap?: { num_up_osds?: number; num_in_osds?: number } };
  pgmap?: { num_pgs?: number; pgs_by_state?: { state_name: string; count: number }[] };
  fsmap?: { by_rank?: { status?: string }[] };
}

export async function cephStatus(confPath: string, connectSeconds = 10): Promise<CephStatusSummary> {
  const raw = JSON.parse(await ceph(confPath, ['status', '--format', 'json'], connectSeconds)) as RawStatus;
  const osdmap = raw.osdmap?.osdmap ?? raw.osdmap ?? {};
  const byState = raw.pgmap?.pgs_by_state ?? [];
  return {
    health: raw.health?.status ?? 'unknown',
    checks: Object.entries(raw.health?.checks ?? {}).map(([name, check]) => `${name}: ${check.summary?.message ?? ''}`),
    monsInQuorum: raw.quorum?.length ?? 0,
    mgrAvailable: raw.mgrmap?.available === true,
    osdsUp: osdmap.num_up_osds ?? 0,
    osdsIn: osdmap.num_in_osds ?? 0,
    pgs: raw.pgmap?.num_pgs ?? 0,
    pgsActiveClean: byState.filter((s) => s.state_name === 'active+clean').reduce((sum, s) => sum + s.count, 0),
    mdsActive: (raw.fsmap?.by_rank ?? []).filter((rank) => rank.status === 'up:active').length,
  };
}

/** True when everything the tests use is there: OSD up and in, all PGs clean, an active MDS, a mgr. */
export function isServing(status: CephStatusSummary): boolean {
  return (
    status.monsInQuorum > 0 &&
    status.mgrAvailable &&
    status.osdsUp > 0 &&
    status.osdsIn > 0 &&
    status.pgs > 0 &&
    status.pgsActiveClean === status.pgs &&
    status.mdsActive > 0
  );
}

export function describeStatus(status: CephStatusSummary): string {
  const checks = status.checks.length === 0 ? '' : ` [${status.checks.join('; ')}]`;
  return (
    `${status.health}, mgr ${status.mgrAvailable ? 'available' : 'unavailable'}, ` +
    `osd ${status.osdsUp} up/${status.osdsIn} in, pgs ${status.pgsActiveClean}/${status.pgs} active+clean, ` +
    `mds ${status.mdsActive} active${checks}`
  );
}

/** An anonymous GET / on radosgw answers with S3 XML (an empty ListAllMyBucketsResult). */
export async function s3Answers(endpoint: string): Promise<boolean> {
  const response = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(5000) });
  const body = await response.text();
  return body.includes('ListAllMyBucketsResult') || body.startsWith('<?xml');
}
