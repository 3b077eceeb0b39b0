// Whether a PVC has a volume to back up yet, and if not, why: a claim that is
// not bound holds no data, so it is neither "protected" (nothing was or can be
// backed up) nor a failing backup. The reason names the case a user can act on.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';

export type UnboundCause = 'StorageClassMissing' | 'WaitingForFirstConsumer' | 'Pending' | 'Lost';

export interface Unbound {
  cause: UnboundCause;
  reason: string;
}

/** The scheduler's pick of a node for a claim of a WaitForFirstConsumer class: set once a Pod uses it. */
const selectedNode = 'volume.kubernetes.io/selected-node';

/**
 * Why the claim is not bound, or undefined when it is. `storageClasses` is undefined when they
 * could not be read (a tenant may not list them): a class is then never called missing.
 */
export function unboundClaim(
  claim: PersistentVolumeClaim,
  storageClasses: ReadonlyMap<string, StorageClass> | undefined,
): Unbound | undefined {
  const phase = claim.status?.phase ?? 'Pending';
  if (phase === 'Bound') return undefined;
  if (phase === 'Lost')
    return {
      cause: 'Lost',
      reason: `the PVC lost its PV ${claim.spec?.volumeName ?? '(none named)'}: there is nothing to back up until it is recreated or restored`,
    };
  const className = claim.spec?.storageClassName;
  const storageClass = className === undefined ? undefined : storageClasses?.get(className);
  if (claim.spec?.volumeName === undefined && storageClasses !== undefined && className !== '') {
    if (className === undefined)
      return {
        cause: 'StorageClassMissing',
        reason: 'Pending: the PVC names no StorageClass and none is the default, so nothing provisions it',
      };
    if (storageClass === undefined)
      return {
        cause: 'StorageClassMissing',
        reason: `Pending: StorageClass ${className} does not exist, so nothing provisions the PVC`,
      };
  }
  if (
    storageClass?.volumeBindingMode === 'WaitForFirstConsumer' &&
    claim.metadata?.annotations?.[selectedNode] === undefined
  )
    return {
      cause: 'WaitingForFirstConsumer',
      reason: `Pending: StorageClass ${className ?? ''} binds a volume only for its first consumer, and no Pod uses the PVC yet`,
    };
  return {
    cause: 'Pending',
    reason: `Pending: waiting for ${claim.spec?.volumeName === undefined ? `a volume to be provisioned${className === undefined ? '' : ` (StorageClass ${className})`}` : `PV ${claim.spec.volumeName} to bind`}`,
  };
}
