// A database Pod on the real node, from a test image (testenv/images):
// PostgreSQL or MariaDB, its data made on the claim at first start and reached
// over a local socket, and, when asked, a steady write load: pgbench (two
// clients, every transaction logged in /tmp/pgbench_log.*, for the pause
// benchmark), or a loop of single-row inserts into app.t. The journeys and
// the benchmarks run the same Pods.
import { kinds, type KubeClient, type KubeObject } from '../../src/kube/index.ts';
import { waitFor } from '../daemons.ts';
import { realNodePlacement } from './kubelet.ts';

export type Database = 'postgres' | 'mariadb';

export interface DatabasePod {
  database: Database;
  name: string;
  namespace: string;
  claim: string;
  image: string;
  /** A write load until the Pod goes: pgbench's (scale 2, two clients), or MariaDB's inserts. */
  load: boolean;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** The container of both databases' Pods. */
export const databaseContainer = 'db';

function postgresStart(load: boolean): string[] {
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
  ];
}

function mariadbStart(load: boolean): string[] {
  return [
    'set -e',
    'mkdir -p /run/mysqld /data/mysql && chown mysql:mysql /run/mysqld /data/mysql',
    '[ -d /data/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/data/mysql --auth-root-authentication-method=socket > /tmp/install.log 2>&1',
    'mariadbd --user=mysql --datadir=/data/mysql --skip-networking > /tmp/mariadb.log 2>&1 &',
    "until mariadb -e 'SELECT 1' > /dev/null 2>&1; do sleep 0.2; done",
    ...(load
      ? [
          "mariadb -e 'CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB'",
          "(while :; do mariadb -e 'INSERT INTO app.t (v) VALUES (FLOOR(RAND() * 1000))'; done) > /dev/null 2>&1 &",
        ]
      : []),
  ];
}

const databases: Record<Database, { start: (load: boolean) => string[]; env: { name: string; value: string }[] }> = {
  postgres: {
    start: postgresStart,
    env: [
      { name: 'PGDATA', value: '/data/pg' },
      { name: 'PGHOST', value: '/tmp' },
      { name: 'PGUSER', value: 'postgres' },
      { name: 'PGDATABASE', value: 'postgres' },
    ],
  },
  mariadb: { start: mariadbStart, env: [] },
};

/** Creates the Pod and waits until the database answers (and the load runs, when asked). */
export async function startDatabase(client: KubeClient, pod: DatabasePod): Promise<void> {
  const database = databases[pod.database];
  await client.create(kinds.pod, {
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      ...(pod.annotations === undefined ? {} : { annotations: pod.annotations }),
      ...(pod.labels === undefined ? {} : { labels: pod.labels }),
    },
    spec: {
      ...realNodePlacement(),
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: databaseContainer,
          image: pod.image,
          imagePullPolicy: 'Never',
          command: ['sh', '-c', [...database.start(pod.load), 'touch /tmp/ready', 'wait'].join('\n')],
          securityContext: { runAsUser: 0 },
          // In the container's environment, so hooks and execs reach the server too.
          env: database.env,
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pod.claim } }],
    },
  } as KubeObject);
  await waitFor(
    `${pod.database} in Pod ${pod.namespace}/${pod.name} ready`,
    async () => {
      const ready = await client.exec({
        namespace: pod.namespace,
        pod: pod.name,
        container: databaseContainer,
        command: ['test', '-e', '/tmp/ready'],
        timeoutMs: 10_000,
      });
      return ready.exitCode === 0;
    },
    { timeoutMs: 180_000 },
  );
}

/** One statement through the database's client in the Pod; its output, trimmed, columns joined by a space. */
export async function sql(client: KubeClient, database: Database, namespace: string, pod: string, statement: string) {
  const command =
    database === 'postgres'
      ? ['psql', '-XAtq', '-F', ' ', '-v', 'ON_ERROR_STOP=1', '-c', statement]
      : ['mariadb', '--batch', '--skip-column-names', '-e', statement];
  const result = await client.exec({ namespace, pod, container: databaseContainer, command, timeoutMs: 60_000 });
  if (result.exitCode !== 0)
    throw new Error(`${command[0] ?? ''} in ${namespace}/${pod}: ${result.error ?? result.stderr}`);
  return result.stdout.trim().replaceAll('\t', ' ');
}

/** What each database's load changes: pgbench's history rows and account balances; MariaDB's rows and their sum. */
export const loadState: Record<Database, string> = {
  postgres: 'SELECT (SELECT count(*) FROM pgbench_history), (SELECT sum(abalance) FROM pgbench_accounts)',
  mariadb: 'SELECT count(*), COALESCE(sum(v), 0) FROM app.t',
};
