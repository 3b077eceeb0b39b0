// The exposer: turns a volume, or a snapshot of it, into a claim in
// Safehold's namespace that a mover Pod can mount (see core/exposure.ts for
// the order of steps). In the volume's namespace, owned by the run: the
// VolumeSnapshot and the clone restored from it. In Safehold's namespace and
// cluster-wide, with the run's labels and owner record: the alias claim and
// its PV (Retain, so deleting the alias never touches the data). Backups,
// restores and (later) drills expose through it.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { timestamp } from '../../api/index.ts';
import { snapshotClassFor, type ExposeStep, type ExposeThrough, type ExposureObservation } from '../../core/index.ts';
import { ignoreAlreadyExists, ignoreNotFound, kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { firstConsumerAnnotations, selectedNodeAnnotation } from './first-consumer.ts';

export interface ExposerDeps {
  client: KubeClient;
  cache: ClusterCache;
  /** Safehold's namespace, where aliases and movers live. */
  namespace: string;
}

/** One run's exposure of one volume: where it is, how it is exposed, and what its objects are called. */
export interface Exposure {
  /** The volume's namespace and claim. */
  namespace: string;
  claim: string;
  through: ExposeThrough;
  /** Only a mover that writes (a restore, a CephFS snapshot in .snap) gets a writable alias. */
  readOnly: boolean;
  /** Through a snapshot only: the VolumeSnapshot and its clone in the volume's namespace. */
  snapshotName?: string | undefined;
  cloneName?: string | undefined;
  /** The alias claim in Safehold's namespace; its PV is "safehold-" + this. */
  aliasName: string;
  /** On the snapshot and the clone (the volume's namespace). */
  labels: Record<string, string>;
  ownerReference: { apiVersion: string; kind: string; name: string; uid: string; controller: boolean };
  /** On the alias claim and PV (Safehold's namespace, cluster-wide): labels and owner record annotations. */
  aliasLabels: Record<string, string>;
  aliasAnnotations: Record<string, string>;
}

export class Exposer {
  readonly #deps: ExposerDeps;

  constructor(deps: ExposerDeps) {
    this.#deps = deps;
  }

  observe(exposure: Exposure): ExposureObservation {
    const { cache, namespace } = this.#deps;
    const inVolumeNamespace = <T>(informer: { get: (key: string) => T | undefined }, name: string | undefined) =>
      exposure.through !== 'snapshot' || name === undefined ? undefined : informer.get(`${exposure.namespace}/${name}`);
    const snapshot = inVolumeNamespace(cache.snapshots, exposure.snapshotName);
    const clone = inVolumeNamespace(cache.claims, exposure.cloneName);
    const alias = cache.claims.get(`${namespace}/${exposure.aliasName}`);
    return {
      snapshot:
        snapshot === undefined
          ? undefined
          : {
              ready: snapshot.status?.readyToUse === true,
              error: snapshot.status?.error?.message,
              creationTime: snapshot.status?.creationTime,
            },
      clone: clone === undefined ? undefined : { bound: clone.status?.phase === 'Bound' },
      alias:
        alias === undefined
          ? undefined
          : {
              bound: alias.status?.phase === 'Bound',
              volumeBound: cache.volumes.get(aliasVolumeName(exposure.aliasName))?.status?.phase === 'Bound',
            },
    };
  }

  /** Carries out one step towards the exposure; the run comes back when what it made changes. */
  async carryOut(
    exposure: Exposure,
    step: Extract<ExposeStep, { kind: 'create-snapshot' | 'create-clone' | 'create-alias' | 'nudge-alias' }>,
    now: Date,
  ): Promise<void> {
    switch (step.kind) {
      case 'create-snapshot':
        return this.#createSnapshot(exposure);
      case 'create-clone':
        return this.#createClone(exposure);
      case 'create-alias':
        return this.#createAlias(exposure);
      case 'nudge-alias':
        return ignoreNotFound(() =>
          this.#deps.client.mergePatch(
            kinds.persistentVolumeClaim,
            { namespace: this.#deps.namespace, name: exposure.aliasName },
            { metadata: { annotations: { 'safehold.io/bind-requested': timestamp(now) } } },
          ),
        );
    }
  }

  /** The alias claim and PV, then the clone, then (unless kept) the snapshot. The data behind them stays. */
  async remove(
    exposure: Pick<Exposure, 'namespace' | 'snapshotName' | 'cloneName' | 'aliasName'>,
    snapshotToo: boolean,
  ) {
    const { client, namespace } = this.#deps;
    await ignoreNotFound(() => client.delete(kinds.persistentVolumeClaim, { namespace, name: exposure.aliasName }));
    await ignoreNotFound(() => client.delete(kinds.persistentVolume, { name: aliasVolumeName(exposure.aliasName) }));
    // Never a delete without a name: that would be a delete of the whole collection.
    const { cloneName, snapshotName } = exposure;
    if (cloneName !== undefined && cloneName !== '')
      await ignoreNotFound(() =>
        client.delete(kinds.persistentVolumeClaim, { namespace: exposure.namespace, name: cloneName }),
      );
    if (snapshotToo && snapshotName !== undefined && snapshotName !== '')
      await ignoreNotFound(() =>
        client.delete(kinds.volumeSnapshot, { namespace: exposure.namespace, name: snapshotName }),
      );
  }

  async #createSnapshot(exposure: Exposure): Promise<void> {
    const { cache, client } = this.#deps;
    const pvName = cache.claims.get(`${exposure.namespace}/${exposure.claim}`)?.spec?.volumeName;
    const driver = pvName === undefined ? undefined : cache.volumes.get(pvName)?.spec?.csi?.driver;
    const chosen = snapshotClassFor(cache.snapshotClasses.list(), driver);
    await ignoreAlreadyExists(() =>
      client.create(kinds.volumeSnapshot, {
        metadata: {
          name: exposure.snapshotName ?? '',
          namespace: exposure.namespace,
          labels: exposure.labels,
          ownerReferences: [exposure.ownerReference],
        },
        spec: {
          source: { persistentVolumeClaimName: exposure.claim },
          ...(chosen?.metadata?.name === undefined ? {} : { volumeSnapshotClassName: chosen.metadata.name }),
        },
      } as never),
    );
  }

  async #createClone(exposure: Exposure): Promise<void> {
    const { cache, client } = this.#deps;
    const source = cache.claims.get(`${exposure.namespace}/${exposure.claim}`);
    const size = source?.status?.capacity?.storage ?? source?.spec?.resources?.requests?.storage ?? '1Gi';
    // The clone goes where the volume is, if the class binds only for a first consumer.
    const node = source?.metadata?.annotations?.[selectedNodeAnnotation];
    const claim: PersistentVolumeClaim = {
      metadata: {
        name: exposure.cloneName ?? '',
        namespace: exposure.namespace,
        labels: exposure.labels,
        ownerReferences: [exposure.ownerReference],
        annotations: await firstConsumerAnnotations(this.#deps, source?.spec?.storageClassName, node),
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: size } },
        ...(source?.spec?.storageClassName === undefined ? {} : { storageClassName: source.spec.storageClassName }),
        volumeMode: source?.spec?.volumeMode ?? 'Filesystem',
        dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: exposure.snapshotName ?? '' },
      },
    };
    await ignoreAlreadyExists(() => client.create(kinds.persistentVolumeClaim, claim));
  }

  /**
   * The PV first; the claim once the PV controller has seen the PV (Available). Then the claim's own
   * sync binds both at once. The other orders leave the claim waiting for the PV controller's resync (15 s).
   */
  async #createAlias(exposure: Exposure): Promise<void> {
    const { cache, client, namespace } = this.#deps;
    const claimName = exposure.through === 'snapshot' ? (exposure.cloneName ?? '') : exposure.claim;
    const source = cache.volumes.get(cache.claims.get(`${exposure.namespace}/${claimName}`)?.spec?.volumeName ?? '');
    if (source?.spec === undefined) return; // not bound yet: the run comes back when it is
    const name = exposure.aliasName;
    const metadata = { labels: exposure.aliasLabels, annotations: exposure.aliasAnnotations };
    const existing = cache.volumes.get(aliasVolumeName(name));
    if (existing === undefined) {
      await ignoreAlreadyExists(() => client.create(kinds.persistentVolume, aliasVolume(source, exposure, namespace)));
      return;
    }
    if (existing.status?.phase !== 'Available' && existing.status?.phase !== 'Bound') return;
    const spec = source.spec;
    const claim: PersistentVolumeClaim = {
      metadata: { name, namespace, ...metadata },
      spec: {
        accessModes: spec.accessModes ?? ['ReadWriteOnce'],
        resources: { requests: { storage: spec.capacity?.storage ?? '1Gi' } },
        storageClassName: '',
        volumeMode: spec.volumeMode ?? 'Filesystem',
        volumeName: aliasVolumeName(name),
      },
    };
    await ignoreAlreadyExists(() => client.create(kinds.persistentVolumeClaim, claim));
  }
}

/** The node of a running Pod that mounts the claim: a live RWO volume can only be read there. */
export function nodeUsing(cache: ClusterCache, namespace: string, claimName: string): string | undefined {
  return cache.podsMounting(namespace, claimName).find((p) => p.status?.phase === 'Running')?.spec?.nodeName;
}

export function aliasVolumeName(aliasName: string): string {
  return `safehold-${aliasName}`;
}

/** The same storage as the source PV, pre-bound to the alias claim, Retain, read-only where the mover only reads. */
function aliasVolume(source: PersistentVolume, exposure: Exposure, namespace: string): PersistentVolume {
  const spec = { ...source.spec };
  delete spec.claimRef;
  return {
    metadata: {
      name: aliasVolumeName(exposure.aliasName),
      labels: exposure.aliasLabels,
      annotations: exposure.aliasAnnotations,
    },
    spec: {
      ...spec,
      ...(spec.csi === undefined ? {} : { csi: { ...spec.csi, readOnly: exposure.readOnly } }),
      storageClassName: '',
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: { namespace, name: exposure.aliasName },
    },
  };
}
