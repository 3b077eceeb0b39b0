// What a BucketRestore does next, decided from what is observed. Before it
// starts: its spec, the ApplicationDump it names (it must be a bucket dump),
// where it writes and which keys, the writer's Secret, the stored dump it asks
// for and that dump's repository; then it waits while maintenance changes the
// repository or the operator's limit of restores and downloads run. Running,
// one mover Job writes the objects; its counts end the run.
import type {
  BucketRestore,
  BucketRestoreReason,
  ChosenDump,
  DumpRun,
  ParsedApplicationDumpSpec,
} from '../api/index.ts';
import { chooseBackup } from './backup-choice.ts';
import { maintenanceWait, readerSlotWait, type ReaderSlots } from './backup-reads.ts';
import { dumpCatalogue } from './dump-run.ts';
import { moverFailure, type MoverOutcome } from './mover-failure.ts';

/** The bucket an ApplicationDump's runs store (its spec.bucket, defaults filled in). */
export type DumpedBucket = Pick<NonNullable<ParsedApplicationDumpSpec['bucket']>, 'name' | 'endpoint' | 'region'> & {
  prefix?: string | undefined;
};

/** The ApplicationDump a BucketRestore names, as observed. */
export type DumpLookup =
  | { kind: 'missing' }
  /** It exists but its spec does not parse: why, field by field. */
  | { kind: 'invalid'; message: string }
  /** It dumps something other than a bucket (a command, objects, Git, etcd). */
  | { kind: 'other'; source: string }
  | { kind: 'bucket'; bucket: DumpedBucket };

/** Where a restore writes, and the keys it covers (all keys when prefix is absent). */
export interface BucketTarget {
  endpoint: string;
  bucket: string;
  region: string;
  prefix?: string | undefined;
}

export type ChosenDumpAnswer = { ok: true; dump: ChosenDump } | { ok: false; message: string };

export interface BucketRestoreObservation {
  restore: BucketRestore;
  /** Why the spec cannot be carried out as written (field and fix), if so. */
  invalid: string | undefined;
  dump: DumpLookup;
  choice: ChosenDumpAnswer;
  repositoryFound: boolean;
  /** What is wrong with the writer's Secret (spec.secretRef), if anything. */
  secret: string | undefined;
  maintenance: string | undefined;
  readers: ReaderSlots;
  job: MoverOutcome | undefined;
}

export type BucketRestoreStep =
  | { kind: 'wait'; reason: BucketRestoreReason; message: string; recheckMs: number }
  /** sourceBucket: the bucket the dump was taken of, which its manifest names. */
  | { kind: 'start'; backup: ChosenDump; sourceBucket: string; target: BucketTarget }
  | { kind: 'create-job' }
  | { kind: 'succeed'; objects: { written: number; unchanged: number; deleted: number } }
  | { kind: 'fail'; reason: BucketRestoreReason; message: string }
  | { kind: 'done' };

export function bucketRestoreFinished(restore: { status?: { phase?: string | undefined } | undefined }): boolean {
  return restore.status?.phase === 'Succeeded' || restore.status?.phase === 'Failed';
}

export function nextBucketRestoreStep(o: BucketRestoreObservation): BucketRestoreStep {
  const { restore } = o;
  const fail = (reason: BucketRestoreReason, message: string): BucketRestoreStep => ({ kind: 'fail', reason, message });
  switch (restore.status?.phase ?? 'Pending') {
    case 'Pending': {
      if (o.invalid !== undefined) return fail('InvalidSpec', o.invalid);
      const dumpRef = `ApplicationDump ${restore.metadata.namespace}/${restore.spec.dump}`;
      switch (o.dump.kind) {
        case 'missing':
          return fail('DumpNotFound', `spec.dump: ${dumpRef} not found`);
        case 'invalid':
          return fail('InvalidSpec', `spec.dump: ${dumpRef} is not valid: ${o.dump.message}`);
        case 'other':
          return fail(
            'InvalidSpec',
            `spec.dump: ${dumpRef} is not a bucket dump (it dumps ${o.dump.source}, and has no spec.bucket)`,
          );
        case 'bucket':
          break;
      }
      const target = bucketRestoreTarget(restore, o.dump.bucket);
      if (!target.ok) return fail('InvalidSpec', target.message);
      if (o.secret !== undefined) return fail('SecretNotFound', o.secret);
      if (!o.choice.ok) return fail('BackupNotFound', o.choice.message);
      if (!o.repositoryFound)
        return fail(
          'RepositoryNotFound',
          `BackupRepository ${o.choice.dump.repository} of DumpRun ${o.choice.dump.run} does not exist or is invalid`,
        );
      if (o.maintenance !== undefined) return maintenanceWait(o.maintenance);
      return (
        readerSlotWait(o.readers) ?? {
          kind: 'start',
          backup: o.choice.dump,
          sourceBucket: o.dump.bucket.name,
          target: target.target,
        }
      );
    }
    case 'Running': {
      if (o.job === undefined) return { kind: 'create-job' };
      if (!o.job.finished)
        return { kind: 'wait', reason: 'MoverRunning', message: 'the mover is writing the objects', recheckMs: 5000 };
      const result = o.job.result;
      if (result?.type === 'restored') {
        if (result.bucket === undefined)
          return fail('MoverFailed', "the mover's restore result has no bucket counts: is the mover image older?");
        return { kind: 'succeed', objects: result.bucket };
      }
      return { kind: 'fail', ...moverFailure(o.job) };
    }
    case 'Succeeded':
    case 'Failed':
      return { kind: 'done' };
  }
}

/**
 * Where a BucketRestore writes and which keys it covers. The dump's own bucket unless spec.into says
 * otherwise. The keys are the narrower of spec.prefix and the dump's prefix: a dump of `photos/` holds
 * nothing else, so a restore of the whole bucket (and its deleteNewer) stays within `photos/`.
 */
export function bucketRestoreTarget(
  restore: Pick<BucketRestore, 'metadata' | 'spec'>,
  dumped: DumpedBucket,
): { ok: true; target: BucketTarget } | { ok: false; message: string } {
  const { into, prefix: asked } = restore.spec;
  const bucket = into?.bucket ?? dumped.name;
  const endpoint = into?.endpoint ?? dumped.endpoint;
  const region = into?.region ?? dumped.region;
  const stored = dumped.prefix;
  let prefix: string | undefined;
  if (asked === undefined || (stored !== undefined && stored.startsWith(asked))) prefix = stored;
  else if (stored === undefined || asked.startsWith(stored)) prefix = asked;
  else
    return {
      ok: false,
      message: `spec.prefix: "${asked}" is outside the keys ApplicationDump ${restore.metadata.namespace}/${restore.spec.dump} stores (its spec.bucket.prefix is "${stored}")`,
    };
  return { ok: true, target: { endpoint, bucket, region, ...(prefix === undefined ? {} : { prefix }) } };
}

/**
 * The stored dump a BucketRestore asks for, among the DumpRuns of its ApplicationDump: the newest,
 * one by DumpRun name or snapshot id, or the newest stored at or before asOf (as a download of a
 * dump chooses).
 */
export function chooseDump(
  runs: readonly DumpRun[],
  question: { namespace: string; dump: string; backup: string; asOf?: string | undefined },
): ChosenDumpAnswer {
  const dump = `ApplicationDump ${question.namespace}/${question.dump}`;
  const catalogue = dumpCatalogue(runs);
  if (catalogue.length === 0)
    return { ok: false, message: `spec.dump: ${dump} has no stored dump yet (no Succeeded DumpRun)` };
  const answer = chooseBackup(catalogue, {
    namespace: question.namespace,
    pvc: question.dump,
    backup: question.backup,
    asOf: question.asOf,
  });
  if (!answer.ok) {
    const listing = `safehold backups --application ${question.namespace}/${question.dump} lists them`;
    if (question.asOf !== undefined)
      return { ok: false, message: `spec.asOf: ${dump} has no dump stored at or before ${question.asOf} (${listing})` };
    if (answer.message.includes('ambiguous'))
      return {
        ok: false,
        message: `spec.backup: snapshot id ${question.backup} is ambiguous among the dumps of ${dump}`,
      };
    return {
      ok: false,
      message: `spec.backup: ${dump} has no stored dump "${question.backup}" (a DumpRun name or snapshot id; ${listing})`,
    };
  }
  const { name, snapshotId, snapshotTime, repository } = answer.backup;
  return {
    ok: true,
    dump: {
      run: name,
      snapshotId: snapshotId ?? '',
      repository,
      ...(snapshotTime === undefined ? {} : { snapshotTime }),
    },
  };
}
