// The restore drill kind of run: a RestoreDrill, observed from the caches
// (drill-observation.ts), decided by core (nextDrillStep), carried out one
// step at a time (drill-steps.ts). It reads a repository like a restore, so
// it starts under the start gate and never beside a prune; a maintenance that
// ends, or a drill that ends, lets waiting drills start.
import { runLabels, type BackupRepository, type MoverSettings, type RestoreDrill } from '../../api/index.ts';
import { nextDrillStep, type DrillStep } from '../../core/index.ts';
import { kinds, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { labelledRun, runEnded, type RunKind } from '../run/run-kind.ts';
import type { StartGate } from '../run/start-gate.ts';
import { drillFinished, observeDrill, type ObservedDrill } from './drill-observation.ts';
import { carryOutDrill, removeDrillTemporaries } from './drill-steps.ts';

export interface DrillDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  gate: StartGate;
  maxConcurrentDrills: number;
}

export function drillKind(deps: DrillDeps): RunKind<RestoreDrill, ObservedDrill, DrillStep> {
  const { cache } = deps;
  return {
    kind: 'RestoreDrill',
    resource: kinds.restoreDrill,
    informer: cache.drills,
    concurrency: 2,
    starts: 'reads',
    owned: [cache.jobs, cache.claims, cache.pods],
    runOf: labelledRun(runLabels.drill),
    wakeUps: [
      { informer: cache.maintenances, when: () => true },
      { informer: cache.drills, when: runEnded(drillFinished) },
    ],
    finished: drillFinished,
    nothingAfterCleanUp: true,
    observe: (drill) => observeDrill(deps, drill),
    next: (observed) => nextDrillStep(observed.observation),
    carryOut: (drill, observed, step) => carryOutDrill(deps, drill, observed, step),
    cleanUp: (drill) => removeDrillTemporaries(deps, drill),
  };
}
