// The restore kind of run: a VolumeRestore, observed from the caches
// (restore-observation.ts), decided by core (nextRestoreStep), carried out
// one step at a time (restore-steps.ts). It starts under the start gate, so
// it never starts beside a prune of its repository; a maintenance that ends
// lets waiting restores start.
import { runLabels, type VolumeRestore } from '../../api/index.ts';
import { nextRestoreStep, type RestoreStep } from '../../core/index.ts';
import { kinds } from '../../kube/index.ts';
import type { Exposer } from '../expose/index.ts';
import { labelledRun, runEnded, type RunKind } from '../run/run-kind.ts';
import { downloadFinished } from '../download/download-kind.ts';
import { observeRestore, restoreFinished, type ObservedRestore } from './restore-observation.ts';
import { carryOutRestore, removeRestoreTemporaries } from './restore-steps.ts';
import type { ReadingRunDeps } from '../run/reading-run-deps.ts';

export interface RestoreDeps extends ReadingRunDeps {
  exposer: Exposer;
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
    // A download that ends frees a slot that restores share.
    wakeUps: [
      { informer: cache.maintenances, when: () => true },
      { informer: cache.downloads, when: runEnded(downloadFinished) },
    ],
    finished: restoreFinished,
    observe: (restore) => observeRestore(deps, restore),
    next: (observed) => nextRestoreStep(observed.observation),
    carryOut: (restore, observed, step) => carryOutRestore(deps, restore, observed, step),
    cleanUp: (restore) => removeRestoreTemporaries(deps, restore),
  };
}
