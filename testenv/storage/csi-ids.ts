// Volume and snapshot ids in ceph-csi's shape, so that whoever reads them
// (Safehold, a person with the rbd CLI) finds what a real cluster would show:
//   0001-<clusterID length, 4 hex>-<clusterID>-<location id, 16 hex>-<uuid>
// The location is the pool id for RBD and the file system id for CephFS; the
// uuid names the object: image csi-vol-<uuid>, snapshot csi-snap-<uuid>.
import { createHash } from 'node:crypto';

export interface CsiId {
  clusterID: string;
  locationId: number;
  uuid: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function composeCsiId({ clusterID, locationId, uuid }: CsiId): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return `0001-${hex(clusterID.length, 4)}-${clusterID}-${hex(locationId, 16)}-${uuid}`;
}

/** Undefined for anything not in ceph-csi's shape (a static PV's hand-written handle, say). */
export function parseCsiId(id: string): CsiId | undefined {
  const head = /^0001-([0-9a-f]{4})-/.exec(id);
  if (head === null) return undefined;
  const length = parseInt(head[1] as string, 16);
  const clusterID = id.slice(10, 10 + length);
  const rest = /^-([0-9a-f]{16})-(.+)$/.exec(id.slice(10 + length));
  if (rest === null || !uuidPattern.test(rest[2] as string)) return undefined;
  return { clusterID, locationId: parseInt(rest[1] as string, 16), uuid: rest[2] as string };
}

/**
 * A uuid derived from a request name that stays the same across retries
 * (`pvc-<claim uid>`, `snapcontent-<snapshot uid>`): a retried create finds the
 * image, folder or snapshot the first try made, without a journal as ceph-csi keeps.
 */
export function uuidFor(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The uuid at the end of a ceph-csi id, or an Error that names the id. */
export function csiUuid(id: string, what: string): string {
  const parsed = parseCsiId(id);
  if (parsed === undefined) throw new Error(`${what} "${id}" is not a ceph-csi id (0001-LLLL-cluster-pool-uuid)`);
  return parsed.uuid;
}
