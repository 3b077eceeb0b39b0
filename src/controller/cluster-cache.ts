// The operator's watched view of the cluster: one informer per kind coverage
// depends on, and the ClusterView built from their caches on demand. Lookups a
// reconcile makes about its own volume or run go through informer indexes, so
// their cost is the matches, not the length of the history.
import type { Deployment, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Namespace, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { Job } from 'kubernetes-types/batch/v1.js';
import {
  backupRepositorySpec,
  parseBackupPolicies,
  runLabels,
  type BackupPolicy,
  type BackupRepository,
  type ParsedPolicies,
  type ApplicationDump,
  type BackupDownload,
  type BucketRestore,
  type DumpRun,
  type RestoreDrill,
  type RepositoryMaintenance,
  type VolumeBackup,
  type VolumeHistory,
  type VolumeRestore,
} from '../api/index.ts';
import { catalogueOf, volumeCatalogue, volumeRuns, type ClusterView, type VolumeRuns } from '../core/index.ts';
import { Informer, kinds, type KubeClient, type KubeObject } from '../kube/index.ts';
import { keptCount, packHistory, unpackHistory } from './history/packed-history.ts';

const index = {
  job: 'job',
  claim: 'claim',
  volume: 'volume',
  phase: 'phase',
  uid: 'uid',
  run: 'run',
  namespace: 'namespace',
  dump: 'dump',
} as const;

type RawPolicy = KubeObject & { spec?: unknown; metadata?: { generation?: number } };
type RawRepository = KubeObject & { spec?: unknown; status?: unknown; metadata?: { generation?: number } };

export interface SnapshotClass extends KubeObject {
  driver: string;
  deletionPolicy?: string;
}

export interface Snapshot extends KubeObject {
  spec?: { source?: { persistentVolumeClaimName?: string }; volumeSnapshotClassName?: string };
  status?: {
    readyToUse?: boolean;
    error?: { message?: string };
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
  };
}

/** A Flux GitRepository: its URL and the Secret it signs in with. */
export interface FluxGitRepositoryObject extends KubeObject {
  spec?: { url?: string; secretRef?: { name?: string } };
}

/** A VolumeGroupSnapshot Safehold made (groupsnapshot.storage.k8s.io). */
export interface GroupSnapshot extends KubeObject {
  status?: { readyToUse?: boolean; error?: { message?: string }; creationTime?: string };
}

export class ClusterCache {
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly volumes: Informer<PersistentVolume>;
  readonly namespaces: Informer<Namespace>;
  readonly storageClasses: Informer<StorageClass>;
  readonly policies: Informer<RawPolicy>;
  readonly pods: Informer<Pod>;
  readonly deployments: Informer<Deployment>;
  readonly statefulSets: Informer<StatefulSet>;
  readonly volumeBackups: Informer<VolumeBackup>;
  /**
   * One per volume with kept backups: the catalogue the run objects are recorded into. Long ones are
   * cached packed (only the newest and oldest line in status.backups): read them with history().
   */
  readonly histories: Informer<VolumeHistory>;
  readonly repositories: Informer<RawRepository>;
  readonly snapshotClasses: Informer<SnapshotClass>;
  readonly snapshots: Informer<Snapshot>;
  /** VolumeGroupSnapshotClasses: which drivers take several volumes' snapshots at one moment. */
  readonly groupSnapshotClasses: Informer<SnapshotClass>;
  /** Flux's GitRepositories (source.toolkit.fluxcd.io), where its CRD is installed: what policies' Git dumps mirror. */
  readonly gitRepositories: Informer<FluxGitRepositoryObject>;
  /** Only the VolumeGroupSnapshots Safehold made (run label). */
  readonly groupSnapshots: Informer<GroupSnapshot>;
  readonly jobs: Informer<Job>;
  readonly maintenances: Informer<RepositoryMaintenance>;
  readonly restores: Informer<VolumeRestore>;
  readonly downloads: Informer<BackupDownload>;
  readonly applicationDumps: Informer<ApplicationDump>;
  readonly dumpRuns: Informer<DumpRun>;
  readonly drills: Informer<RestoreDrill>;
  readonly bucketRestores: Informer<BucketRestore>;
  /** The movers' credential Secrets in Safehold's namespace, metadata only: the sweep needs their owners, never their data. */
  readonly moverSecrets: Informer<KubeObject>;

  /** Per volume ("namespace/pvc"), the summary of its runs; volumes whose runs changed since are in #staleRuns. */
  readonly #volumeRuns = new Map<string, VolumeRuns>();
  readonly #staleRuns = new Set<string>();
  readonly #parsedRepositories = new WeakMap<RawRepository, BackupRepository | undefined>();
  #parsedPolicies: ParsedPolicies | undefined;

  /** `namespace` is Safehold's own: mover Jobs live only there, so the operator needs no cluster-wide Job rights. */
  constructor(client: KubeClient, namespace: string, onError: (error: unknown) => void) {
    const options = { onError, transform: withoutManagedFields };
    this.claims = new Informer<PersistentVolumeClaim>(client, kinds.persistentVolumeClaim, options);
    this.volumes = new Informer<PersistentVolume>(client, kinds.persistentVolume, options);
    this.namespaces = new Informer<Namespace>(client, kinds.namespace, options);
    this.storageClasses = new Informer<StorageClass>(client, kinds.storageClass, options);
    this.policies = new Informer<RawPolicy>(client, kinds.backupPolicy, options);
    this.pods = new Informer<Pod>(client, kinds.pod, options);
    this.deployments = new Informer<Deployment>(client, kinds.deployment, options);
    this.statefulSets = new Informer<StatefulSet>(client, kinds.statefulSet, options);
    this.volumeBackups = new Informer<VolumeBackup>(client, kinds.volumeBackup, options);
    this.histories = new Informer<VolumeHistory>(client, kinds.volumeHistory, {
      onError,
      // A history of a hundred backups is about 20 KB: pages of 50 keep each parse near a megabyte.
      pageSize: 50,
      transform: (h) => packHistory(withoutManagedFields(h)),
    });
    this.repositories = new Informer<RawRepository>(client, kinds.backupRepository, options);
    this.snapshotClasses = new Informer<SnapshotClass>(client, kinds.volumeSnapshotClass, options);
    // Only what Safehold made: its runs' snapshots and Jobs carry the run label.
    this.snapshots = new Informer<Snapshot>(client, kinds.volumeSnapshot, { ...options, labelSelector: runLabels.run });
    this.groupSnapshotClasses = new Informer<SnapshotClass>(client, kinds.volumeGroupSnapshotClass, options);
    this.gitRepositories = new Informer<FluxGitRepositoryObject>(client, kinds.fluxGitRepository, options);
    this.groupSnapshots = new Informer<GroupSnapshot>(client, kinds.volumeGroupSnapshot, {
      ...options,
      labelSelector: runLabels.run,
    });
    this.jobs = new Informer<Job>(client, kinds.job, {
      ...options,
      namespace,
      labelSelector: `${runLabels.component}=mover`,
    });
    this.maintenances = new Informer<RepositoryMaintenance>(client, kinds.repositoryMaintenance, options);
    this.restores = new Informer<VolumeRestore>(client, kinds.volumeRestore, options);
    this.downloads = new Informer<BackupDownload>(client, kinds.backupDownload, options);
    this.applicationDumps = new Informer<ApplicationDump>(client, kinds.applicationDump, options);
    this.dumpRuns = new Informer<DumpRun>(client, kinds.dumpRun, options);
    this.drills = new Informer<RestoreDrill>(client, kinds.restoreDrill, options);
    this.bucketRestores = new Informer<BucketRestore>(client, kinds.bucketRestore, options);
    this.moverSecrets = new Informer<KubeObject>(client, kinds.secret, {
      onError,
      namespace,
      labelSelector: `${runLabels.component}=mover`,
      transform: metadataOnly,
    });
    this.pods.addIndex(index.job, (p) => {
      const job = p.metadata?.labels?.['batch.kubernetes.io/job-name'];
      return job === undefined ? [] : [`${p.metadata?.namespace ?? ''}/${job}`];
    });
    this.pods.addIndex(index.namespace, (p) => [p.metadata?.namespace ?? '']);
    this.claims.addIndex(index.namespace, (c) => [c.metadata?.namespace ?? '']);
    this.dumpRuns.addIndex(index.phase, (r) => [r.status?.phase ?? 'Pending']);
    this.dumpRuns.addIndex(index.dump, (r) => [`${r.metadata.namespace}/${r.spec.dump}`]);
    this.drills.addIndex(index.phase, (r) => [r.status?.phase ?? 'Pending']);
    this.drills.addIndex(index.volume, (r) => [`${r.metadata.namespace}/${r.spec.source.pvc}`]);
    this.pods.addIndex(index.claim, (p) =>
      (p.spec?.volumes ?? []).flatMap((v) =>
        v.persistentVolumeClaim === undefined
          ? []
          : [`${p.metadata?.namespace ?? ''}/${v.persistentVolumeClaim.claimName}`],
      ),
    );
    this.volumeBackups.addIndex(index.volume, (b) => [`${b.metadata.namespace}/${b.spec.pvc}`]);
    this.volumeBackups.addIndex(index.phase, (b) => [b.status?.phase ?? 'Pending']);
    this.volumeBackups.addIndex(index.uid, (b) => (b.metadata.uid === undefined ? [] : [b.metadata.uid]));
    this.policies.onChange(() => (this.#parsedPolicies = undefined));
    // A run's change makes its volume's summary stale; it is reduced again, from that volume's runs only, when read.
    this.volumeBackups.onChange((c) => {
      this.#staleRuns.add(`${c.object.metadata.namespace}/${c.object.spec.pvc}`);
      if (c.type === 'updated') this.#staleRuns.add(`${c.old.metadata.namespace}/${c.old.spec.pvc}`);
    });
    this.histories.onChange((c) => this.#staleRuns.add(c.key));
    this.snapshots.addIndex(index.volume, (s) => {
      const pvc = s.spec?.source?.persistentVolumeClaimName;
      return pvc === undefined ? [] : [`${s.metadata?.namespace ?? ''}/${pvc}`];
    });
    this.jobs.addIndex(index.run, (j) => {
      const run = j.metadata?.labels?.[runLabels.run];
      return run === undefined ? [] : [`${j.metadata?.labels?.[runLabels.namespace] ?? ''}/${run}`];
    });
  }

  /** The Pods of one namespace. */
  podsIn(namespace: string): Pod[] {
    return this.pods.byIndex(index.namespace, namespace);
  }

  /** The PVCs of one namespace. */
  claimsIn(namespace: string): PersistentVolumeClaim[] {
    return this.claims.byIndex(index.namespace, namespace);
  }

  /** The DumpRuns in these phases (a missing phase is Pending). */
  dumpRunsIn(phases: Iterable<string>): DumpRun[] {
    return [...phases].flatMap((phase) => this.dumpRuns.byIndex(index.phase, phase));
  }

  /** The RestoreDrills in these phases (a missing phase is Pending). */
  drillsIn(phases: Iterable<string>): RestoreDrill[] {
    return [...phases].flatMap((phase) => this.drills.byIndex(index.phase, phase));
  }

  /** The RestoreDrills of one volume ("namespace/pvc"). */
  drillsOf(key: string): RestoreDrill[] {
    return this.drills.byIndex(index.volume, key);
  }

  /** The runs of one ApplicationDump ("namespace/name"), whatever their phase. */
  runsOfDump(key: string): DumpRun[] {
    return this.dumpRuns.byIndex(index.dump, key);
  }

  /** The run objects (VolumeBackups) of one volume, whatever their phase. */
  runsOf(namespace: string, pvc: string): VolumeBackup[] {
    return this.volumeBackups.byIndex(index.volume, `${namespace}/${pvc}`);
  }

  /** One volume's history ("namespace/pvc") with every line. */
  history(key: string): VolumeHistory | undefined {
    return unpackHistory(this.histories.get(key));
  }

  /** One volume's catalogue: its run objects and the kept backups of its history, as VolumeBackups. */
  backupsOf(namespace: string, pvc: string): VolumeBackup[] {
    return volumeCatalogue(this.history(`${namespace}/${pvc}`), this.runsOf(namespace, pvc));
  }

  /** Every volume's catalogue (runs and kept backups): costs the whole history, for passes that need it. */
  catalogue(): VolumeBackup[] {
    return catalogueOf(
      this.histories.list().map((h) => unpackHistory(h)),
      this.volumeBackups.list(),
    );
  }

  /** Every volume with runs, summarized: costs the volumes whose runs changed since the last call, not the history. */
  volumeRuns(): IterableIterator<VolumeRuns> {
    for (const key of this.#staleRuns) {
      const slash = key.indexOf('/');
      const [namespace, pvc] = [key.slice(0, slash), key.slice(slash + 1)];
      const runs = this.runsOf(namespace, pvc);
      // A packed history's newest and oldest lines are what a summary reads: it is not inflated.
      const history = this.histories.get(key);
      if (runs.length === 0 && keptCount(history) === 0) this.#volumeRuns.delete(key);
      else this.#volumeRuns.set(key, volumeRuns(namespace, pvc, runs, history));
    }
    this.#staleRuns.clear();
    return this.#volumeRuns.values();
  }

  /** The VolumeBackups in these phases (a missing phase is Pending). */
  backupsIn(phases: Iterable<string>): VolumeBackup[] {
    return [...phases].flatMap((phase) => this.volumeBackups.byIndex(index.phase, phase));
  }

  /** The backups writing now: Snapshotting or Running, and those with one of the `starting` uids (started a moment ago). */
  activeBackups(starting: Iterable<string>): VolumeBackup[] {
    const found = new Set(this.backupsIn(['Snapshotting', 'Running']));
    for (const uid of starting) {
      const backup = this.backupByUid(uid);
      if (backup !== undefined) found.add(backup);
    }
    return [...found];
  }

  backupByUid(uid: string): VolumeBackup | undefined {
    return this.volumeBackups.byIndex(index.uid, uid)[0];
  }

  /** The Pods of a Job, by the label the Job controller gives them. */
  podsOfJob(namespace: string, job: string): Pod[] {
    return this.pods.byIndex(index.job, `${namespace}/${job}`);
  }

  /** The Pods that mount a claim (finished or not). */
  podsMounting(namespace: string, claim: string): Pod[] {
    return this.pods.byIndex(index.claim, `${namespace}/${claim}`);
  }

  /** Safehold's VolumeSnapshots of one volume. */
  snapshotsOf(namespace: string, pvc: string): Snapshot[] {
    return this.snapshots.byIndex(index.volume, `${namespace}/${pvc}`);
  }

  /** The mover Jobs of one run (one per attempt). */
  jobsOfRun(namespace: string, run: string): Job[] {
    return this.jobs.byIndex(index.run, `${namespace}/${run}`);
  }

  /** The informers coverage depends on. */
  coverageInformers(): Informer<KubeObject>[] {
    return [
      this.claims,
      this.volumes,
      this.namespaces,
      this.storageClasses,
      this.policies,
      this.pods,
      this.deployments,
      this.statefulSets,
      this.applicationDumps,
      // The GitOps repositories' coverage (safehold_state_protected) follows them.
      this.gitRepositories,
    ] as Informer<KubeObject>[];
  }

  all(): Informer<KubeObject>[] {
    return [
      ...this.coverageInformers(),
      this.volumeBackups,
      this.histories,
      this.repositories,
      this.snapshotClasses,
      this.snapshots,
      this.groupSnapshotClasses,
      this.groupSnapshots,
      this.jobs,
      this.maintenances,
      this.restores,
      this.downloads,
      this.dumpRuns,
      this.drills,
      this.bucketRestores,
      this.moverSecrets,
    ] as Informer<KubeObject>[];
  }

  /** A repository's parsed spec, parsed once per version of the object (the informer replaces it on change). */
  repository(name: string): BackupRepository | undefined {
    const raw = this.repositories.get(name);
    if (raw === undefined) return undefined;
    if (!this.#parsedRepositories.has(raw)) this.#parsedRepositories.set(raw, parseRepository(name, raw));
    return this.#parsedRepositories.get(raw);
  }

  /** Where a policy's backups go: the repository it names, else the only one there is. */
  policyRepository(policy: BackupPolicy): BackupRepository | undefined {
    if (policy.spec.repository !== undefined) return this.repository(policy.spec.repository.name);
    const all = this.repositories.list();
    return all.length === 1 ? this.repository(all[0]?.metadata?.name ?? '') : undefined;
  }

  start(): void {
    for (const informer of this.all()) informer.start();
  }

  async synced(): Promise<void> {
    await Promise.all(this.all().map((i) => i.synced()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }

  /** The policies, parsed once per change of any of them. */
  parsedPolicies(): ParsedPolicies {
    this.#parsedPolicies ??= parseBackupPolicies(this.policies.list());
    return this.#parsedPolicies;
  }

  view(policies: BackupPolicy[]): ClusterView {
    const byName = <T extends KubeObject>(items: T[]) =>
      new Map(items.map((item) => [item.metadata?.name ?? '', item]));
    return {
      claims: this.claims.list(),
      volumes: byName(this.volumes.list()),
      namespaces: byName(this.namespaces.list()),
      storageClasses: byName(this.storageClasses.list()),
      policies,
      pods: this.pods.list(),
      deployments: this.deployments.list(),
      statefulSets: this.statefulSets.list(),
      dumps: this.applicationDumps.list(),
    };
  }
}

// managedFields are often the largest part of an object and coverage never
// reads them; dropping them keeps the cache of 10,000 PVCs small.
function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (object.metadata !== undefined && 'managedFields' in object.metadata)
    delete (object.metadata as { managedFields?: unknown }).managedFields;
  return object;
}

/** Only the metadata, without managedFields: for objects whose content the operator must not keep (Secrets). */
function metadataOnly(object: KubeObject): KubeObject {
  const metadata = { ...object.metadata };
  delete (metadata as { managedFields?: unknown }).managedFields;
  return { metadata };
}

function parseRepository(name: string, raw: RawRepository): BackupRepository | undefined {
  const parsed = backupRepositorySpec.safeParse(raw.spec ?? {});
  return parsed.success
    ? {
        metadata: {
          name,
          ...(raw.metadata?.uid === undefined ? {} : { uid: raw.metadata.uid }),
          ...(raw.metadata?.creationTimestamp === undefined
            ? {}
            : { creationTimestamp: raw.metadata.creationTimestamp }),
          ...(raw.metadata?.generation === undefined ? {} : { generation: raw.metadata.generation }),
        },
        spec: parsed.data,
      }
    : undefined;
}
