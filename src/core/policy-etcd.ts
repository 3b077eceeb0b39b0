// The etcd dump a policy keeps (BackupPolicy spec.etcd): one ApplicationDump
// `safehold-etcd` in Safehold's namespace, with the policy's etcd settings,
// on its schedule and retention unless spec.etcd names its own, into its
// repository. Where several policies have spec.etcd, the one of highest
// priority (then name) does. Pure: the operator creates, updates and deletes
// the object (policy-dumps.ts).
import type { ApplicationDumpSpec, BackupPolicy } from '../api/index.ts';
import type { DesiredObjectsDump } from './policy-objects.ts';

export const etcdDumpName = 'safehold-etcd';

/** The etcd dump the policy of highest priority with spec.etcd calls for, if any. */
export function policyEtcdDumps(input: {
  policies: readonly BackupPolicy[];
  operatorNamespace: string;
}): DesiredObjectsDump[] {
  const policy = input.policies
    .filter((p) => p.spec.etcd !== undefined)
    .sort((a, b) => b.spec.priority - a.spec.priority || a.metadata.name.localeCompare(b.metadata.name))[0];
  const etcd = policy?.spec.etcd;
  if (policy === undefined || etcd === undefined) return [];
  const { schedule, retention, ...source } = etcd;
  const spec: ApplicationDumpSpec = {
    etcd: source,
    schedule: schedule ?? policy.spec.schedule,
    retention: retention ?? policy.spec.retention,
    ...(policy.spec.repository === undefined ? {} : { repository: policy.spec.repository.name }),
  };
  return [{ namespace: input.operatorNamespace, name: etcdDumpName, policy: policy.metadata.name, spec }];
}
