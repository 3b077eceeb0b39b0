// `safehold operator`: registered here because only bin may join the CLI to
// the controller. Exits 0 when stopped by a signal, 1 when leadership is lost.
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { duration, durationMs, parseMoverPod } from '../api/index.ts';
import { runOperator } from '../controller/index.ts';
import { leaderTimingsError, type ClientOptions } from '../kube/index.ts';
import { dashboardPages } from '../dashboard/index.ts';
import { connect } from './connect.ts';

interface OperatorFlags {
  namespace?: string;
  metricsBindAddress: string;
  leaseName: string;
  identity?: string;
  moverImage: string;
  moverPod: string;
  maxConcurrentMovers: string;
  maxConcurrentRestores: string;
  maxConcurrentDrills: string;
  sweepInterval: string;
  keepRunsFor: string;
  kubeApiQps: string;
  kubeApiBurst: string;
  kubeApiTimeout: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  dashboard: boolean;
}

export function addOperatorCommand(program: Command): void {
  program
    .command('operator')
    .description('run the operator: keep every PVC decision current, serve /metrics, elect a leader through a Lease')
    .option(
      '--namespace <namespace>',
      "the operator's namespace, where its Lease lives (default: its Pod's, else safehold-system)",
    )
    .option('--metrics-bind-address <host:port>', 'where to serve /metrics, /healthz and /readyz', '0.0.0.0:8080')
    .option('--lease-name <name>', 'the leader election Lease', 'safehold-operator')
    .option('--lease-duration <duration>', 'how long a Lease taken or renewed stays valid for others', '15s')
    .option('--renew-deadline <duration>', 'a leader that could not renew for this long stops acting and exits', '10s')
    .option('--retry-period <duration>', 'how often the leader renews, and others try to take the Lease', '2s')
    .option('--identity <id>', 'this replica in the Lease (default: hostname and pid)')
    .option('--mover-image <image>', 'the image of mover Jobs', 'safehold')
    .option('--mover-pod <json>', 'resources, nodeSelector and tolerations of every mover Pod, as JSON', '{}')
    .option(
      '--max-concurrent-movers <n>',
      'backup movers running at once, cluster-wide (a policy may lower it for its volumes, never raise it)',
      '4',
    )
    .option('--max-concurrent-restores <n>', 'restores and downloads running at once, cluster-wide', '4')
    .option('--max-concurrent-drills <n>', 'restore drills running at once, cluster-wide (apart from restores)', '2')
    .option(
      '--sweep-interval <duration>',
      'how often leftovers of vanished runs are looked for (besides at start)',
      '10m',
    )
    .option(
      '--keep-runs-for <duration>',
      "how long a finished backup's VolumeBackup stays once its volume's VolumeHistory holds the backup",
      '24h',
    )
    .option('--kube-api-qps <n>', 'requests a second to the API server, on average (the client-side rate limit)', '50')
    .option('--kube-api-burst <n>', 'requests to the API server at once before the rate limit applies', '100')
    .option(
      '--kube-api-timeout <duration>',
      'how long one request to the API server may take before it is abandoned',
      '30s',
    )
    .option('--no-dashboard', 'do not serve the read-only web dashboard beside /metrics (on the same address)')
    .action(async (flags: OperatorFlags) => {
      const moverPod = parseMoverPod(flags.moverPod);
      if (!moverPod.ok) program.error(moverPod.error);
      const sweepInterval = duration.safeParse(flags.sweepInterval);
      if (!sweepInterval.success || durationMs(sweepInterval.data) < 1000)
        program.error(
          `error: --sweep-interval must be a duration of at least 1s, such as 10m (got "${flags.sweepInterval}")`,
        );
      const keepRunsFor = duration.safeParse(flags.keepRunsFor);
      if (!keepRunsFor.success)
        program.error(`error: --keep-runs-for must be a duration such as 24h or 0s (got "${flags.keepRunsFor}")`);
      const limits = {
        maxConcurrentMovers: positiveCount(program, '--max-concurrent-movers', flags.maxConcurrentMovers),
        maxConcurrentRestores: positiveCount(program, '--max-concurrent-restores', flags.maxConcurrentRestores),
        maxConcurrentDrills: positiveCount(program, '--max-concurrent-drills', flags.maxConcurrentDrills),
      };
      const identity = flags.identity ?? `${hostname()}-${process.pid}`;
      const client = connect(program.opts()).derive(kubeApiLimits(program, flags));
      // The audit log tells replicas apart.
      client.userAgent = `safehold (${identity})`;
      const [host, port] = splitHostPort(flags.metricsBindAddress);
      const stop = new AbortController();
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
      const log = (message: string, fields: Record<string, unknown> = {}) => {
        process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message, ...fields })}\n`);
      };
      const outcome = await runOperator(
        { client, log, now: () => new Date(), signal: stop.signal },
        {
          namespace:
            flags.namespace ?? (client.defaultNamespace === 'default' ? 'safehold-system' : client.defaultNamespace),
          identity,
          leaseName: flags.leaseName,
          leaderElection: leaderTimings(program, flags),
          metricsHost: host,
          metricsPort: Number(port),
          mover: { ...moverPod.value, image: flags.moverImage },
          ...limits,
          sweepIntervalMs: durationMs(flags.sweepInterval),
          keepRunsForMs: durationMs(flags.keepRunsFor),
          pages: flags.dashboard ? dashboardPages : undefined,
        },
      );
      client.close();
      // A replica that lost its Lease exits at once, as client-go's do: nothing it still holds may act.
      if (outcome === 'lost') process.exit(1);
    });
}

/** A limit flag's value; anything but a whole number of at least 1 stops the command, naming the flag. */
function positiveCount(program: Command, flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    program.error(`error: ${flag} must be a whole number of at least 1 (got "${value}")`);
  return n;
}

/** The Lease's timings; a malformed one, or an order that cannot hold, stops the command. */
function leaderTimings(program: Command, flags: OperatorFlags) {
  const ms = (flag: string, text: string) => {
    if (!duration.safeParse(text).success || durationMs(text) === 0)
      program.error(`error: ${flag} must be a duration such as 15s (got "${text}")`);
    return durationMs(text);
  };
  const timings = {
    leaseDurationSeconds: ms('--lease-duration', flags.leaseDuration) / 1000,
    renewDeadlineMs: ms('--renew-deadline', flags.renewDeadline),
    retryPeriodMs: ms('--retry-period', flags.retryPeriod),
  };
  const wrong = leaderTimingsError(timings);
  if (wrong !== undefined) program.error(`error: ${wrong} (--retry-period, --renew-deadline, --lease-duration)`);
  return timings;
}

/** The client-side rate limit and request timeout; a bad value stops the command, naming the flag. */
function kubeApiLimits(program: Command, flags: OperatorFlags): Pick<ClientOptions, 'rateLimit' | 'timeoutMs'> {
  const qps = Number(flags.kubeApiQps);
  if (!(qps > 0)) program.error(`error: --kube-api-qps must be a number above 0 (got "${flags.kubeApiQps}")`);
  const burst = positiveCount(program, '--kube-api-burst', flags.kubeApiBurst);
  const timeout = duration.safeParse(flags.kubeApiTimeout);
  if (!timeout.success || durationMs(timeout.data) < 1000)
    program.error(
      `error: --kube-api-timeout must be a duration of at least 1s, such as 30s (got "${flags.kubeApiTimeout}")`,
    );
  return { rateLimit: { qps, burst }, timeoutMs: durationMs(timeout.data) };
}

function splitHostPort(address: string): [string, string] {
  const index = address.lastIndexOf(':');
  return index < 0 ? ['0.0.0.0', address] : [address.slice(0, index), address.slice(index + 1)];
}
