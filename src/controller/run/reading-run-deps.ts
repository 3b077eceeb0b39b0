// What a kind of run that reads a repository (a restore, a download, a bucket
// restore) needs from the operator: the API and its caches, Safehold's
// namespace and mover settings, the clock and log, the maintenance windows,
// the start gate and the limit on restores running at once.
import type { BackupRepository, MoverSettings } from '../../api/index.ts';
import type { KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';
import type { StartGate } from './start-gate.ts';

export interface ReadingRunDeps {
  client: KubeClient;
  cache: ClusterCache;
  namespace: string;
  mover: MoverSettings;
  now: () => Date;
  log: Log;
  maintenanceFor: (repository: BackupRepository, namespace: string) => string | undefined;
  gate: StartGate;
  maxConcurrentRestores: number;
}
