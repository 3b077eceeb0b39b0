// What a DumpRun does next, decided from what is observed (ADR 0026). Before
// it starts: its ApplicationDump exists and is valid, a Running Pod matches
// the dump's selector and has the container, the repository exists, no
// maintenance holds it and a mover slot is free. Then a mover Job (its stdin
// open), then, once the mover runs, the operator streams the command's output
// into it, once per attempt: the start of the stream is written first, so a
// restarted operator never streams a second time into the same mover. A
// stream lost with an operator that stopped ends the attempt (StreamLost) and
// the run is tried again; the mover's result decides the rest. Pure.
import type { DumpRunReason, DumpRun, ParsedApplicationDumpSpec, VolumeBackup } from '../api/index.ts';
import { rulesFromPolicy } from './forget-args.ts';
import { applyRetention } from './retention.ts';
import { maintenanceWait } from './backup-reads.ts';
import { moverFailure, type MoverOutcome } from './mover-failure.ts';

/** How long a run waits for a Running Pod of its application before it fails. */
export const podWaitMs = 5 * 60_000;
/** How long a stream started by an operator that is gone may leave its mover running before the attempt is ended. */
export const lostStreamMs = 2 * 60_000;
/** Attempts of a run whose stream was lost (the operator restarted) or cut short on its way. */
export const dumpAttempts = 3;

/** The application Pod a dump runs in, or why there is none yet (or none at all); an objects dump needs none. */
export type DumpTarget =
  | { kind: 'found'; pod: string; container: string }
  | { kind: 'objects'; scope: 'Namespace' | 'Cluster' }
  /** A source the mover reads itself (a Git repository, a bucket): nothing is streamed; reason is the run's while it reads. */
  | { kind: 'mover-reads'; what: string; reason: 'Mirroring' | 'Reading' | 'Snapshotting' }
  | { kind: 'no-pod'; message: string }
  | { kind: 'no-container'; message: string };

export interface DumpObservation {
  now: Date;
  run: DumpRun;
  /** Why the run's ApplicationDump cannot run: missing, or a field that is wrong (names the object and field). */
  problem: { reason: 'DumpNotFound' | 'InvalidSpec' | 'RepositoryNotFound'; message: string } | undefined;
  target: DumpTarget;
  /** The repository the dump goes to, resolved. */
  repository: string | undefined;
  maintenance: string | undefined;
  /** Movers running now (backups and dumps share the operator's limit), and that limit. */
  slots: { running: number; limit: number };
  /**
   * Another dump run creating the repository (none has stored a dump or backup there yet): restic cannot
   * create one repository from two places at once, so the first goes alone.
   */
  repositoryBeingCreated?: string | undefined;
  job: MoverOutcome | undefined;
  /** The mover's Pod, once it exists: the stream starts when its container runs. */
  moverPod: { name: string; running: boolean } | undefined;
  /** Whether this operator process streams into the mover, or did until the command ended. */
  streaming: boolean;
}

export type DumpStep =
  | { kind: 'wait'; reason: DumpRunReason; message: string; recheckMs: number }
  /** pod and container: where the command runs (an objects dump runs none). */
  | { kind: 'start'; pod: string | undefined; container: string | undefined; repository: string }
  | { kind: 'create-job' }
  | { kind: 'stream'; moverPod: string }
  /** etcd: what `etcdutl snapshot status` said of an etcd snapshot. */
  | { kind: 'succeed'; snapshotId: string; bytes: number; etcd?: { revision: number; keys: number } }
  | { kind: 'retry'; reason: DumpRunReason; message: string }
  | { kind: 'fail'; reason: DumpRunReason; message: string }
  | { kind: 'done' };

export function dumpRunFinished(run: { status?: { phase?: string | undefined } | undefined }): boolean {
  return run.status?.phase === 'Succeeded' || run.status?.phase === 'Failed';
}

export function nextDumpStep(o: DumpObservation): DumpStep {
  const status = o.run.status ?? {};
  switch (status.phase ?? 'Pending') {
    case 'Pending':
      return pendingStep(o);
    case 'Running':
      return runningStep(o);
    case 'Succeeded':
    case 'Failed':
      return { kind: 'done' };
  }
}

function pendingStep(o: DumpObservation): DumpStep {
  if (o.problem !== undefined) return { kind: 'fail', ...o.problem };
  const name = `ApplicationDump ${o.run.metadata.namespace}/${o.run.spec.dump}`;
  if (o.target.kind === 'no-container') return { kind: 'fail', reason: 'ContainerNotFound', message: o.target.message };
  if (o.target.kind === 'no-pod') {
    const since = Date.parse(o.run.metadata.creationTimestamp ?? '');
    const waited = Number.isNaN(since) ? 0 : o.now.getTime() - since;
    if (waited >= podWaitMs)
      return {
        kind: 'fail',
        reason: 'PodNotFound',
        message: `${o.target.message} after ${Math.round(waited / 60_000)} minutes (${name} spec.podSelector)`,
      };
    return {
      kind: 'wait',
      reason: 'PodNotReady',
      message: `${o.target.message} (${name} spec.podSelector)`,
      recheckMs: 10_000,
    };
  }
  if (o.repository === undefined)
    return { kind: 'fail', reason: 'RepositoryNotFound', message: `${name}: no repository to write to` };
  if (o.maintenance !== undefined) return maintenanceWait(o.maintenance);
  if (o.slots.running >= o.slots.limit)
    return {
      kind: 'wait',
      reason: 'ConcurrencyLimit',
      message: `waiting for a free mover slot: ${o.slots.running} movers are running, the operator's limit (--max-concurrent-movers)`,
      recheckMs: 10_000,
    };
  if (o.repositoryBeingCreated !== undefined)
    return {
      kind: 'wait',
      reason: 'Waiting',
      message: `waiting for DumpRun ${o.repositoryBeingCreated} to create the repository`,
      recheckMs: 10_000,
    };
  const target = o.target.kind === 'found' ? o.target : { pod: undefined, container: undefined };
  return { kind: 'start', pod: target.pod, container: target.container, repository: o.repository };
}

function runningStep(o: DumpObservation): DumpStep {
  const status = o.run.status ?? {};
  const attempt = attemptOf(o.run);
  const lost = status.streamStartTime !== undefined && !o.streaming;
  const again = (reason: DumpRunReason, message: string): DumpStep =>
    attempt < dumpAttempts
      ? { kind: 'retry', reason, message: `${message}; trying again (attempt ${attempt + 1} of ${dumpAttempts})` }
      : { kind: 'fail', reason, message: `${message}; gave up after ${dumpAttempts} attempts` };
  if (o.job === undefined) return { kind: 'create-job' };
  if (o.job.finished) {
    const result = o.job.result;
    if (result?.type === 'summary')
      return {
        kind: 'succeed',
        snapshotId: result.snapshotId,
        bytes: result.bytesProcessed,
        ...(result.etcd === undefined ? {} : { etcd: { revision: result.etcd.revision, keys: result.etcd.keys } }),
      };
    const failure = moverFailure(o.job);
    if (lost) return again('StreamLost', `the operator stopped while it streamed the dump (${failure.message})`);
    if (failure.reason === 'DumpIncomplete') return again('DumpIncomplete', failure.message);
    return { kind: 'fail', ...failure };
  }
  // A Git repository or a bucket: the mover reads it itself, nothing is streamed.
  if (o.target.kind === 'mover-reads')
    return { kind: 'wait', reason: o.target.reason, message: `reading ${o.target.what}`, recheckMs: 10_000 };
  if (status.streamStartTime === undefined) {
    if (o.moverPod?.running === true) return { kind: 'stream', moverPod: o.moverPod.name };
    return { kind: 'wait', reason: 'MoverStarting', message: 'waiting for the mover to start', recheckMs: 5000 };
  }
  if (o.streaming)
    return { kind: 'wait', reason: 'Streaming', message: streamingMessage(o.run, o.target), recheckMs: 30_000 };
  // Streamed by an operator that is gone: its mover ends once its stdin closes; one that never got it is ended.
  const started = Date.parse(status.streamStartTime);
  if (Number.isNaN(started) || o.now.getTime() - started >= lostStreamMs)
    return again('StreamLost', 'the operator stopped while it streamed the dump, and the mover did not end');
  return {
    kind: 'wait',
    reason: 'StreamLost',
    message: 'the operator that streamed the dump stopped; waiting for the mover to end',
    recheckMs: 10_000,
  };
}

export function attemptOf(run: DumpRun): number {
  return run.status?.attempt ?? 1;
}

/**
 * An ApplicationDump's stored dumps as backups of a volume named after the dump, so a download
 * chooses among them as among a volume's backups (latest, a run's name, an id, asOf). The dump is
 * the one file at the root of its snapshot.
 */
export function dumpCatalogue(runs: readonly DumpRun[]): VolumeBackup[] {
  return runs.flatMap((run) => {
    const status = run.status;
    if (status?.phase !== 'Succeeded' || status.snapshotId === undefined) return [];
    return [
      {
        metadata: run.metadata,
        spec: { pvc: run.spec.dump, trigger: run.spec.trigger ?? 'manual' },
        status: {
          phase: 'Succeeded',
          snapshotId: status.snapshotId,
          snapshotPath: '/',
          ...(status.snapshotTime === undefined ? {} : { snapshotTime: status.snapshotTime }),
          ...(status.repository === undefined ? {} : { repository: status.repository }),
          ...(status.completionTime === undefined ? {} : { completionTime: status.completionTime }),
        },
      },
    ];
  });
}

/**
 * The stored dumps retention drops: per ApplicationDump ("namespace/name"), its succeeded runs
 * under its own rules, counted in its schedule's time zone. A dump whose declaration is gone,
 * or whose rules cannot be read, keeps every dump (an admin removes them by deleting the runs).
 */
export function dumpRetentionDrops(
  runs: readonly DumpRun[],
  declaration: (key: string) => Pick<ParsedApplicationDumpSpec, 'retention' | 'schedule'> | undefined,
): DumpRun[] {
  const byDump = new Map<string, { backup: DumpRun; id: string; time: Date }[]>();
  for (const run of runs) {
    const id = run.status?.snapshotId;
    const time = Date.parse(run.status?.snapshotTime ?? run.status?.completionTime ?? '');
    if (run.status?.phase !== 'Succeeded' || id === undefined || Number.isNaN(time)) continue;
    const key = `${run.metadata.namespace}/${run.spec.dump}`;
    byDump.set(key, [...(byDump.get(key) ?? []), { backup: run, id, time: new Date(time) }]);
  }
  const drops: DumpRun[] = [];
  for (const [key, entries] of byDump) {
    const spec = declaration(key);
    if (spec === undefined) continue;
    const rules = rulesFromPolicy(spec.retention);
    if ('error' in rules) continue;
    const verdicts = applyRetention(entries, rules.rules, spec.schedule?.timeZone ?? 'UTC');
    drops.push(...verdicts.filter((v) => !v.keep).map((v) => v.backup.backup));
  }
  return drops;
}

/** What a run's mover stores: a command's output in a Pod, or API objects. */
export function dumpedWhat(run: DumpRun, target: DumpTarget): string {
  const status = run.status ?? {};
  if (target.kind === 'mover-reads') return target.what;
  if (target.kind === 'objects')
    return target.scope === 'Cluster'
      ? 'the cluster-scoped API objects'
      : `the API objects of namespace ${run.metadata.namespace}`;
  return `the output of ${(status.command ?? []).join(' ')} in Pod ${status.pod ?? '?'}, container ${status.container ?? '?'}`;
}

/** What a run streams. */
export function streamingMessage(run: DumpRun, target: DumpTarget): string {
  return `streaming ${dumpedWhat(run, target)}`;
}
