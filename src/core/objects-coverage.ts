// Coverage of the cluster's API objects (M11): one row per namespace and one
// for the cluster-scoped objects, each protected by an objects dump (an
// ApplicationDump with spec.objects), excluded, or UNPROTECTED, and why.
// Computed from plain objects, so `safehold status --objects` (reading the
// API) and the operator (from its informers) agree.
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { annotations, applicationDumpSpec, readBackupFlag, type ApplicationDump } from '../api/index.ts';
import { nextRun } from './schedule.ts';

/** The control plane's own namespaces: their objects come back with the control plane, not from a backup. */
export const controlPlaneNamespaces: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

export interface ObjectsRow {
  scope: 'Namespace' | 'Cluster';
  /** The namespace; for the cluster-scoped objects, where the dump that protects them is (if any). */
  namespace: string | undefined;
  state: 'protected' | 'excluded' | 'unprotected';
  /** The ApplicationDump that protects them ("namespace/name"). */
  dump: string | undefined;
  lastBackup: string | undefined;
  nextRun: string | undefined;
  reason: string;
}

interface ObjectsDump {
  key: string;
  scope: 'Namespace' | 'Cluster';
  namespace: string;
  lastSuccess: string | undefined;
  nextRun: string | undefined;
  suspended: boolean;
}

function objectsDumps(dumps: readonly ApplicationDump[], now: Date): ObjectsDump[] {
  return dumps.flatMap((dump) => {
    const parsed = applicationDumpSpec.safeParse(dump.spec);
    if (!parsed.success || parsed.data.objects === undefined) return [];
    const schedule = parsed.data.schedule;
    return [
      {
        key: `${dump.metadata.namespace}/${dump.metadata.name}`,
        scope: parsed.data.objects.scope,
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
  }
  return rows;
}
