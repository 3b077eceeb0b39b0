// How full the test cluster is, and giving back what a test run wrote to its
// object store. A day of suites and benchmarks filled a 24 GiB OSD to 96%
// once; past the full ratio Ceph stalls every write. So `env status` shows the
// OSD's use, `up` rebuilds a cluster that is not serving (a full OSD is not),
// and each test or benchmark run removes the buckets it made.
import { run } from '../command.ts';
import { ceph, cephEnv, cephStatus, describeStatus, isServing, s3Answers } from './ceph-status.ts';
import type { CephCluster } from './cluster.ts';

/** Above this share of the OSD in use the environment counts as not serving (Ceph's nearfull is 85%). */
export const osdUseLimit = 0.8;

export interface OsdUse {
  usedBytes: number;
  totalBytes: number;
}

export async function osdUse(confPath: string): Promise<OsdUse> {
  const raw = JSON.parse(await ceph(confPath, ['osd', 'df', '--format', 'json'], 5)) as {
    summary?: { total_kb?: number; total_kb_used?: number };
  };
  return { usedBytes: (raw.summary?.total_kb_used ?? 0) * 1024, totalBytes: (raw.summary?.total_kb ?? 0) * 1024 };
}

export function describeUse(use: OsdUse): string {
  const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
  const share = use.totalBytes === 0 ? 0 : use.usedBytes / use.totalBytes;
  return `OSD ${gib(use.usedBytes)} of ${gib(use.totalBytes)} GiB used (${(share * 100).toFixed(0)}%)`;
}

/** Undefined when the cluster serves everything tests use with room to write, else what is wrong. */
export async function cephProblem(cluster: CephCluster): Promise<string | undefined> {
  try {
    const status = await cephStatus(cluster.confPath, 5);
    if (!isServing(status)) return describeStatus(status);
    const use = await osdUse(cluster.confPath);
    if (use.usedBytes > use.totalBytes * osdUseLimit) return `${describeUse(use)}, above ${osdUseLimit * 100}%`;
    if (!(await s3Answers(cluster.s3.endpoint))) return `no S3 answer on ${cluster.s3.endpoint}`;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}

async function radosgwAdmin(confPath: string, args: string[]): Promise<string> {
  const { stdout } = await run('radosgw-admin', ['-c', confPath, ...args], {
    env: cephEnv(confPath),
    timeoutMs: 600_000,
  });
  return stdout;
}

export async function bucketNames(confPath: string): Promise<string[]> {
  return JSON.parse(await radosgwAdmin(confPath, ['bucket', 'list'])) as string[];
}

/** Removes the buckets with everything in them, their space given back to the OSD at once (no gc delay). */
export async function removeBuckets(confPath: string, names: readonly string[]): Promise<void> {
  for (const bucket of names)
    await radosgwAdmin(confPath, ['bucket', 'rm', `--bucket=${bucket}`, '--purge-objects', '--bypass-gc']);
}

/**
 * The buckets there now; the function it returns removes those made since.
 * For a run's setup and teardown: whatever the run wrote to S3 goes with it.
 */
export async function bucketsMadeFrom(cluster: CephCluster): Promise<() => Promise<string[]>> {
  const before = new Set(await bucketNames(cluster.confPath));
  return async () => {
    const made = (await bucketNames(cluster.confPath)).filter((name) => !before.has(name));
    await removeBuckets(cluster.confPath, made);
    return made;
  };
}
