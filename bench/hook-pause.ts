// How long an application stops for its backup when hooks pause it: PostgreSQL
// on the real node under pgbench (two clients, every transaction logged),
// with the postgresql preset, backed up from snapshots by a running operator
// several times. The pause is what the application sees: the longest time in
// which no pgbench transaction completed, within each backup's hooks (from
// the preset's pre hook starting to its post hook ending, as the VolumeBackup
// records them, widened by a second either side: the records are in whole
// seconds). The same measure over quiet stretches of the load is the baseline.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VolumeBackup } from '../src/api/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { databaseContainer, startDatabase } from '../testenv/real-node/database-pod.ts';
import { waitFor } from '../testenv/daemons.ts';
import { applyBenchSecrets, operatorArgv } from './operator-process.ts';

export interface HookPauseResult {
  backups: {
    /** The longest time without a completed transaction, within the backup's hooks. */
    pauseSeconds: number;
    /** From the preset's pre hook starting to its post hook ending (whole seconds). */
    hooksSeconds: number;
    /** From the VolumeBackup's start to its end: the snapshot, its copy to the repository. */
    backupSeconds: number;
  }[];
  /** The longest time without a completed transaction in a quiet stretch of the same length as a backup's hooks. */
  baselineSeconds: number;
  transactionsPerSecond: number;
  method: string;
}

const backups = 5;

export async function benchHookPause(
  env: TestEnvironment,
  client: KubeClient,
  log: (line: string) => void,
): Promise<HookPauseResult> {
  const image = env.realNode?.postgresImage;
  if (image === undefined)
    throw new Error('the pause benchmark needs the real node with the PostgreSQL image (build-image.sh postgres)');
  const stamp = Date.now();
  const ns = `bench-pause-${stamp}`;
  const label = { 'safehold.bench/pause': String(stamp) };
  await setUpProtection(env, client, ns, label, stamp);
  await client.create(kinds.persistentVolumeClaim, {
    metadata: { name: 'pg', namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
  } as KubeObject);
  await startDatabase(client, {
    database: 'postgres',
    name: 'pg',
    namespace: ns,
    claim: 'pg',
    image,
    load: true,
    annotations: { 'hooks.safehold.io/preset': 'postgresql' },
  });
  const operator = spawn(process.execPath, operatorArgv(env, `bench-pause-${stamp}`), { stdio: 'ignore' });
  try {
    const windows: { from: number; to: number; hooksSeconds: number; backupSeconds: number }[] = [];
    const loadStarted = Date.now();
    await sleep(10_000); // a stretch of the load alone, for the baseline
    for (let i = 1; i <= backups; i++) {
      const name = `pg-${i}`;
      await client.create(kinds.volumeBackup, {
        metadata: { name, namespace: ns },
        spec: { pvc: 'pg', trigger: 'manual' },
      } as KubeObject);
      let backup: VolumeBackup | undefined;
      await waitFor(
        `VolumeBackup ${ns}/${name} to end`,
        async () => {
          backup = await client.get<VolumeBackup>(kinds.volumeBackup, { namespace: ns, name });
          return backup.status?.phase === 'Succeeded' || backup.status?.phase === 'Failed';
        },
        { timeoutMs: 240_000 },
      );
      if (backup?.status?.phase !== 'Succeeded')
        throw new Error(`backup ${name} failed: ${backup?.status?.message ?? ''}`);
      const hooks = backup.status.hooks ?? [];
      const pre = hooks.find((h) => h.stage === 'pre' && h.preset === 'postgresql');
      const post = hooks.find((h) => h.stage === 'post' && h.preset === 'postgresql');
      if (pre?.startTime === undefined || post?.completionTime === undefined)
        throw new Error(`backup ${name} did not run the preset's hooks: ${JSON.stringify(hooks)}`);
      const from = Date.parse(pre.startTime) / 1000;
      const to = Date.parse(post.completionTime) / 1000;
      const backupSeconds =
        (Date.parse(backup.status.completionTime ?? '') - Date.parse(backup.status.startTime ?? '')) / 1000;
      windows.push({ from: from - 1, to: to + 1, hooksSeconds: to - from, backupSeconds });
      log(`pause: backup ${i}: hooks ${to - from} s, backup ${backupSeconds} s`);
      await sleep(2_000);
    }
    const completions = await transactionTimes(client, ns);
    const first = windows[0];
    if (first === undefined) throw new Error('no backup ran');
    // Quiet stretches: before the first backup, as long as the widest window.
    const width = Math.max(...windows.map((w) => w.to - w.from));
    const quietFrom = loadStarted / 1000 + 1;
    const baselines: number[] = [];
    for (let at = quietFrom; at + width <= first.from; at += width)
      baselines.push(longestGap(completions, at, at + width));
    const inLoad = completions.filter((t) => t >= quietFrom && t <= first.from);
    return {
      backups: windows.map((w) => ({
        pauseSeconds: round(longestGap(completions, w.from, w.to)),
        hooksSeconds: w.hooksSeconds,
        backupSeconds: w.backupSeconds,
      })),
      baselineSeconds: round(Math.max(0, ...baselines)),
      transactionsPerSecond: Math.round(inLoad.length / (first.from - quietFrom)),
      method:
        `PostgreSQL 15 on the real node, pgbench -c 2 (scale 2), annotation hooks.safehold.io/preset: postgresql; ` +
        `${backups} VolumeBackups from snapshots by a local operator, one after another; pause: the longest time without ` +
        `a completed pgbench transaction (pgbench -l) within each backup's preset hooks (records in whole seconds, widened by 1 s ` +
        `either side); baseline: the same over stretches of the load before the first backup`,
    };
  } finally {
    operator.kill('SIGTERM');
    await client.delete(kinds.namespace, { name: ns }).catch(() => undefined);
    await client.delete(kinds.backupPolicy, { name: `bench-pause-${stamp}` }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: `bench-pause-${stamp}` }).catch(() => undefined);
  }
}

async function setUpProtection(
  env: TestEnvironment,
  client: KubeClient,
  ns: string,
  label: Record<string, string>,
  stamp: number,
): Promise<void> {
  const name = `bench-pause-${stamp}`;
  await client.create(kinds.namespace, { metadata: { name: ns, labels: label } });
  const ref = await applyBenchSecrets(env, client);
  await client.create(kinds.backupRepository, {
    metadata: { name },
    spec: {
      s3: {
        endpoint: env.ceph.s3.endpoint,
        bucket: name,
        accessKeyId: ref('bench-s3'),
        secretAccessKey: ref('bench-s3'),
      },
      password: ref('bench-password'),
    },
  } as KubeObject);
  await client.create(kinds.backupPolicy, {
    metadata: { name },
    spec: {
      priority: 1000,
      selector: { namespaceSelector: { matchLabels: label } },
      repository: { name },
      method: 'snapshot',
    },
  } as KubeObject);
}

/** Every logged pgbench transaction's completion time (Unix seconds), sorted. */
async function transactionTimes(client: KubeClient, namespace: string): Promise<number[]> {
  // pgbench -l: client, transaction, latency, script, completion epoch seconds, microseconds.
  const result = await client.exec({
    namespace,
    pod: 'pg',
    container: databaseContainer,
    command: ['sh', '-c', 'cat /tmp/pgbench_log.* | awk \'{ printf "%d.%06d\\n", $5, $6 }\''],
    timeoutMs: 60_000,
    keepBytes: 64 * 2 ** 20,
  });
  if (result.exitCode !== 0) throw new Error(`reading pgbench's log: ${result.error ?? result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map(Number)
    .sort((a, b) => a - b);
}

/** The longest time within [from, to] in which no transaction completed. */
export function longestGap(sorted: readonly number[], from: number, to: number): number {
  let previous = from;
  let longest = 0;
  for (const t of sorted) {
    if (t < from) continue;
    if (t > to) break;
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return Math.max(longest, to - previous);
}

const round = (seconds: number) => Math.round(seconds * 100) / 100;
