// The operator's Prometheus metrics: per volume, whether it is protected (and
// by which policy) or UNPROTECTED (and why), its last successful backup, and
// cluster-wide counts per decision. One registry per operator, passed around.
// What the shipped alerts read is recomputed from API objects (ADR 0014), so a
// restarted operator exports it again; run counters and the last run's
// duration and bytes are this process's own and start over with it.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { TenantHealth } from '../api/index.ts';
import type {
  CoverageCounts,
  CoverageRow,
  MaintenanceInterval,
  MaintenanceOwed,
  ObjectsRow,
  VolumeHealth,
  VolumeProof,
} from '../core/index.ts';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly protectedVolume = new Gauge({
    name: 'safehold_volume_protected',
    help: '1 when the PVC is protected by a policy, 0 when it is excluded or UNPROTECTED',
    labelNames: ['namespace', 'pvc', 'policy'] as const,
    registers: [this.registry],
  });
  readonly unprotectedVolume = new Gauge({
    name: 'safehold_volume_unprotected',
    help: '1 for each UNPROTECTED PVC, labelled with the cause',
    labelNames: ['namespace', 'pvc', 'cause'] as const,
    registers: [this.registry],
  });
  readonly unboundVolume = new Gauge({
    name: 'safehold_volume_unbound',
    help: 'For each PVC a policy selects whose claim is not bound (no data to back up yet), 1, labelled with the cause: StorageClassMissing, WaitingForFirstConsumer, Pending, Lost',
    labelNames: ['namespace', 'pvc', 'policy', 'cause'] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'safehold_volume_last_success_timestamp_seconds',
    help: 'Unix time of the last successful backup of the PVC',
    labelNames: ['namespace', 'pvc', 'policy'] as const,
    registers: [this.registry],
  });
  readonly created = new Gauge({
    name: 'safehold_volume_created_timestamp_seconds',
    help: 'Unix time the PVC was created, for protected PVCs with no successful backup yet: their staleness counts from it',
    labelNames: ['namespace', 'pvc', 'policy'] as const,
    registers: [this.registry],
  });
  readonly lastBackupFailed = new Gauge({
    name: 'safehold_volume_last_backup_failed',
    help: "1 when the protected PVC's most recent finished backup failed (reason: its VolumeBackup's status.reason), 0 when it succeeded",
    labelNames: ['namespace', 'pvc', 'reason'] as const,
    registers: [this.registry],
  });
  readonly lastProven = new Gauge({
    name: 'safehold_volume_last_proven_timestamp_seconds',
    help: "Unix time a restore drill last read the PVC's backup back as recorded",
    labelNames: ['namespace', 'pvc', 'policy'] as const,
    registers: [this.registry],
  });
  readonly drillFailed = new Gauge({
    name: 'safehold_volume_drill_failed',
    help: "1 when the PVC's last restore drill found its backup does not restore as recorded (reason: the drill's), 0 when it passed",
    labelNames: ['namespace', 'pvc', 'reason'] as const,
    registers: [this.registry],
  });
  readonly proofDue = new Gauge({
    name: 'safehold_volume_proof_due_timestamp_seconds',
    help: "Unix time by which a passing restore drill of the PVC is due: its last pass (else the PVC's creation) plus its policy's drill window",
    labelNames: ['namespace', 'pvc', 'policy'] as const,
    registers: [this.registry],
  });
  readonly stateProtected = new Gauge({
    name: 'safehold_state_protected',
    help: "1 when the cluster's state besides volumes (scope: Namespace, a namespace's API objects; Cluster, the cluster-scoped objects; Git, a GitOps repository) is protected by a dump, 0 when it is excluded or UNPROTECTED",
    labelNames: ['scope', 'namespace', 'name', 'dump'] as const,
    registers: [this.registry],
  });
  readonly stateLastSuccess = new Gauge({
    name: 'safehold_state_last_success_timestamp_seconds',
    help: "Unix time of the last stored dump of that state (the protecting ApplicationDump's status.lastSuccess)",
    labelNames: ['scope', 'namespace', 'name', 'dump'] as const,
    registers: [this.registry],
  });
  readonly scheduleInterval = new Gauge({
    name: 'safehold_policy_schedule_interval_seconds',
    help: "The longest gap between two runs of the policy's schedule over the next eight days: backups older than a few of these are stale",
    labelNames: ['policy'] as const,
    registers: [this.registry],
  });
  readonly volumes = new Gauge({
    name: 'safehold_volumes',
    help: 'PVCs per decision: protected, unbound, excluded, unprotected',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'safehold_leader',
    help: '1 while this operator instance holds the leader Lease',
    registers: [this.registry],
  });
  readonly decisionsReady = new Gauge({
    name: 'safehold_decisions_ready_timestamp_seconds',
    help: 'Unix time at which every PVC first had a decision after start',
    registers: [this.registry],
  });

  /** How late the event loop ran, sampled every 20 ms: a long stall delays Lease renewals and every watch. */
  readonly #loopDelay = (() => {
    const histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
    return histogram;
  })();
  readonly eventLoopStall = new Gauge({
    name: 'safehold_event_loop_stall_max_seconds',
    help: 'The longest the event loop was blocked since the operator started: work that long holds back Lease renewals and watches',
    registers: [this.registry],
    collect: () => {
      this.eventLoopStall.set(this.#loopDelay.max / 1e9);
    },
  });

  readonly schedulerPasses = new Counter({
    name: 'safehold_scheduler_passes_total',
    help: 'Passes of the backup scheduler over every protected volume',
    registers: [this.registry],
  });
  readonly runs = new Counter({
    name: 'safehold_backup_runs_total',
    help: 'Finished backup runs by result (Succeeded, Failed) and trigger',
    labelNames: ['namespace', 'result', 'trigger'] as const,
    registers: [this.registry],
  });
  readonly runDuration = new Gauge({
    name: 'safehold_backup_last_duration_seconds',
    help: 'How long the last successful backup of the PVC took, from start to the mover summary',
    labelNames: ['namespace', 'pvc'] as const,
    registers: [this.registry],
  });
  readonly bytesAdded = new Gauge({
    name: 'safehold_backup_last_bytes_added',
    help: 'Bytes the last successful backup of the PVC added to its repository (after deduplication)',
    labelNames: ['namespace', 'pvc'] as const,
    registers: [this.registry],
  });
  readonly bytesTotal = new Gauge({
    name: 'safehold_backup_last_bytes_processed',
    help: 'Bytes the last successful backup of the PVC read',
    labelNames: ['namespace', 'pvc'] as const,
    registers: [this.registry],
  });

  readonly maintenanceRuns = new Counter({
    name: 'safehold_repository_maintenance_runs_total',
    help: 'Finished repository maintenance runs by result (Succeeded, CheckFailed, WrongPassword, RepositoryStalled, ...)',
    labelNames: ['repository', 'tenant', 'result'] as const,
    registers: [this.registry],
  });
  readonly lastPrune = new Gauge({
    name: 'safehold_repository_last_prune_timestamp_seconds',
    help: 'Unix time of the last successful forget and prune of the repository (tenant: its namespace, if per namespace)',
    labelNames: ['repository', 'tenant'] as const,
    registers: [this.registry],
  });
  readonly lastCheck = new Gauge({
    name: 'safehold_repository_last_check_timestamp_seconds',
    help: 'Unix time of the last restic check of the repository',
    labelNames: ['repository', 'tenant'] as const,
    registers: [this.registry],
  });
  readonly checkOk = new Gauge({
    name: 'safehold_repository_check_ok',
    help: '1 when the last restic check of the repository was clean, 0 when it found errors',
    labelNames: ['repository', 'tenant'] as const,
    registers: [this.registry],
  });
  readonly forgotten = new Counter({
    name: 'safehold_repository_forgotten_snapshots_total',
    help: 'Backups forgotten by retention',
    labelNames: ['repository', 'tenant'] as const,
    registers: [this.registry],
  });
  readonly repositorySnapshots = new Gauge({
    name: 'safehold_repository_snapshots',
    help: 'Snapshots in the repository after its last maintenance',
    labelNames: ['repository', 'tenant'] as const,
    registers: [this.registry],
  });
  readonly repositoryBytes = new Gauge({
    name: 'safehold_repository_size_bytes',
    help: 'Stored size of the repository after its last maintenance',
    labelNames: ['repository', 'tenant'] as const,
    registers: [this.registry],
  });

  readonly maintenanceInterval = new Gauge({
    name: 'safehold_repository_maintenance_interval_seconds',
    help: "The longest gap between two runs of the repository's prune or check schedule (operation) over the next eight days",
    labelNames: ['repository', 'operation'] as const,
    registers: [this.registry],
  });
  readonly maintenanceOwedSince = new Gauge({
    name: 'safehold_repository_maintenance_owed_since_timestamp_seconds',
    help: 'Unix time of the first good backup in the repository (tenant: its namespace, if per namespace): a prune or check is owed from then on',
    labelNames: ['repository', 'tenant'] as const,
    registers: [this.registry],
  });

  /** Replaces the series that say when each repository's prune and check are overdue (with lastPrune and lastCheck). */
  publishMaintenanceDue(intervals: readonly MaintenanceInterval[], owed: readonly MaintenanceOwed[]): void {
    this.maintenanceInterval.reset();
    this.maintenanceOwedSince.reset();
    for (const i of intervals)
      this.maintenanceInterval.set({ repository: i.repository, operation: i.operation }, i.seconds);
    for (const o of owed) this.maintenanceOwedSince.set({ repository: o.repository, tenant: o.tenant }, o.sinceSeconds);
  }

  /** Replaces the per-volume series with the current rows (a vanished PVC loses its series). */
  publish(rows: readonly CoverageRow[], counts: CoverageCounts): void {
    this.protectedVolume.reset();
    this.unprotectedVolume.reset();
    this.unboundVolume.reset();
    this.lastSuccess.reset();
    for (const row of rows) {
      const d = row.decision;
      const policy = d.state === 'protected' ? d.policy : '';
      this.protectedVolume.set({ namespace: row.namespace, pvc: row.name, policy }, d.state === 'protected' ? 1 : 0);
      if (d.state === 'unprotected')
        this.unprotectedVolume.set({ namespace: row.namespace, pvc: row.name, cause: d.cause }, 1);
      if (d.state === 'unbound')
        this.unboundVolume.set({ namespace: row.namespace, pvc: row.name, policy: d.policy, cause: d.cause }, 1);
      const last = row.lastBackup === undefined ? Number.NaN : Date.parse(row.lastBackup);
      if (!Number.isNaN(last)) this.lastSuccess.set({ namespace: row.namespace, pvc: row.name, policy }, last / 1000);
    }
    for (const decision of ['protected', 'unbound', 'excluded', 'unprotected'] as const)
      this.volumes.set({ decision }, counts[decision]);
  }

  /** Replaces the series of the cluster's state besides volumes (objectsCoverage rows) with the current ones. */
  publishState(rows: readonly ObjectsRow[]): void {
    this.stateProtected.reset();
    this.stateLastSuccess.reset();
    for (const row of rows) {
      if (row.state === 'excluded') continue;
      const labels = {
        scope: row.scope,
        namespace: row.namespace ?? '',
        name: row.name ?? '',
        dump: row.dump ?? '',
      };
      this.stateProtected.set(labels, row.state === 'protected' ? 1 : 0);
      const last = row.lastBackup === undefined ? Number.NaN : Date.parse(row.lastBackup);
      if (!Number.isNaN(last)) this.stateLastSuccess.set(labels, last / 1000);
    }
  }

  /** Replaces the series of run health and schedules (see VolumeHealth) with the current ones. */
  publishHealth(volumes: readonly VolumeHealth[], intervals: ReadonlyMap<string, number>): void {
    this.created.reset();
    this.lastBackupFailed.reset();
    this.scheduleInterval.reset();
    for (const v of volumes) {
      if (v.createdSeconds !== undefined)
        this.created.set({ namespace: v.namespace, pvc: v.pvc, policy: v.policy }, v.createdSeconds);
      if (v.lastRun !== undefined) {
        const failed = v.lastRun.phase === 'Failed';
        this.lastBackupFailed.set(
          { namespace: v.namespace, pvc: v.pvc, reason: failed ? v.lastRun.reason : '' },
          failed ? 1 : 0,
        );
      }
    }
    for (const [policy, seconds] of intervals) this.scheduleInterval.set({ policy }, seconds);
  }

  /** Replaces the series of restore drills' verdicts and due dates with the current ones. */
  publishProofs(proofs: readonly VolumeProof[]): void {
    for (const gauge of [this.lastProven, this.drillFailed, this.proofDue]) gauge.reset();
    for (const p of proofs) {
      const volume = { namespace: p.namespace, pvc: p.pvc };
      if (p.lastPassedSeconds !== undefined) this.lastProven.set({ ...volume, policy: p.policy }, p.lastPassedSeconds);
      if (p.failed !== undefined) this.drillFailed.set({ ...volume, reason: p.failed.reason }, p.failed.value);
      if (p.dueSeconds !== undefined) this.proofDue.set({ ...volume, policy: p.policy }, p.dueSeconds);
    }
  }

  /**
   * Replaces the repository series with what each BackupRepository's status says of its tenants:
   * the status, not this process, remembers the last check, so the series survive a restart.
   */
  publishRepositories(repositories: readonly { name: string; tenants: readonly TenantHealth[] }[]): void {
    for (const gauge of [this.checkOk, this.lastCheck, this.lastPrune, this.repositorySnapshots, this.repositoryBytes])
      gauge.reset();
    const seconds = (time: string | undefined) => Date.parse(time ?? '') / 1000;
    for (const { name, tenants } of repositories)
      for (const t of tenants) {
        const labels = { repository: name, tenant: t.tenant };
        if (t.checkOk !== undefined) this.checkOk.set(labels, t.checkOk ? 1 : 0);
        if (!Number.isNaN(seconds(t.lastCheckTime))) this.lastCheck.set(labels, seconds(t.lastCheckTime));
        if (!Number.isNaN(seconds(t.lastPruneTime))) this.lastPrune.set(labels, seconds(t.lastPruneTime));
        if (t.snapshots !== undefined) this.repositorySnapshots.set(labels, t.snapshots);
        if (t.bytes !== undefined) this.repositoryBytes.set(labels, t.bytes);
      }
  }
}
