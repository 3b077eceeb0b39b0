// The operator's Prometheus metrics: per volume, whether it is protected (and
// by which policy) or UNPROTECTED (and why), its last successful backup, and
// cluster-wide counts per decision. One registry per operator, passed around.
import { Counter, Gauge, Registry } from 'prom-client';
import type { CoverageCounts, CoverageRow } from '../core/index.ts';

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
  readonly lastSuccess = new Gauge({
    name: 'safehold_volume_last_success_timestamp_seconds',
    help: 'Unix time of the last successful backup of the PVC',
    labelNames: ['namespace', 'pvc', 'policy'] as const,
    registers: [this.registry],
  });
  readonly volumes = new Gauge({
    name: 'safehold_volumes',
    help: 'PVCs per decision: protected, excluded, unprotected',
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
    help: 'Finished repository maintenance runs by result (Succeeded, CheckFailed, MoverFailed, ...)',
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

  /** Replaces the per-volume series with the current rows (a vanished PVC loses its series). */
  publish(rows: readonly CoverageRow[], counts: CoverageCounts): void {
    this.protectedVolume.reset();
    this.unprotectedVolume.reset();
    this.lastSuccess.reset();
    for (const row of rows) {
      const d = row.decision;
      const policy = d.state === 'protected' ? d.policy : '';
      this.protectedVolume.set({ namespace: row.namespace, pvc: row.name, policy }, d.state === 'protected' ? 1 : 0);
      if (d.state === 'unprotected')
        this.unprotectedVolume.set({ namespace: row.namespace, pvc: row.name, cause: d.cause }, 1);
      const last = row.lastBackup === undefined ? Number.NaN : Date.parse(row.lastBackup);
      if (!Number.isNaN(last)) this.lastSuccess.set({ namespace: row.namespace, pvc: row.name, policy }, last / 1000);
    }
    for (const decision of ['protected', 'excluded', 'unprotected'] as const)
      this.volumes.set({ decision }, counts[decision]);
  }
}
