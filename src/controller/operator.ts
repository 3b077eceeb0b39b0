// The long-running operator: serves /metrics, /healthz and /readyz on every
// replica; the replica that holds the Lease watches the cluster and keeps the
// decisions current. Losing the Lease stops the work and returns 'lost', so
// the process can exit and be restarted clean.
import type { BackupRepository, MoverSettings } from '../api/index.ts';
import { createServer, type Server } from 'node:http';
import { LeaderElector, type KubeClient, type LeaderElectionOptions } from '../kube/index.ts';
import { backupKind } from './backup/backup-kind.ts';
import { BackupScheduler } from './backup/backup-scheduler.ts';
import { ClusterCache } from './cluster-cache.ts';
import { CoverageController } from './coverage/coverage-controller.ts';
import { bucketRestoreKindOf } from './bucket-restore/bucket-restore-kind.ts';
import { downloadKindOf } from './download/download-kind.ts';
import { dumpKindOf } from './dump/dump-kind.ts';
import { DumpRelays } from './dump/dump-relay.ts';
import { AnnotatedDumps } from './dump/annotated-dumps.ts';
import { DumpScheduler } from './dump/dump-scheduler.ts';
import { BucketDiscovery } from './bucket/bucket-discovery.ts';
import { PolicyDumps } from './dump/policy-dumps.ts';
import { Exposer } from './expose/index.ts';
import { maintenanceFor, maintenanceKind } from './maintenance/maintenance-kind.ts';
import { MaintenanceScheduler } from './maintenance/maintenance-scheduler.ts';
import { RepositoryProber } from './repository/repository-prober.ts';
import { OrphanMarker } from './maintenance/orphan-marks.ts';
import { HistoryWriter } from './history/history-writer.ts';
import { restoreKind } from './restore/restore-kind.ts';
import { drillKind } from './drill/drill-kind.ts';
import { DrillScheduler } from './drill/drill-scheduler.ts';
import { RunEngine } from './run/run-engine.ts';
import { StartGate } from './run/start-gate.ts';
import { Sweeper } from './run/sweep.ts';
import { OperatorMetrics } from './metrics.ts';
import type { OperatorView, PageHandler } from '../core/index.ts';
import { leaderView } from './operator-view.ts';

/** A day of finished runs stays visible to `kubectl get volumebackups`; their backups stay in the histories. */
export const defaultKeepRunsForMs = 86_400_000;

export type Log = (message: string, fields?: Record<string, unknown>) => void;

export interface OperatorOptions {
  namespace: string;
  identity: string;
  leaseName: string;
  /** The Lease's timings; client-go's defaults (15 s lease, 10 s renew deadline, 2 s retry) when left out. */
  leaderElection?: Pick<LeaderElectionOptions, 'leaseDurationSeconds' | 'renewDeadlineMs' | 'retryPeriodMs'>;
  metricsHost: string;
  metricsPort: number;
  /** The image of mover Jobs (this same program). */
  mover: MoverSettings;
  /** Backup movers at once, cluster-wide: the ceiling a policy may only lower. */
  maxConcurrentMovers: number;
  /** Restores and downloads at once, cluster-wide: their own limit, apart from backups'. */
  maxConcurrentRestores: number;
  /** Restore drills at once, cluster-wide: their own limit, so drills never hold up a person's restore. */
  maxConcurrentDrills?: number;
  /** How long a finished backup's VolumeBackup stays once its volume's history holds the backup. */
  keepRunsForMs?: number;
  /** How often leftovers of vanished runs are swept (besides at start). */
  sweepIntervalMs?: number;
  /** Read-only pages served beside /metrics (the dashboard), given the view of this replica's state. */
  pages?: (view: () => OperatorView) => PageHandler;
}

export interface OperatorDeps {
  client: KubeClient;
  log: Log;
  now: () => Date;
  signal: AbortSignal;
}

export async function runOperator(deps: OperatorDeps, options: OperatorOptions): Promise<'lost' | 'stopped'> {
  const metrics = new OperatorMetrics();
  let ready = false;
  const standby: OperatorView = { role: 'standby', identity: options.identity };
  let view = (): OperatorView => standby;
  const pages = options.pages?.(() => view());
  const server = await serve(metrics, () => ready, options, deps.log, pages);
  try {
    const elector = new LeaderElector(deps.client, {
      namespace: options.namespace,
      name: options.leaseName,
      identity: options.identity,
      ...options.leaderElection,
    });
    deps.log('waiting for leadership', {
      lease: `${options.namespace}/${options.leaseName}`,
      identity: options.identity,
    });
    if (!(await elector.acquire(deps.signal))) return 'stopped';
    deps.log('leading');
    metrics.leader.set(1);
    // Every write of the controllers passes the Lease's deadline first: paused past it, this replica writes nothing.
    const client = deps.client.derive({ fence: elector.fence });
    const cache = new ClusterCache(deps.client, options.namespace, (error) =>
      deps.log('watch error', { error: String(error) }),
    );
    const controller = new CoverageController({ client, cache, metrics, now: deps.now, log: deps.log });
    view = () =>
      ready
        ? leaderView(cache, controller, options.identity, deps.now())
        : { role: 'starting', identity: options.identity };
    const histories = new HistoryWriter({
      client,
      cache,
      now: deps.now,
      log: deps.log,
      keepRunsForMs: options.keepRunsForMs ?? defaultKeepRunsForMs,
    });
    // What every kind of run shares: the caches, the start gate, where movers run, and how volumes reach them.
    const runs = {
      ...deps,
      client,
      cache,
      coverage: controller,
      metrics,
      gate: new StartGate(),
      namespace: options.namespace,
      mover: options.mover,
      exposer: new Exposer({ client, cache, namespace: options.namespace }),
      maxConcurrentMovers: options.maxConcurrentMovers,
      maxConcurrentRestores: options.maxConcurrentRestores,
      maxConcurrentDrills: options.maxConcurrentDrills ?? 2,
      histories,
      maintenanceFor: (repository: BackupRepository, namespace: string) => maintenanceFor(cache, repository, namespace),
    };
    const runsReady = Promise.all([cache.synced(), controller.firstPass]);
    const engine = { client, gate: runs.gate, log: deps.log, ready: runsReady };
    const engines = [
      new RunEngine(backupKind(runs), engine),
      new RunEngine(restoreKind(runs), engine),
      new RunEngine(downloadKindOf(runs), engine),
      new RunEngine(bucketRestoreKindOf(runs), engine),
      new RunEngine(maintenanceKind(runs), engine),
      new RunEngine(dumpKindOf({ ...runs, relays: new DumpRelays(client, deps.log) }), engine),
      new RunEngine(drillKind(runs), engine),
    ];
    const sweeper = new Sweeper(
      { client, cache, namespace: options.namespace, log: deps.log, now: deps.now },
      options.sweepIntervalMs,
    );
    const orphans = new OrphanMarker(runs);
    const scheduler = new BackupScheduler({
      client,
      cache,
      now: deps.now,
      log: deps.log,
      passes: metrics.schedulerPasses,
    });
    const dumpScheduler = new DumpScheduler({ client, cache, now: deps.now, log: deps.log });
    const drillScheduler = new DrillScheduler({ client, cache, coverage: controller, now: deps.now, log: deps.log });
    const annotatedDumps = new AnnotatedDumps({ client, cache, coverage: controller, log: deps.log });
    const policyDumps = new PolicyDumps({
      client,
      cache,
      coverage: controller,
      namespace: options.namespace,
      now: deps.now,
      log: deps.log,
    });
    const bucketDiscovery = new BucketDiscovery({
      client,
      cache,
      namespace: options.namespace,
      now: deps.now,
      log: deps.log,
    });
    const maintenanceScheduler = new MaintenanceScheduler({
      client,
      cache,
      namespace: options.namespace,
      now: deps.now,
      log: deps.log,
    });
    const prober = new RepositoryProber({
      client: deps.client,
      cache,
      namespace: options.namespace,
      now: deps.now,
      log: deps.log,
    });
    controller.onRecomputed((rows) => scheduler.update(rows));
    cache.start();
    const started = Date.now();
    void controller.start();
    for (const e of engines) void e.start();
    void sweeper.start(runsReady);
    void orphans.start(runsReady);
    void histories.start(runsReady);
    void controller.firstPass.then(() => maintenanceScheduler.start());
    void runsReady.then(() => {
      annotatedDumps.start();
      dumpScheduler.start();
      drillScheduler.start();
    });
    // Only from a whole coverage decision: before it, every namespace would look unprotected.
    void Promise.all([runsReady, controller.firstPass]).then(() => policyDumps.start());
    void cache.synced().then(() => bucketDiscovery.start());
    prober.start();
    void cache.synced().then(() =>
      deps.log('every cache is synced', {
        ms: Date.now() - started,
        volumeBackups: cache.volumeBackups.size,
        volumeHistories: cache.histories.size,
      }),
    );
    void controller.firstPass.then(() => {
      ready = true;
      deps.log('ready', { ms: Date.now() - started });
    });
    const outcome = await elector.holdUntilLost(deps.signal);
    view = () => standby;
    metrics.leader.set(0);
    scheduler.stop();
    dumpScheduler.stop();
    drillScheduler.stop();
    policyDumps.stop();
    bucketDiscovery.stop();
    maintenanceScheduler.stop();
    prober.stop();
    sweeper.stop();
    orphans.stop();
    histories.stop();
    for (const e of engines) e.stop();
    controller.stop();
    await cache.stop();
    deps.log(outcome === 'lost' ? 'lost leadership' : 'stopped');
    return outcome;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function serve(
  metrics: OperatorMetrics,
  isReady: () => boolean,
  options: OperatorOptions,
  log: Log,
  pages: PageHandler | undefined,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path === '/metrics') {
      void metrics.registry.metrics().then((text) => {
        response.writeHead(200, { 'content-type': metrics.registry.contentType });
        response.end(text);
      });
    } else if (path === '/healthz') {
      response.writeHead(200).end('ok\n');
    } else if (path === '/readyz') {
      response.writeHead(isReady() ? 200 : 503).end(isReady() ? 'ok\n' : 'not ready\n');
    } else if (pages?.(request, response) !== true) {
      response.writeHead(404).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.metricsPort, options.metricsHost, () => {
      // The bound port, not the asked one: port 0 picks a free one.
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : options.metricsPort;
      log('serving metrics', { address: `${options.metricsHost}:${port}` });
      resolve(server);
    });
  });
}
