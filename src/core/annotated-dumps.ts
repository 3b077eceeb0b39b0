// Application dumps declared on a Pod, the tenant's way, as K8up users do:
// `dump.safehold.io/command` (a JSON array, or a string run by /bin/sh -c),
// or K8up's own `k8up.io/backupcommand` (a string run by /bin/sh -c, as K8up
// runs it). Each becomes one ApplicationDump per workload (a Deployment, a
// StatefulSet, or the bare Pod), named after it, running on the schedule and
// with the retention of the policy that protects the Pod's volumes. Pure: the
// operator creates and updates the objects.
import { applicationDumpSpec, dumpFileName, type ApplicationDumpSpec, type BackupPolicySpec } from '../api/index.ts';

export const dumpAnnotations = {
  command: 'dump.safehold.io/command',
  container: 'dump.safehold.io/container',
  file: 'dump.safehold.io/file',
} as const;

/** K8up's keys, read as aliases: the command, its container, and the extension of the file it is stored as. */
export const k8upDumpAnnotations = {
  command: 'k8up.io/backupcommand',
  container: 'k8up.io/backupcommand-container',
  extension: 'k8up.io/file-extension',
} as const;

/** On the ApplicationDumps made from annotations: they follow the annotations, and nobody else's are touched. */
export const declaredByLabel = 'safehold.io/declared-by';
export const declaredByAnnotation = 'pod-annotation';

/** Labels a controller adds to each Pod of a workload: not part of what selects the workload's Pods. */
const perPodLabels = [
  'pod-template-hash',
  'controller-revision-hash',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
];

export interface AnnotatedPod {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  containers: readonly string[];
  /** The Pod's controller: a ReplicaSet (of a Deployment), a StatefulSet, ... */
  owner: { kind: string; name: string } | undefined;
}

export type AnnotatedDump =
  { kind: 'dump'; name: string; spec: ApplicationDumpSpec } | { kind: 'error'; message: string };

/** The workload a Pod belongs to: a ReplicaSet's Deployment (its name less the template hash), a StatefulSet, else the Pod. */
function workloadOf(pod: AnnotatedPod): string {
  const owner = pod.owner;
  if (owner?.kind === 'ReplicaSet') return owner.name.replace(/-[a-z0-9]{5,10}$/, '');
  if (owner !== undefined) return owner.name;
  return pod.name;
}

/** The ApplicationDump a Pod's annotations declare, if any, or what is wrong with them (naming the Pod and the key). */
export function annotatedDump(
  pod: AnnotatedPod,
  policy: Pick<BackupPolicySpec, 'schedule' | 'retention'> | undefined,
): AnnotatedDump | undefined {
  const own = pod.annotations[dumpAnnotations.command];
  const k8up = pod.annotations[k8upDumpAnnotations.command];
  const text = own ?? k8up;
  if (text === undefined) return undefined;
  const key = own === undefined ? k8upDumpAnnotations.command : dumpAnnotations.command;
  const where = `Pod ${pod.namespace}/${pod.name}: annotation`;
  let command: string[];
  if (own !== undefined && own.trim().startsWith('[')) {
    const parsed = parseStrings(own);
    if (parsed === undefined) return { kind: 'error', message: `${where} ${key} is not a JSON array of strings` };
    command = parsed;
  } else command = ['/bin/sh', '-c', text];
  if (text.trim() === '') return { kind: 'error', message: `${where} ${key} is empty` };
  const containerKey =
    pod.annotations[dumpAnnotations.container] !== undefined
      ? dumpAnnotations.container
      : k8upDumpAnnotations.container;
  const container = pod.annotations[containerKey] ?? pod.containers[0] ?? '';
  if (!pod.containers.includes(container))
    return { kind: 'error', message: `${where} ${containerKey} names "${container}", which it does not have` };
  const workload = workloadOf(pod);
  const extension = (pod.annotations[k8upDumpAnnotations.extension] ?? '').replace(/^\.?/, '.').replace(/^\.$/, '');
  const fileName = pod.annotations[dumpAnnotations.file] ?? `${workload}-${container}${extension}`;
  if (!dumpFileName.safeParse(fileName).success)
    return {
      kind: 'error',
      message: `${where} ${dumpAnnotations.file}: "${fileName}" is not a file name of letters, digits, ".", "_" and "-"`,
    };
  const matchLabels = Object.fromEntries(Object.entries(pod.labels).filter(([k]) => !perPodLabels.includes(k)));
  const spec: ApplicationDumpSpec = {
    podSelector: Object.keys(matchLabels).length === 0 ? { matchLabels: pod.labels } : { matchLabels },
    container,
    command,
    fileName,
    ...(policy === undefined ? {} : { schedule: policy.schedule, retention: policy.retention }),
  };
  const valid = applicationDumpSpec.safeParse(spec);
  if (!valid.success) {
    const issue = valid.error.issues[0];
    return { kind: 'error', message: `${where} ${key}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}` };
  }
  return { kind: 'dump', name: `${workload}-dump`.slice(0, 63).replace(/-+$/, ''), spec };
}

function parseStrings(text: string): string[] | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // not JSON
  }
  return undefined;
}
