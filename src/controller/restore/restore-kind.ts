// The restore kind of run: a VolumeRestore, observed from the caches
// (restore-observation.ts), decided by core (nextRestoreStep), carried out
// one step at a time (restore-steps.ts). It starts under the start gate, so
// it never starts beside a prune of its repository; a maintenance that ends
// lets waiting restores start.
import { runLabels, type BackupRepository, type MoverSettings, type VolumeRestore } from '../../api/index.ts';
import { nextRestoreStep, type RestoreStep } from '../../core/index.ts';
import { kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Exposer } from '../expose/index.ts';
import type { Log } from '../operator.ts';
import { labelledRun, type RunKind } from '../run/run-kind.ts';
import { observeRestore, type ObservedRestore } from './restore-observation.ts';
import { carryOutRestore, removeRestoreTemporaries } from './restore-steps.ts';

export interface RestoreDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  log: Log;
  exposer: Exposer;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
}

export function restoreKind(deps: RestoreDeps): RunKind<VolumeRestore, ObservedRestore, RestoreStep> {
  const { cache } = deps;
  return {
    kind: 'VolumeRestore',
    resource: kinds.volumeRestore,
    informer: cache.restores,
    concurrency: 2,
    starts: 'reads',
    owned: [cache.jobs, cache.claims, cache.volumes, cache.pods, cache.snapshots],
    runOf: labelledRun(runLabels.restore),
    wakeUps: [{ informer: cache.maintenances, when: () => true }],
    finished: (restore) => restore.status?.phase === 'Succeeded' || restore.status?.phase === 'Failed',
    observe: (restore) => observeRestore(deps, restore),
    next: (observed) => nextRestoreStep(observed.observation),
    carryOut: (restore, observed, step) => carryOutRestore(deps, restore, observed, step),
    cleanUp: (restore) => removeRestoreTemporaries(deps, restore),
  };
}
