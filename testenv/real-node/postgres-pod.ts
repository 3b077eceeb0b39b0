// A PostgreSQL Pod on the real node, from the test image (testenv/images/postgres):
// a cluster made on the claim at first start, reached over a socket in /tmp,
// and, when asked, pgbench's tables with a steady load of two clients whose
// every transaction is logged (/tmp/pgbench_log.*: completion times, for the
// pause benchmark). The journeys and the benchmarks run the same Pod.
import { kinds, type KubeClient, type KubeObject } from '../../src/kube/index.ts';
import { waitFor } from '../daemons.ts';
import { realNodeName, realNodeTaint } from './kubelet.ts';

export interface PostgresPod {
  name: string;
  namespace: string;
  claim: string;
  image: string;
  /** pgbench's tables (scale 2) and two clients writing until the Pod goes. */
  load: boolean;
  annotations?: Record<string, string>;
}

export const postgresContainer = 'postgres';

function startScript(load: boolean): string {
  return [
    'set -e',
    // The volume's root is root's; the cluster is postgres's, in a folder of its own.
    'mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"',
    'as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }',
    '[ -s "$PGDATA/PG_VERSION" ] || as_postgres initdb -D "$PGDATA" -U postgres --auth-local=trust > /dev/null',
    'as_postgres postgres -D "$PGDATA" -k /tmp -c listen_addresses= &',
    'until pg_isready -q; do sleep 0.2; done',
    ...(load
      ? [
          'pgbench -i -q -s 2 > /tmp/pgbench-init.log 2>&1',
          'pgbench -n -c 2 -T 3600 -l --log-prefix=/tmp/pgbench_log > /tmp/pgbench.log 2>&1 &',
        ]
      : []),
    'touch /tmp/ready',
    'wait',
  ].join('\n');
}

/** Creates the Pod and waits until PostgreSQL answers (and the load runs, when asked). */
export async function startPostgres(client: KubeClient, pod: PostgresPod): Promise<void> {
  await client.create(kinds.pod, {
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      ...(pod.annotations === undefined ? {} : { annotations: pod.annotations }),
    },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': realNodeName },
      tolerations: [{ key: realNodeTaint.key, operator: 'Exists', effect: realNodeTaint.effect }],
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: postgresContainer,
          image: pod.image,
          imagePullPolicy: 'Never',
          command: ['sh', '-c', startScript(pod.load)],
          securityContext: { runAsUser: 0 },
          // In the container's environment, so hooks and execs reach the server too.
          env: [
            { name: 'PGDATA', value: '/data/pg' },
            { name: 'PGHOST', value: '/tmp' },
            { name: 'PGUSER', value: 'postgres' },
            { name: 'PGDATABASE', value: 'postgres' },
          ],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pod.claim } }],
    },
  } as KubeObject);
  await waitFor(
    `PostgreSQL in Pod ${pod.namespace}/${pod.name} ready`,
    async () => {
      const ready = await client.exec({
        namespace: pod.namespace,
        pod: pod.name,
        container: postgresContainer,
        command: ['test', '-e', '/tmp/ready'],
        timeoutMs: 10_000,
      });
      return ready.exitCode === 0;
    },
    { timeoutMs: 180_000 },
  );
}

/** One statement through psql in the Pod; its output, trimmed. */
export async function psql(client: KubeClient, namespace: string, pod: string, sql: string): Promise<string> {
  const result = await client.exec({
    namespace,
    pod,
    container: postgresContainer,
    command: ['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    timeoutMs: 60_000,
  });
  if (result.exitCode !== 0) throw new Error(`psql in ${namespace}/${pod}: ${result.error ?? result.stderr}`);
  return result.stdout.trim();
}

/** What pgbench's transactions change: a row in history each, and the accounts' balances. */
export const pgbenchState =
  "SELECT (SELECT count(*) FROM pgbench_history) || ' ' || (SELECT sum(abalance) FROM pgbench_accounts)";
