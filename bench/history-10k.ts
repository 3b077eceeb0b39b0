// Benchmark for issue 15: the operator against 10,000 PVCs in 1,000 namespaces
// and their kept history of N backups per volume, kept as the operator keeps
// it now (one VolumeHistory per volume) or, with `runs`, as it kept it before
// (N finished VolumeBackups per volume, Succeeded, cleaned up). Measures what Safehold's history
// costs the control plane (the API server's RSS, etcd's database) and what it
// costs the operator: time to every decision, RSS, the longest event-loop
// stall (its own metric), Lease renewals kept, requests in a quiet window, and
// whether it stops on SIGTERM.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { annotations, type VolumeBackup, type VolumeHistory } from '../src/api/index.ts';
import { archiveFrom, entryOf, historyLength, historyStatus, scheduledBackupName } from '../src/core/index.ts';
import { ignoreAlreadyExists, isConflict, kinds, type KubeClient } from '../src/kube/index.ts';
import { installCrds } from '../testenv/crds.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { ensureFixture, fixtureLabel, pool, type FixtureSize } from './cluster-fixture.ts';
import { countRequests, rssMiB } from './coverage-10k.ts';
import { operatorArgv } from './operator-process.ts';

/** How the kept history is held in the API: one VolumeHistory per volume, or (before) a VolumeBackup per backup. */
export type CatalogueShape = 'history' | 'runs';

export interface HistoryResult {
  catalogue: CatalogueShape;
  /** Objects of Safehold's catalogue in the API. */
  objects: number;
  volumes: number;
  backupsPerVolume: number;
  backups: number;
  secondsToWriteHistory: number;
  controlPlane: {
    apiserverRssMiB: { before: number; after: number };
    etcdDbMiB: { before: number; after: number };
  };
  operator: {
    msToAllDecisions: number | undefined;
    msToCachesSynced: number | undefined;
    rssMiB: { afterDecisions: number; steadyMax: number; samples: number[] };
    longestEventLoopStallMs: number | undefined;
    leaseRenewals: { seen: number; expected: number; longestGapMs: number };
    quietSeconds: number;
    quietRequests: Record<string, number>;
    stoppedBySigtermMs: number | undefined;
    /** When the operator ended before it was asked to: how long after start, its exit code and its last words. */
    exitedOnItsOwn: { afterMs: number; code: number | null; lastLog: string[] } | undefined;
  };
}

const day = 86_400_000;

/**
 * The n-th kept backup of a volume, as the operator leaves it once finished and cleaned up: named
 * after its slot, captured a few seconds after it, with statistics that differ from run to run (a
 * history of identical lines would deflate to almost nothing and flatter the catalogue).
 */
function keptBackup(ns: string, pvc: string, n: number, now: number): { object: VolumeBackup; status: unknown } {
  const slot = new Date(Math.floor(now / day) * day - (n + 1) * day);
  const noise = createHash('sha256').update(`stats/${ns}/${pvc}/${n}`).digest();
  const at = new Date(slot.getTime() + ((noise[0] ?? 0) % 20) * 1000).toISOString();
  const done = new Date(Date.parse(at) + (20 + ((noise[1] ?? 0) % 100)) * 1000).toISOString();
  const added = noise.readUInt32BE(2) % 50_000_000;
  const total = 3_328_599_654 - n * 25_000_000 + (noise.readUInt32BE(6) % 1_000_000);
  const fresh = (noise[10] ?? 0) % 40;
  const changed = (noise[11] ?? 0) % 30;
  const name = scheduledBackupName(pvc, slot);
  return {
    object: {
      metadata: {
        name,
        namespace: ns,
        labels: { 'safehold.io/pvc': pvc, 'safehold.io/trigger': 'schedule', [fixtureLabel]: 'true' },
      },
      spec: { pvc, trigger: 'schedule', scheduledFor: slot.toISOString() },
    },
    status: {
      phase: 'Succeeded',
      reason: 'Succeeded',
      message: `backed up 1,204 files (3.1 GiB), ${(added / 1048576).toFixed(1)} MiB added`,
      policy: 'bench-default',
      repository: 'bench',
      method: 'snapshot',
      attempt: 1,
      startTime: at,
      completionTime: done,
      snapshotTime: at,
      changeDetection: { mode: 'full', reason: 'the clone keeps inode numbers and ctimes' },
      snapshotName: name,
      volume: {
        capacity: '1Gi',
        storageClassName: 'bench-static',
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
      },
      // As random as restic's: a run of zeros would deflate to nothing.
      snapshotId: createHash('sha256').update(`${ns}/${pvc}/${n}`).digest('hex'),
      files: { new: fresh, changed, unmodified: 1204 - fresh - changed, total: 1204 },
      bytes: { added, total },
      conditions: [
        { type: 'Complete', status: 'True', reason: 'Succeeded', message: 'backed up', lastTransitionTime: done },
        {
          type: 'CleanedUp',
          status: 'True',
          reason: 'TemporaryObjectsDeleted',
          message: 'deleted',
          lastTransitionTime: done,
        },
      ],
    },
  };
}

async function ensureHistory(client: KubeClient, size: FixtureSize, perVolume: number, log: (line: string) => void) {
  const existing = await client.list<VolumeBackup>(kinds.volumeBackup, { query: { labelSelector: fixtureLabel } });
  const have = new Set(
    existing.items
      .filter((b) => b.status?.phase === 'Succeeded')
      .map((b) => `${b.metadata.namespace}/${b.metadata.name}`),
  );
  const now = Date.now();
  const wanted = Array.from({ length: size.namespaces }, (_, i) => `bench-${String(i).padStart(4, '0')}`).flatMap(
    (ns) =>
      Array.from({ length: size.claimsPerNamespace }, (_, c) =>
        Array.from({ length: perVolume }, (_, n) => keptBackup(ns, `data-${c}`, n, now)),
      ).flat(),
  );
  // Runs an earlier bench's operator created (scheduled ones) are not history: they go.
  const extra = await client.list<VolumeBackup>(kinds.volumeBackup, { query: { labelSelector: `!${fixtureLabel}` } });
  const created = extra.items.filter((b) => b.metadata.namespace.startsWith('bench-'));
  if (created.length > 0) log(`history: deleting ${created.length} runs an earlier bench's operator created`);
  await pool(created, 32, async (b) => {
    await client
      .delete(kinds.volumeBackup, { namespace: b.metadata.namespace, name: b.metadata.name })
      .catch(() => undefined);
  });
  const missing = wanted.filter((w) => !have.has(`${w.object.metadata.namespace}/${w.object.metadata.name}`));
  log(`history: ${wanted.length - missing.length} VolumeBackups present, writing ${missing.length}`);
  const started = Date.now();
  let done = 0;
  await pool(missing, 32, async ({ object, status }) => {
    await ignoreAlreadyExists(() => client.create(kinds.volumeBackup, object));
    const ref = { namespace: object.metadata.namespace, name: object.metadata.name };
    for (;;) {
      try {
        await client.mergePatch(kinds.volumeBackup, ref, { status }, 'status');
        break;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    if (++done % 10_000 === 0)
      log(`history: ${done}/${missing.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  });
  return (Date.now() - started) / 1000;
}

/** One VolumeHistory per volume holding its kept backups, as the operator writes it. */
async function ensureHistories(
  client: KubeClient,
  size: FixtureSize,
  perVolume: number,
  log: (line: string) => void,
): Promise<number> {
  const existing = await client.list<VolumeHistory>(kinds.volumeHistory, { query: { labelSelector: fixtureLabel } });
  const have = new Map(existing.items.map((h) => [`${h.metadata.namespace}/${h.metadata.name}`, h]));
  const now = Date.now();
  const volumes = Array.from({ length: size.namespaces }, (_, i) => `bench-${String(i).padStart(4, '0')}`).flatMap(
    (namespace) => Array.from({ length: size.claimsPerNamespace }, (_, c) => ({ namespace, pvc: `data-${c}` })),
  );
  const missing = volumes.filter((v) => {
    const h = have.get(`${v.namespace}/${v.pvc}`);
    // One an earlier Safehold wrote (every line plain) is written again as this one writes it.
    return historyLength(h) !== perVolume || (perVolume >= archiveFrom && h?.status?.archive === undefined);
  });
  log(`history: ${volumes.length - missing.length} VolumeHistories present, writing ${missing.length}`);
  const started = Date.now();
  let done = 0;
  await pool(missing, 32, async ({ namespace, pvc }) => {
    const runs = Array.from({ length: perVolume }, (_, n) => keptBackup(namespace, pvc, n, now));
    const entries = runs.flatMap(({ object, status }) => entryOf({ ...object, status } as VolumeBackup) ?? []);
    const status = historyStatus(entries, (runs[0]?.status as VolumeBackup['status'])?.volume);
    const ref = { namespace, name: pvc };
    const current = have.get(`${namespace}/${pvc}`);
    if (current === undefined)
      await client.create<VolumeHistory>(kinds.volumeHistory, {
        metadata: { ...ref, labels: { 'safehold.io/pvc': pvc, [fixtureLabel]: 'true' } },
        spec: { pvc },
        status,
      });
    else await client.replace(kinds.volumeHistory, { ...current, status });
    if (++done % 2000 === 0)
      log(`history: ${done}/${missing.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  });
  return (Date.now() - started) / 1000;
}

/**
 * Records on every PVC that its schedule's latest slot has been run, as the operator does when it
 * creates a scheduled backup: the quiet window then measures an operator with nothing due, not one
 * catching up on the day since the history was written.
 */
async function markSchedulesCurrent(client: KubeClient, size: FixtureSize, log: (line: string) => void) {
  const now = new Date().toISOString();
  const claims = Array.from({ length: size.namespaces }, (_, i) => `bench-${String(i).padStart(4, '0')}`).flatMap(
    (namespace) => Array.from({ length: size.claimsPerNamespace }, (_, c) => ({ namespace, name: `data-${c}` })),
  );
  const started = Date.now();
  await pool(claims, 32, async (ref) => {
    await client.mergePatch(kinds.persistentVolumeClaim, ref, {
      metadata: { annotations: { [annotations.lastScheduled]: now } },
    });
  });
  log(`schedules: ${claims.length} PVCs marked as run up to now (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

function pidOf(env: TestEnvironment, daemon: string): number {
  return Number(readFileSync(join(env.dir, 'kube', `${daemon}.pid`), 'utf8').trim());
}

function etcdDbMiB(env: TestEnvironment): number {
  return Math.round(statSync(join(env.dir, 'kube', 'etcd-data', 'member', 'snap', 'db')).size / 2 ** 20);
}

async function metric(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

export async function benchHistory(
  env: TestEnvironment,
  client: KubeClient,
  size: FixtureSize,
  perVolume: number,
  catalogue: CatalogueShape,
  quietSeconds: number,
  port: number,
  log: (line: string) => void,
): Promise<HistoryResult> {
  await installCrds(client);
  await ensureFixture(client, size, log);
  // A daily schedule twelve hours away: the quiet window measures an operator with nothing due, whenever it runs
  // (the default 02:00 UTC would have it create scheduled runs when the bench runs at two).
  const cron = `0 ${(new Date().getUTCHours() + 12) % 24} * * *`;
  await client.apply(
    kinds.backupPolicy,
    { metadata: { name: 'bench-default' }, spec: { default: true, schedule: { cron } } } as never,
    { force: true },
  );
  await client.apply(kinds.namespace, { metadata: { name: 'safehold-system' } }, { force: true });
  const apiserver = pidOf(env, 'kube-apiserver');
  const before = { apiserver: rssMiB(apiserver), etcd: etcdDbMiB(env) };
  const secondsToWriteHistory =
    catalogue === 'runs'
      ? await ensureHistory(client, size, perVolume, log)
      : await ensureHistories(client, size, perVolume, log);
  await sleep(30_000); // the API server's caches settle before its memory is read
  // Read before the schedules are marked on the PVCs: that is the PVCs' growth, the same with any catalogue.
  const after = { apiserver: rssMiB(apiserver), etcd: etcdDbMiB(env) };
  await markSchedulesCurrent(client, size, log);
  log(
    `control plane: apiserver ${before.apiserver} -> ${after.apiserver} MiB, etcd db ${before.etcd} -> ${after.etcd} MiB`,
  );

  const started = Date.now();
  const lease = `bench-history-${started}`;
  const auditPath = join(env.dir, 'kube', 'audit.log');
  const auditStart = statSync(auditPath).size;
  const child = spawn(
    process.execPath,
    operatorArgv(env, lease, {
      // SAFEHOLD_BENCH_CPU_PROF=<dir>: a CPU profile of the operator, written when it exits.
      nodeFlags:
        process.env.SAFEHOLD_BENCH_CPU_PROF === undefined
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${process.env.SAFEHOLD_BENCH_CPU_PROF}`],
      args: ['--identity', 'bench'],
      metricsAddress: `127.0.0.1:${port}`,
    }),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pid = child.pid ?? 0;
  // Its whole log, to read what happened (a relist, a lost Lease) after the numbers.
  const operatorLog = createWriteStream(join(env.dir, 'bench-history-operator.log'));
  let stopAsked: number | undefined;
  let exitedOnItsOwn: HistoryResult['operator']['exitedOnItsOwn'];
  const lastLog: string[] = [];
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      if (stopAsked === undefined) exitedOnItsOwn = { afterMs: Date.now() - started, code, lastLog: [...lastLog] };
      resolve();
    }),
  );
  const logged = (msg: string) =>
    new Promise<number>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg: string; time: string };
        if (entry.msg === msg) resolve(Date.parse(entry.time) - started);
      });
    });
  createInterface({ input: child.stdout }).on('line', (line) => {
    operatorLog.write(`${line}\n`);
    lastLog.push(line);
    if (lastLog.length > 5) lastLog.shift();
  });
  const decisions = logged('every volume has a decision');
  const cachesSynced = logged('every cache is synced');
  const orGiveUp = <T>(p: Promise<T>) =>
    Promise.race([p, sleep(600_000, undefined, { ref: false }), exited.then(() => undefined)]);
  try {
    const decided = await orGiveUp(decisions);
    log(`operator: every decision after ${decided ?? 'never'} ms`);
    const afterDecisions = rssMiB(pid);
    // The quiet window starts once startup is over: every cache has had its first LIST.
    const synced = await orGiveUp(cachesSynced);
    log(`operator: every cache synced after ${synced ?? 'never'} ms`);
    const windowStart = new Date();
    const quietOffset = statSync(auditPath).size;
    const samples: number[] = [];
    const end = Date.now() + quietSeconds * 1000;
    while (Date.now() < end && child.exitCode === null) {
      samples.push(rssMiB(pid));
      await sleep(Math.min(5000, Math.max(0, end - Date.now())));
    }
    const quietRequests = await countRequests(auditPath, quietOffset, windowStart, new Date());
    const stall = await metric(port, 'safehold_event_loop_stall_max_seconds').catch(() => undefined);
    const renewals = await leaseUpdates(auditPath, auditStart, lease);
    const gaps = renewals.slice(1).map((t, i) => t - (renewals[i] as number));
    stopAsked = Date.now();
    child.kill('SIGTERM');
    const stopped = await Promise.race([
      exited.then(() => (exitedOnItsOwn === undefined ? Date.now() - (stopAsked ?? 0) : undefined)),
      sleep(30_000, undefined, { ref: false }),
    ]);
    const volumes = size.namespaces * size.claimsPerNamespace;
    return {
      catalogue,
      objects: catalogue === 'runs' ? volumes * perVolume : volumes,
      volumes,
      backupsPerVolume: perVolume,
      backups: size.namespaces * size.claimsPerNamespace * perVolume,
      secondsToWriteHistory,
      controlPlane: {
        apiserverRssMiB: { before: before.apiserver, after: after.apiserver },
        etcdDbMiB: { before: before.etcd, after: after.etcd },
      },
      operator: {
        msToAllDecisions: decided,
        msToCachesSynced: synced,
        // Every 5 s from the window's start: a peak early in it is what the start left, one late is steady work.
        rssMiB: { afterDecisions, steadyMax: Math.max(afterDecisions, ...samples), samples },
        longestEventLoopStallMs: stall === undefined ? undefined : Math.round(stall * 1000),
        leaseRenewals: {
          seen: renewals.length,
          expected: Math.floor((Date.now() - started) / 2000),
          longestGapMs: Math.max(0, ...gaps),
        },
        quietSeconds,
        quietRequests,
        stoppedBySigtermMs: stopped,
        exitedOnItsOwn,
      },
    };
  } finally {
    child.kill('SIGKILL');
  }
}

/** When the API server received each successful create or update of the bench's Lease. */
async function leaseUpdates(path: string, offset: number, lease: string): Promise<number[]> {
  const times: number[] = [];
  const lines = createInterface({ input: createReadStream(path, { start: offset }) });
  for await (const line of lines) {
    if (!line.includes(lease)) continue;
    const event = JSON.parse(line) as {
      stage?: string;
      verb?: string;
      requestReceivedTimestamp?: string;
      responseStatus?: { code?: number };
    };
    if (event.stage !== 'ResponseComplete' || (event.verb !== 'update' && event.verb !== 'create')) continue;
    if ((event.responseStatus?.code ?? 0) >= 300) continue;
    times.push(Date.parse(event.requestReceivedTimestamp ?? ''));
  }
  return times;
}
