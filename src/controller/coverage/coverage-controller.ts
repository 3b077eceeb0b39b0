// Keeps every PVC's decision current: any change to a watched object queues
// one coalesced recomputation of the whole coverage (a pure function), whose
// results go to metrics, to Events on objects with malformed annotations, and
// to each BackupPolicy's status. The health series the alerts read (latest
// run per volume, schedule intervals, repository checks and when maintenance
// is owed) are republished from the caches after each recomputation and
// whenever a run finishes or a repository's status changes.
import {
  timestamp,
  applicationDumpSpec,
  backupRepositoryStatus,
  type BackupPolicy,
  type BackupPolicyStatus,
  type ParsedPolicies,
} from '../../api/index.ts';
import {
  checkSchedule,
  countDecisions,
  coverage,
  objectsCoverage,
  dumpPolicyName,
  type CoverageCounts,
  type CoverageRow,
  type ObjectsRow,
  firstGoodBackups,
  maintenanceIntervals,
  maintenanceOwed,
  scheduleIntervals,
  type Problem,
  rulesFromPolicy,
  setCondition,
  volumeHealth,
  volumeProofs,
  drillWindows,
} from '../../core/index.ts';
import { kinds, recordEvent, WorkQueue, writeStatus, type KubeClient, type KubeObject } from '../../kube/index.ts';
import { bucketsFound } from '../bucket/buckets-found.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { OperatorMetrics } from '../metrics.ts';

export interface CoverageDeps {
  client: KubeClient;
  cache: ClusterCache;
  metrics: OperatorMetrics;
  now: () => Date;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

const coverageKey = 'coverage';
const healthKey = 'health';
const batchMs = 100;
/** Schedule intervals are recomputed this often at most, unless a schedule changes: a minutely one costs ~50 ms. */
const intervalsMaxAgeMs = 3_600_000;
const objectApiVersion: Record<Problem['kind'], string> = {
  PersistentVolume: 'v1',
  Namespace: 'v1',
  PersistentVolumeClaim: 'v1',
  StorageClass: 'storage.k8s.io/v1',
};

export class CoverageController {
  readonly #deps: CoverageDeps;
  readonly #queue: WorkQueue;
  readonly #reported = new Set<string>();
  readonly #policyStatus = new Map<string, string>();
  #rows: CoverageRow[] = [];
  #stateRows: ObjectsRow[] = [];
  /** No decision before every informer has its first LIST: a half-read cluster would look unprotected. */
  #synced = false;
  /** Likewise no health series before the runs and repositories are listed: none would look like all clean. */
  #healthSynced = false;
  #policies: readonly BackupPolicy[] = [];
  #intervals: { schedules: string; at: number; seconds: ReadonlyMap<string, number> } | undefined;
  #byKey = new Map<string, CoverageRow>();
  readonly #listeners: ((rows: readonly CoverageRow[]) => void)[] = [];
  #firstDone: (() => void) | undefined;
  readonly firstPass: Promise<void>;

  constructor(deps: CoverageDeps) {
    this.#deps = deps;
    this.#queue = new WorkQueue(
      (key) => {
        if (key !== healthKey) return this.#recompute();
        this.#publishHealth();
        return Promise.resolve();
      },
      {
        concurrency: 1,
        onError: (key, error) => deps.log(`${key} failed`, { error: String(error) }),
      },
    );
    this.firstPass = new Promise((resolve) => (this.#firstDone = resolve));
    for (const informer of deps.cache.coverageInformers())
      informer.onChange(() => this.#queue.addAfter(coverageKey, batchMs));
    // Only a run's end changes its volume's health; progress updates of running ones do not.
    deps.cache.volumeBackups.onChange((c) => {
      const phase = c.object.status?.phase;
      if (c.type === 'deleted' || phase === 'Succeeded' || phase === 'Failed') this.#queue.addAfter(healthKey, batchMs);
    });
    deps.cache.histories.onChange(() => this.#queue.addAfter(healthKey, batchMs));
    deps.cache.repositories.onChange(() => this.#queue.addAfter(healthKey, batchMs));
  }

  rows(): readonly CoverageRow[] {
    return this.#rows;
  }

  /** The cluster's state besides volumes, as the last recompute found it (objectsCoverage). */
  stateRows(): readonly ObjectsRow[] {
    return this.#stateRows;
  }

  /** The latest decision for one PVC (namespace/name), once the first pass is done. */
  row(key: string): CoverageRow | undefined {
    return this.#byKey.get(key);
  }

  /** Called after every recomputation, e.g. by the scheduler. */
  onRecomputed(listener: (rows: readonly CoverageRow[]) => void): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    const { cache } = this.#deps;
    await Promise.all(cache.coverageInformers().map((i) => i.synced()));
    this.#synced = true;
    this.#queue.add(coverageKey);
    await Promise.all([cache.volumeBackups.synced(), cache.histories.synced(), cache.repositories.synced()]);
    this.#healthSynced = true;
    this.#queue.add(healthKey);
  }

  stop(): void {
    this.#queue.stop();
  }

  async #recompute(): Promise<void> {
    if (!this.#synced) return;
    const { cache, metrics, now } = this.#deps;
    const { valid, invalid } = cache.parsedPolicies();
    const rows = coverage(cache.view(valid), now());
    const counts = countDecisions(rows);
    this.#rows = rows;
    this.#policies = valid;
    this.#byKey = new Map(rows.map((r) => [`${r.namespace}/${r.name}`, r]));
    metrics.publish(rows, counts);
    this.#stateRows = objectsCoverage({
        namespaces: cache.namespaces.list(),
        dumps: cache.applicationDumps.list(),
        gitRepositories: cache.gitRepositories.list().flatMap((r) =>
          r.spec?.url === undefined
            ? []
            : [{ namespace: r.metadata?.namespace ?? '', name: r.metadata?.name ?? '', url: r.spec.url }],
        ),
        buckets: bucketsFound(cache),
        runMessage: (ns, name) => cache.dumpRuns.get(`${ns}/${name}`)?.status?.message,
        cluster: true,
        now: now(),
      });
    metrics.publishState(this.#stateRows);
    this.#queue.add(healthKey);
    for (const listener of this.#listeners) listener(rows);
    if (this.#firstDone !== undefined) {
      metrics.decisionsReady.set(Date.now() / 1000);
      this.#deps.log('every volume has a decision', { volumes: rows.length, ...counts });
      this.#firstDone();
      this.#firstDone = undefined;
    }
    await this.#reportProblems(rows);
    await this.#writePolicyStatus(rows, counts, valid, invalid);
  }

  #publishHealth(): void {
    if (this.#firstDone !== undefined || !this.#healthSynced) return;
    const { cache, metrics, now } = this.#deps;
    const runs = [...cache.volumeRuns()];
    const outcomes = new Map(runs.flatMap((r) => (r.lastRun === undefined ? [] : [[`${r.namespace}/${r.pvc}`, r.lastRun]])));
    // A volume an application dump protects: its last run is the dump's.
    for (const dump of cache.applicationDumps.list()) {
      const ns = dump.metadata.namespace;
      const last = dump.status?.lastRun;
      if (last === undefined || (last.phase !== 'Succeeded' && last.phase !== 'Failed')) continue;
      const reason = cache.dumpRuns.get(`${ns}/${last.name}`)?.status?.reason ?? last.phase;
      for (const pvc of dump.status?.covers ?? [])
        if (this.#protectedBy(`${ns}/${pvc}`) === dumpPolicyName(ns, dump.metadata.name))
          outcomes.set(`${ns}/${pvc}`, { phase: last.phase, reason, finished: last.time });
    }
    const created = (key: string) => cache.claims.get(key)?.metadata?.creationTimestamp;
    metrics.publishHealth(volumeHealth(this.#rows, outcomes, created), this.#scheduleIntervals(now()));
    metrics.publishProofs(volumeProofs(this.#rows, drillWindows(this.#policies), created));
    metrics.publishRepositories(
      cache.repositories.list().map((r) => ({
        name: r.metadata?.name ?? '',
        // The cache keeps repositories unparsed; a status that does not parse counts as none.
        tenants: backupRepositoryStatus.safeParse('status' in r ? r.status : {}).data?.tenants ?? [],
      })),
    );
    const repositories = cache.repositories.list().flatMap((r) => cache.repository(r.metadata?.name ?? '') ?? []);
    metrics.publishMaintenanceDue(
      maintenanceIntervals(repositories, now()),
      maintenanceOwed(firstGoodBackups(runs), (name) => cache.repository(name)),
    );
  }

  /** The policy protecting a volume, or the dump ("dump:ns/name"), if it is protected. */
  #protectedBy(key: string): string | undefined {
    const decision = this.#byKey.get(key)?.decision;
    return decision?.state === 'protected' ? decision.policy : undefined;
  }

  #scheduleIntervals(now: Date): ReadonlyMap<string, number> {
    // Application dumps' schedules count as the policies of the volumes they protect.
    const dumps = this.#deps.cache.applicationDumps.list().flatMap((d) => {
      const schedule = applicationDumpSpec.safeParse(d.spec).data?.schedule;
      return schedule === undefined ? [] : [{ name: dumpPolicyName(d.metadata.namespace, d.metadata.name), schedule }];
    });
    const all = [...this.#policies.map((p) => ({ name: p.metadata.name, schedule: p.spec.schedule })), ...dumps];
    const schedules = JSON.stringify(all.map((p) => [p.name, p.schedule]));
    const cached = this.#intervals;
    if (cached?.schedules === schedules && now.getTime() - cached.at < intervalsMaxAgeMs) return cached.seconds;
    this.#intervals = { schedules, at: now.getTime(), seconds: scheduleIntervals(all, now) };
    return this.#intervals.seconds;
  }

  async #reportProblems(rows: readonly CoverageRow[]): Promise<void> {
    for (const problem of rows.flatMap((r) => r.problems)) {
      const id = `${problem.kind}/${problem.namespace ?? ''}/${problem.name}/${problem.key}/${problem.value}`;
      if (this.#reported.has(id)) continue;
      this.#reported.add(id);
      const involved = this.#involved(problem);
      await recordEvent(
        this.#deps.client,
        { object: involved, type: 'Warning', reason: 'MalformedAnnotation', message: problem.message },
        'safehold',
        this.#deps.now(),
      );
    }
  }

  #involved(problem: Problem) {
    const key = problem.namespace === undefined ? problem.name : `${problem.namespace}/${problem.name}`;
    const source: KubeObject | undefined =
      problem.kind === 'PersistentVolumeClaim'
        ? this.#deps.cache.claims.get(key)
        : problem.kind === 'PersistentVolume'
          ? this.#deps.cache.volumes.get(key)
          : problem.kind === 'Namespace'
            ? this.#deps.cache.namespaces.get(key)
            : this.#deps.cache.storageClasses.get(key);
    // Events of cluster-scoped objects live in the default namespace, as kubectl shows them.
    return {
      apiVersion: objectApiVersion[problem.kind],
      kind: problem.kind,
      name: problem.name,
      namespace: problem.namespace ?? 'default',
      uid: source?.metadata?.uid,
    };
  }

  async #writePolicyStatus(
    rows: readonly CoverageRow[],
    counts: CoverageCounts,
    valid: readonly BackupPolicy[],
    invalid: ParsedPolicies['invalid'],
  ): Promise<void> {
    const now = timestamp(this.#deps.now());
    const wanted = new Map<string, BackupPolicyStatus>();
    const protectedBy = new Map<string, number>();
    for (const row of rows)
      if (row.decision.state === 'protected')
        protectedBy.set(row.decision.policy, (protectedBy.get(row.decision.policy) ?? 0) + 1);
    for (const policy of valid) {
      const name = policy.metadata.name;
      const mine = protectedBy.get(name) ?? 0;
      const schedule = checkSchedule(policy.spec.schedule);
      const retention = rulesFromPolicy(policy.spec.retention);
      const problem = !schedule.ok
        ? { reason: 'InvalidSchedule', message: `${schedule.field}: ${schedule.error}` }
        : 'error' in retention
          ? { reason: 'InvalidRetention', message: `${retention.error}; nothing is forgotten until it is fixed` }
          : undefined;
      wanted.set(name, {
        ...(policy.metadata.generation === undefined ? {} : { observedGeneration: policy.metadata.generation }),
        volumes: { protected: mine, excluded: counts.excluded, unprotected: counts.unprotected },
        conditions: [
          problem === undefined
            ? {
                type: 'Ready',
                status: 'True',
                reason: 'Valid',
                message: `protects ${mine} volumes`,
                lastTransitionTime: now,
              }
            : { type: 'Ready', status: 'False', ...problem, lastTransitionTime: now },
        ],
      });
    }
    for (const bad of invalid) {
      wanted.set(bad.name, {
        conditions: [
          { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: bad.error, lastTransitionTime: now },
        ],
      });
    }
    for (const [name, status] of wanted) {
      const fingerprint = JSON.stringify({
        ...status,
        conditions: status.conditions?.map((c) => ({ ...c, lastTransitionTime: '' })),
      });
      if (this.#policyStatus.get(name) === fingerprint) continue;
      await writeStatus<KubeObject & { status?: BackupPolicyStatus }>(
        this.#deps.client,
        kinds.backupPolicy,
        { name },
        (current) => {
          // What others write in the status (the buckets found) stays.
          const next = status.conditions?.[0];
          if (next === undefined) return { ...current.status, ...status };
          const { lastTransitionTime, ...condition } = next;
          return {
            ...current.status,
            ...status,
            conditions: setCondition(current.status?.conditions ?? [], condition, lastTransitionTime),
          };
        },
      );
      this.#policyStatus.set(name, fingerprint);
    }
  }
}
