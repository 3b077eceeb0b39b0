// What the bucket-restore kind sees of one BucketRestore's world: whether its
// spec can be carried out, the ApplicationDump it names and whether that is a
// bucket dump, the stored dump it asks for and that dump's repository, the
// writer's Secret, the repository's maintenance, the slots of restores and
// downloads, and its mover's outcome.
import {
  applicationDumpSpec,
  bucketRestoreSpec,
  bucketRestoreLabel,
  runLabels,
  type BackupRepository,
  type BucketRestore,
} from '../../api/index.ts';
import {
  bucketRestoreFinished,
  chooseDump,
  runObjectBase,
  type BucketRestoreObservation,
  type ChosenDumpAnswer,
  type DumpLookup,
} from '../../core/index.ts';
import { type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { moverOutcome } from '../run/mover-outcome.ts';
import type { StartGate } from '../run/start-gate.ts';
import { writerSecret } from './writer-secret.ts';

export interface BucketRestoreObservationDeps {
  client: KubeClient;
  cache: ClusterCache;
  /** Safehold's namespace, where movers run. */
  namespace: string;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  gate: StartGate;
  maxConcurrentRestores: number;
}

export interface ObservedBucketRestore {
  observation: BucketRestoreObservation;
  repository: BackupRepository | undefined;
}

const kindSalt = 'bucket-restore:';

/** The base name of a restore's objects in Safehold's namespace (its Secret and Job). */
export function bucketRestoreObjectBase(restore: BucketRestore): string {
  return runObjectBase(restore, kindSalt);
}

export function bucketRestoreJobName(restore: BucketRestore): string {
  return `${bucketRestoreObjectBase(restore)}-br`;
}

export function bucketRestoreLabels(restore: BucketRestore): Record<string, string> {
  return {
    [bucketRestoreLabel]: restore.metadata.name,
    [runLabels.namespace]: restore.metadata.namespace,
    [runLabels.component]: 'mover',
  };
}

export async function observeBucketRestore(
  deps: BucketRestoreObservationDeps,
  restore: BucketRestore,
): Promise<ObservedBucketRestore> {
  const { cache } = deps;
  const ns = restore.metadata.namespace;
  const pending = (restore.status?.phase ?? 'Pending') === 'Pending';
  const settled = restore.status?.backup;
  const choice: ChosenDumpAnswer =
    settled !== undefined
      ? { ok: true, dump: settled }
      : chooseDump(cache.runsOfDump(`${ns}/${restore.spec.dump}`), {
          namespace: ns,
          dump: restore.spec.dump,
          backup: restore.spec.backup ?? 'latest',
          asOf: restore.spec.asOf,
        });
  const repository = choice.ok ? cache.repository(choice.dump.repository) : undefined;
  // The Secret is read from the API, and only before the start: a running restore has copied it.
  const secret = pending ? await writerSecret(deps.client, restore) : undefined;
  return {
    repository,
    observation: {
      restore,
      invalid: invalidSpec(restore),
      dump: dumpLookup(cache, restore),
      choice,
      repositoryFound: repository !== undefined,
      secret: secret !== undefined && 'missing' in secret ? secret.missing : undefined,
      maintenance: repository === undefined ? undefined : deps.maintenanceFor(repository, ns),
      readers: { running: runningReaders(deps, restore.metadata.uid), limit: deps.maxConcurrentRestores },
      job: moverOutcome(cache, deps.namespace, bucketRestoreJobName(restore)),
    },
  };
}

/** The ApplicationDump the restore names, and whether it dumps a bucket. */
function dumpLookup(cache: ClusterCache, restore: BucketRestore): DumpLookup {
  const dump = cache.applicationDumps.get(`${restore.metadata.namespace}/${restore.spec.dump}`);
  if (dump === undefined) return { kind: 'missing' };
  const parsed = applicationDumpSpec.safeParse(dump.spec);
  if (!parsed.success)
    return {
      kind: 'invalid',
      message: parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
    };
  const spec = parsed.data;
  if (spec.bucket !== undefined) {
    const { name, endpoint, region, prefix } = spec.bucket;
    return { kind: 'bucket', bucket: { name, endpoint, region, ...(prefix === undefined ? {} : { prefix }) } };
  }
  const source =
    spec.objects !== undefined
      ? "the namespace's objects (spec.objects)"
      : spec.git !== undefined
        ? 'a Git repository (spec.git)'
        : spec.etcd !== undefined
          ? 'etcd (spec.etcd)'
          : 'the output of a command (spec.command)';
  return { kind: 'other', source };
}

/** Every problem of the spec, each naming its field; undefined when it can be carried out. */
function invalidSpec(restore: BucketRestore): string | undefined {
  const problems: string[] = [];
  const parsed = bucketRestoreSpec.safeParse(restore.spec);
  if (!parsed.success)
    for (const issue of parsed.error.issues) problems.push(`spec.${issue.path.join('.')}: ${issue.message}`);
  if (restore.spec.asOf !== undefined && (restore.spec.backup ?? 'latest') !== 'latest')
    problems.push('spec.asOf: give either a time (asOf) or a backup, not both');
  return problems.length === 0 ? undefined : problems.join('; ');
}

/** Restores, downloads and bucket restores other than `uid` running, or started a moment ago and not yet in the caches. */
function runningReaders(deps: BucketRestoreObservationDeps, uid: string | undefined): number {
  const starting = deps.gate.starting('reads');
  const runs = [...deps.cache.restores.list(), ...deps.cache.downloads.list(), ...deps.cache.bucketRestores.list()];
  return runs.filter(
    (r) =>
      r.metadata.uid !== uid &&
      !bucketRestoreFinished(r) &&
      (r.status?.phase === 'Running' || starting.has(r.metadata.uid ?? '')),
  ).length;
}
