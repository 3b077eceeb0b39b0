// Exposing a volume to a mover Pod in Safehold's namespace, decided step by
// step from what exists. Through a snapshot: a CSI VolumeSnapshot of the
// claim, a clone PVC restored from it, then an alias of the clone's PV. Of the
// volume itself (a live backup, a CephFS snapshot made by the mover, a
// restore's target): an alias of the claim's PV. An alias is a PV with the
// same storage behind it, pre-bound to a claim in Safehold's namespace, so the
// mover never mounts a tenant's claim and the tenant never sees the mover.

/** What exists of one exposure. Undefined means "does not exist (yet)". */
export interface ExposureObservation {
  /** creationTime: when the snapshot captured the volume, as the snapshot controller records it. */
  snapshot: { ready: boolean; error: string | undefined; creationTime?: string | undefined } | undefined;
  clone: { bound: boolean } | undefined;
  /** volumeBound: the alias PV already names its claim as bound (the claim's side is what is left). */
  alias: { bound: boolean; volumeBound?: boolean | undefined } | undefined;
}

export type ExposeThrough = 'snapshot' | 'volume';

export type ExposeStep =
  | { kind: 'create-snapshot' }
  | { kind: 'create-clone' }
  | { kind: 'create-alias' }
  | { kind: 'nudge-alias' }
  | { kind: 'wait-exposure'; waitingFor: 'snapshot' | 'clone' | 'alias'; recheckMs: number }
  | { kind: 'snapshot-failed'; message: string }
  | { kind: 'exposed' };

export function nextExposeStep(through: ExposeThrough, o: ExposureObservation): ExposeStep {
  if (through === 'snapshot') {
    if (o.snapshot === undefined) return { kind: 'create-snapshot' };
    if (o.snapshot.error !== undefined) return { kind: 'snapshot-failed', message: o.snapshot.error };
    if (!o.snapshot.ready) return { kind: 'wait-exposure', waitingFor: 'snapshot', recheckMs: 2000 };
    if (o.clone === undefined) return { kind: 'create-clone' };
    if (!o.clone.bound) return { kind: 'wait-exposure', waitingFor: 'clone', recheckMs: 2000 };
  }
  if (o.alias === undefined) return { kind: 'create-alias' };
  // kube-controller-manager can bind the PV and then lose the race to bind the claim until its next
  // resync (15 s); touching the claim makes it finish now.
  if (!o.alias.bound && o.alias.volumeBound === true) return { kind: 'nudge-alias' };
  if (!o.alias.bound) return { kind: 'wait-exposure', waitingFor: 'alias', recheckMs: 2000 };
  return { kind: 'exposed' };
}
