// Coverage of the cluster's state besides volumes (M11): one row per
// namespace's API objects and one for the cluster-scoped objects, each
// protected by an objects dump (an ApplicationDump with spec.objects),
// excluded, or UNPROTECTED; and one per GitOps repository (each Flux
// GitRepository, each Git dump), protected by a Git dump (spec.git) or not.
// Computed from plain objects, so `safehold status --objects` (reading the
// API) and the operator (from its informers) agree.
import type { Namespace } from 'kubernetes-types/core/v1.js';
import {
  annotations,
  applicationDumpSpec,
  readBackupFlag,
  type ApplicationDump,
  type PolicyBucketsStatus,
} from '../api/index.ts';
import { etcdRow, type RunMessage } from './etcd-coverage.ts';
import { nextRun } from './schedule.ts';

/** The control plane's own namespaces: their objects come back with the control plane, not from a backup. */
export const controlPlaneNamespaces: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

export interface ObjectsRow {
  scope: 'Namespace' | 'Cluster' | 'Git' | 'Bucket' | 'Etcd';
  /** The namespace; for the cluster-scoped objects (and etcd), where the dump that protects them is (if any). */
  namespace: string | undefined;
  /** A Git row: the GitRepository (or, for a repository only a dump names, the dump), and its URL; a Bucket row: the bucket. */
  name?: string | undefined;
  url?: string | undefined;
  state: 'protected' | 'excluded' | 'unprotected';
  /** The ApplicationDump that protects them ("namespace/name"). */
  dump: string | undefined;
  lastBackup: string | undefined;
  nextRun: string | undefined;
  reason: string;
}

interface ObjectsDump {
  key: string;
  scope: 'Namespace' | 'Cluster' | 'Git' | 'Bucket';
  url: string | undefined;
  bucket: string | undefined;
  namespace: string;
  lastSuccess: string | undefined;
  nextRun: string | undefined;
  suspended: boolean;
}

function objectsDumps(dumps: readonly ApplicationDump[], now: Date): ObjectsDump[] {
  return dumps.flatMap((dump) => {
    const parsed = applicationDumpSpec.safeParse(dump.spec);
    if (!parsed.success) return [];
    const { objects, git, bucket } = parsed.data;
    if (objects === undefined && git === undefined && bucket === undefined) return [];
    const schedule = parsed.data.schedule;
    return [
      {
        key: `${dump.metadata.namespace}/${dump.metadata.name}`,
        scope: objects?.scope ?? (git === undefined ? 'Bucket' : 'Git'),
        url: git?.url ?? bucket?.endpoint,
        bucket: bucket?.name,
        namespace: dump.metadata.namespace,
        lastSuccess: dump.status?.lastSuccess?.time,
        nextRun:
          schedule === undefined || parsed.data.suspend
            ? undefined
            : nextRun(schedule, `${dump.metadata.namespace}/${dump.metadata.name}`, now)?.toISOString(),
        suspended: parsed.data.suspend,
      },
    ];
  });
}

/** The best of several dumps: one that runs on a schedule, then the newest success. */
function best(candidates: readonly ObjectsDump[]): ObjectsDump | undefined {
  return [...candidates].sort(
    (a, b) =>
      Number(b.nextRun !== undefined) - Number(a.nextRun !== undefined) ||
      (b.lastSuccess ?? '').localeCompare(a.lastSuccess ?? ''),
  )[0];
}

function protectedBy(
  dump: ObjectsDump,
  what: string,
): Pick<ObjectsRow, 'state' | 'dump' | 'lastBackup' | 'nextRun' | 'reason'> {
  const how =
    dump.nextRun !== undefined
      ? 'on its schedule'
      : dump.suspended
        ? 'suspended: only when asked'
        : 'no schedule: only when asked';
  return {
    state: 'protected',
    dump: dump.key,
    lastBackup: dump.lastSuccess,
    nextRun: dump.nextRun,
    reason: `${what} by ApplicationDump ${dump.key} (${how})`,
  };
}

/**
 * One row per namespace given (every namespace, or the one a user may see) and, with
 * `cluster`, one for the cluster-scoped objects.
 */
export function objectsCoverage(input: {
  namespaces: readonly Namespace[];
  dumps: readonly ApplicationDump[];
  cluster: boolean;
  /** Flux's GitRepositories (of the namespaces shown). */
  gitRepositories?: readonly { namespace: string; name: string; url: string }[];
  /** The object store's buckets, as the bucket discovery last found them (a policy's status.buckets). */
  buckets?: PolicyBucketsStatus | undefined;
  /** A DumpRun's message: why the etcd dump's last run failed. */
  runMessage?: RunMessage | undefined;
  now: Date;
}): ObjectsRow[] {
  const dumps = objectsDumps(input.dumps, input.now);
  const rows: ObjectsRow[] = [];
  for (const ns of input.namespaces) {
    const name = ns.metadata?.name ?? '';
    const base = {
      scope: 'Namespace' as const,
      namespace: name,
      dump: undefined,
      lastBackup: undefined,
      nextRun: undefined,
    };
    const dump = best(dumps.filter((d) => d.scope === 'Namespace' && d.namespace === name));
    if (dump !== undefined) {
      rows.push({ ...base, ...protectedBy(dump, 'objects stored') });
      continue;
    }
    const flag = readBackupFlag(ns.metadata?.annotations, ns.metadata?.labels, { annotations: [], labels: [] });
    if (flag.kind === 'set' && !flag.value) {
      rows.push({ ...base, state: 'excluded', reason: `excluded by Namespace annotation ${annotations.backup}=false` });
      continue;
    }
    if (controlPlaneNamespaces.has(name)) {
      rows.push({
        ...base,
        state: 'excluded',
        reason: "the control plane's own namespace: it comes back with the control plane",
      });
      continue;
    }
    rows.push({
      ...base,
      state: 'unprotected',
      reason: 'no objects dump in this namespace (an ApplicationDump with spec.objects)',
    });
  }
  // GitOps repositories: each Flux GitRepository, protected by a Git dump of its URL (wherever it is).
  const gitDumps = dumps.filter((d) => d.scope === 'Git');
  const covered = new Set<string>();
  for (const repo of input.gitRepositories ?? []) {
    const dump = best(gitDumps.filter((d) => d.url === repo.url));
    const base = { scope: 'Git' as const, namespace: repo.namespace, name: repo.name, url: repo.url };
    if (dump !== undefined) {
      covered.add(dump.key);
      rows.push({ ...base, ...protectedBy(dump, 'mirrored') });
    } else
      rows.push({
        ...base,
        state: 'unprotected',
        dump: undefined,
        lastBackup: undefined,
        nextRun: undefined,
        reason: 'no Git dump of this URL (an ApplicationDump with spec.git, or a policy with spec.git)',
      });
  }
  // And the repositories only a Git dump names.
  for (const dump of gitDumps.filter((d) => !covered.has(d.key)))
    rows.push({
      scope: 'Git',
      namespace: dump.namespace,
      name: dump.key.slice(dump.namespace.length + 1),
      url: dump.url,
      ...protectedBy(dump, 'mirrored'),
    });
  rows.push(
    ...bucketRows(
      input.buckets,
      dumps.filter((d) => d.scope === 'Bucket'),
    ),
  );
  if (input.cluster) {
    const dump = best(dumps.filter((d) => d.scope === 'Cluster'));
    rows.push(
      dump === undefined
        ? {
            scope: 'Cluster',
            namespace: undefined,
            state: 'unprotected',
            dump: undefined,
            lastBackup: undefined,
            nextRun: undefined,
            reason:
              "no objects dump of the cluster-scoped objects (spec.objects.scope: Cluster, in Safehold's namespace)",
          }
        : { scope: 'Cluster', namespace: dump.namespace, ...protectedBy(dump, 'cluster-scoped objects stored') },
    );
    rows.push(etcdRow(input.dumps, input.now, input.runMessage));
  }
  return rows;
}

/**
 * One row per bucket the discovery found: covered and stored by its bucket dump, excluded, or
 * UNPROTECTED with why; then the buckets only a dump names; and, when the store could not be read, why.
 */
function bucketRows(found: PolicyBucketsStatus | undefined, dumps: readonly ObjectsDump[]): ObjectsRow[] {
  const none = { dump: undefined, lastBackup: undefined, nextRun: undefined };
  const rows: ObjectsRow[] = [];
  const shown = new Set<string>();
  if (found?.error !== undefined)
    rows.push({
      scope: 'Bucket',
      namespace: undefined,
      name: '*',
      url: found.endpoint,
      state: 'unprotected',
      ...none,
      reason: `the object store's buckets are not known: ${found.error}`,
    });
  for (const bucket of found?.items ?? []) {
    const base = { scope: 'Bucket' as const, namespace: bucket.claim, name: bucket.name, url: found?.endpoint };
    const dump = best(dumps.filter((d) => d.bucket === bucket.name));
    if (dump !== undefined) {
      shown.add(dump.key);
      if (bucket.state !== 'Excluded') {
        rows.push({ ...base, ...protectedBy(dump, 'stored') });
        continue;
      }
    }
    if (bucket.state === 'Excluded')
      rows.push({ ...base, state: 'excluded', ...none, reason: bucket.reason ?? 'excluded' });
    else
      rows.push({
        ...base,
        state: 'unprotected',
        ...none,
        reason:
          bucket.state === 'Uncovered'
            ? (bucket.reason ?? 'not covered')
            : 'read grant in place; its bucket dump is not made yet',
      });
  }
  for (const dump of dumps.filter((d) => !shown.has(d.key)))
    rows.push({
      scope: 'Bucket',
      namespace: dump.namespace,
      name: dump.bucket,
      url: dump.url,
      ...protectedBy(dump, 'stored'),
    });
  return rows;
}
