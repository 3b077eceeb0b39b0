// Claims Safehold makes for itself (a snapshot's clone, a restore's new PVC)
// are mounted by no Pod of theirs: a mover mounts an alias of their volume.
// On a StorageClass that binds only for its first consumer
// (WaitForFirstConsumer) they would wait forever, so Safehold does what the
// scheduler does for a Pod: it picks a node and names it on the claim.
import type { Node } from 'kubernetes-types/core/v1.js';
import { kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';

export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';
const defaultClassAnnotation = 'storageclass.kubernetes.io/is-default-class';

/**
 * The annotation a new claim of this class needs to be provisioned: the node its source volume
 * is on when known (preferred), else any Ready, schedulable node. Empty for classes that bind at once.
 */
export async function firstConsumerAnnotations(
  deps: { client: KubeClient; cache: ClusterCache },
  storageClassName: string | undefined,
  preferredNode?: string,
): Promise<Record<string, string>> {
  const classes = deps.cache.storageClasses.list();
  const storageClass =
    storageClassName === undefined
      ? classes.find((c) => c.metadata?.annotations?.[defaultClassAnnotation] === 'true')
      : classes.find((c) => c.metadata?.name === storageClassName);
  if (storageClass?.volumeBindingMode !== 'WaitForFirstConsumer') return {};
  if (preferredNode !== undefined) return { [selectedNodeAnnotation]: preferredNode };
  const nodes = (await deps.client.list<Node>(kinds.node)).items;
  const ready = nodes.find(
    (n) =>
      n.spec?.unschedulable !== true &&
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
  );
  return ready?.metadata?.name === undefined ? {} : { [selectedNodeAnnotation]: ready.metadata.name };
}
