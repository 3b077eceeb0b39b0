// Objects Kubernetes itself makes and keeps: the bootstrap RBAC roles, the
// control plane's namespaces, the system PriorityClasses, the API priority and
// fairness defaults. A restore leaves such an object as it is when it differs
// from the backup, even with --force: the API server would put its own version
// back (or refuse the change), and the backup's copy is of another version of
// Kubernetes as often as not. A user's label (the default StorageClass
// annotation, say) makes nothing managed.
import { groupKind, groupOf } from './resource-selection.ts';
import type { ApiObject } from './resource-sanitize.ts';

const controlPlaneNamespaces = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
const systemPriorityClasses = new Set(['system-cluster-critical', 'system-node-critical']);
const flowControlKinds = new Set([
  'FlowSchema.flowcontrol.apiserver.k8s.io',
  'PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io',
]);

/** Why Kubernetes manages the object as it exists now, or undefined when it is the cluster's users'. */
export function managedByKubernetes(live: ApiObject): string | undefined {
  const labels = live.metadata.labels ?? {};
  const annotations = live.metadata.annotations ?? {};
  const key = groupKind(groupOf(live.apiVersion), live.kind);
  if (labels['kubernetes.io/bootstrapping'] === 'rbac-defaults')
    return 'the API server makes and updates it (label kubernetes.io/bootstrapping=rbac-defaults)';
  if (key === 'Namespace' && controlPlaneNamespaces.has(live.metadata.name))
    return "a namespace of the control plane's own";
  if (key === 'PriorityClass.scheduling.k8s.io' && systemPriorityClasses.has(live.metadata.name))
    return 'the API server makes it, and refuses any change to it';
  if (flowControlKinds.has(key) && annotations['apf.kubernetes.io/autoupdate-spec'] === 'true')
    return 'the API server keeps its spec (annotation apf.kubernetes.io/autoupdate-spec=true)';
  return undefined;
}
