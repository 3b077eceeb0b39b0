// The etcd row of the cluster's state (issue 21): protected by an etcd dump
// (an ApplicationDump with spec.etcd, which a policy's spec.etcd keeps as
// safehold-etcd), or UNPROTECTED with why: no dump, or its last run failed
// (with that run's own words). Pure: objects-coverage.ts adds the row.
import { applicationDumpSpec, type ApplicationDump } from '../api/index.ts';
import type { ObjectsRow } from './objects-coverage.ts';
import { nextRun } from './schedule.ts';

/** A DumpRun's message, by its namespace and name (what its failure said). */
export type RunMessage = (namespace: string, run: string) => string | undefined;

export function etcdRow(dumps: readonly ApplicationDump[], now: Date, runMessage?: RunMessage): ObjectsRow {
  const candidates = dumps.flatMap((dump) => {
    const parsed = applicationDumpSpec.safeParse(dump.spec);
    if (!parsed.success || parsed.data.etcd === undefined) return [];
    const key = `${dump.metadata.namespace}/${dump.metadata.name}`;
    const { schedule, suspend } = parsed.data;
    const next = schedule === undefined || suspend ? undefined : nextRun(schedule, key, now)?.toISOString();
    return [{ dump, key, next, suspend, endpoints: parsed.data.etcd.endpoints }];
  });
  // One that runs on a schedule first, then the newest success.
  const best = candidates.sort(
    (a, b) =>
      Number(b.next !== undefined) - Number(a.next !== undefined) ||
      (b.dump.status?.lastSuccess?.time ?? '').localeCompare(a.dump.status?.lastSuccess?.time ?? ''),
  )[0];
  const base = { scope: 'Etcd' as const, name: 'etcd' };
  if (best === undefined)
    return {
      ...base,
      namespace: undefined,
      state: 'unprotected',
      dump: undefined,
      lastBackup: undefined,
      nextRun: undefined,
      reason:
        "no etcd dump: no BackupPolicy has spec.etcd (nor is there an ApplicationDump with spec.etcd in Safehold's namespace)",
    };
  const { dump, key, next, suspend, endpoints } = best;
  const lastSuccess = dump.status?.lastSuccess?.time;
  const lastRun = dump.status?.lastRun;
  const row = {
    ...base,
    namespace: dump.metadata.namespace,
    url: endpoints.join(', '),
    dump: key,
    lastBackup: lastSuccess,
    nextRun: next,
  };
  if (lastRun?.phase === 'Failed' && (lastSuccess === undefined || lastRun.time > lastSuccess)) {
    const said = runMessage?.(dump.metadata.namespace, lastRun.name);
    const since = lastSuccess === undefined ? 'no snapshot stored yet' : `the last good snapshot is of ${lastSuccess}`;
    return {
      ...row,
      state: 'unprotected',
      reason: `the last etcd snapshot failed (DumpRun ${dump.metadata.namespace}/${lastRun.name}${said === undefined ? '' : `: ${said}`}); ${since}`,
    };
  }
  const how =
    next !== undefined ? 'on its schedule' : suspend ? 'suspended: only when asked' : 'no schedule: only when asked';
  return { ...row, state: 'protected', reason: `snapshotted by ApplicationDump ${key} (${how})` };
}
