// The backup kind of run: a VolumeBackup, observed from the caches
// (backup-observation.ts), decided by core (nextRunStep), carried out one
// step at a time (backup-steps.ts). Changes to the run's own objects
// (snapshot, clone, alias, Job, mover Pod) bring it back; a run ending lets
// the waiting ones look again.
import { runLabels, type BackupRepository, type MoverSettings, type VolumeBackup } from '../../api/index.ts';
import { nextRunStep, type RunStep } from '../../core/index.ts';
import { kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';
import type { Exposer } from '../expose/index.ts';
import type { OperatorMetrics } from '../metrics.ts';
import type { Log } from '../operator.ts';
import { labelledRun, type RunKind } from '../run/run-kind.ts';
import type { StartGate } from '../run/start-gate.ts';
import { removeTemporaries } from './backup-objects.ts';
import { observeRun, type ObservedRun } from './backup-observation.ts';
import { releaseGroupSnapshot } from './group-snapshot-steps.ts';
import { carryOut } from './backup-steps.ts';

export interface BackupDeps {
  client: KubeClient;
  /** Safehold's namespace: movers, their credentials and volume aliases live here. */
  namespace: string;
  cache: ClusterCache;
  coverage: CoverageController;
  metrics: OperatorMetrics;
  now: () => Date;
  log: Log;
  mover: MoverSettings;
  maxConcurrentMovers: number;
  /** The unfinished maintenance of the repository a namespace's backups go to, if any. */
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  gate: StartGate;
  exposer: Exposer;
}

export function backupKind(deps: BackupDeps): RunKind<VolumeBackup, ObservedRun, RunStep> {
  const { cache } = deps;
  return {
    kind: 'VolumeBackup',
    resource: kinds.volumeBackup,
    informer: cache.volumeBackups,
    concurrency: 4,
    starts: 'writes',
    owned: [cache.snapshots, cache.groupSnapshots, cache.jobs, cache.claims, cache.volumes, cache.pods],
    runOf: labelledRun(runLabels.run),
    wakeUps: [],
    finished: (backup) => backup.status?.phase === 'Succeeded' || backup.status?.phase === 'Failed',
    // A finished backup's one step is its clean-up; cleaned up, the history is only read.
    nothingAfterCleanUp: true,
    observe: (backup) => observeRun(deps, backup, deps.now()),
    next: (observed) => nextRunStep(observed.observation),
    carryOut: (backup, observed, step) => carryOut(deps, backup, observed, step),
    cleanUp: async (backup) => {
      await removeTemporaries(deps, backup, false);
      await releaseGroupSnapshot(deps, backup, true);
    },
  };
}
