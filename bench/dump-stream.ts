// What an application dump costs: PostgreSQL on the real node with pgbench's
// tables at scale 10 (a ~100 MB pg_dumpall), dumped three ways, each three
// times, one after another:
// - pg_dumpall alone, its output counted and thrown away in the container (the floor);
// - as K8up does it: the command's stdout through pods/exec straight into
//   `restic backup --stdin` on this machine (no count, no check of what arrived);
// - Safehold: a DumpRun, from its creation to Succeeded, and its stream alone
//   (the stream's start to the stored file), by a running operator whose
//   movers run on the real node.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { DumpRun } from '../src/api/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { databaseContainer, startDatabase } from '../testenv/real-node/database-pod.ts';
import { realNodePlacement } from '../testenv/real-node/kubelet.ts';
import { waitFor } from '../testenv/daemons.ts';
import { applyBenchSecrets, operatorArgv } from './operator-process.ts';

export interface DumpStreamResult {
  dumpBytes: number;
  /** pg_dumpall alone, in the container, its output counted (s). */
  commandSeconds: number[];
  /** pods/exec stdout piped into restic backup --stdin here, as K8up does (s). */
  execToResticSeconds: number[];
  /** Safehold: the DumpRun from creation to Succeeded (s), and its stream (start to the stored file). */
  safeholdSeconds: number[];
  safeholdStreamSeconds: number[];
  method: string;
}

const runs = 3;

export async function benchDumpStream(
  env: TestEnvironment,
  client: KubeClient,
  log: (line: string) => void,
): Promise<DumpStreamResult> {
  const node = env.realNode;
  if (node?.postgresImage === undefined || node.image === undefined)
    throw new Error('the dump benchmark needs the real node with the Safehold and PostgreSQL images (build-image.sh)');
  const stamp = Date.now();
  const ns = `bench-dump-${stamp}`;
  const name = `bench-dump-${stamp}`;
  await client.create(kinds.namespace, { metadata: { name: ns } });
  const ref = await applyBenchSecrets(env, client);
  await client.create(kinds.backupRepository, {
    metadata: { name },
    spec: {
      // The movers run on the real node: radosgw through the bridge.
      s3: { endpoint: node.s3Endpoint, bucket: name, accessKeyId: ref('bench-s3'), secretAccessKey: ref('bench-s3') },
      password: ref('bench-password'),
    },
  } as KubeObject);
  await client.create(kinds.persistentVolumeClaim, {
    metadata: { name: 'pg', namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
  } as KubeObject);
  await startDatabase(client, {
    database: 'postgres',
    name: 'pg',
    namespace: ns,
    claim: 'pg',
    image: node.postgresImage,
    load: false,
    labels: { app: 'pg' },
  });
  const exec = (command: string[], onStdout?: (chunk: Buffer) => Promise<void>) =>
    client.exec({
      namespace: ns,
      pod: 'pg',
      container: databaseContainer,
      command,
      timeoutMs: 600_000,
      ...(onStdout === undefined ? {} : { onStdout }),
    });
  const init = await exec(['pgbench', '-i', '-q', '-s', '10']);
  if (init.exitCode !== 0) throw new Error(`pgbench -i: ${init.stderr}`);
  const made = spawnSync(env.tools.restic, ['init'], { env: resticEnv(env, name), encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`restic init: ${made.stderr}`);
  const mover = JSON.stringify(realNodePlacement());
  const operator = spawn(
    process.execPath,
    operatorArgv(env, name, { args: ['--mover-image', node.image, '--mover-pod', mover] }),
    { stdio: 'ignore' },
  );
  try {
    const result: DumpStreamResult = {
      dumpBytes: 0,
      commandSeconds: [],
      execToResticSeconds: [],
      safeholdSeconds: [],
      safeholdStreamSeconds: [],
      method:
        'PostgreSQL 15 on the real node, pgbench -i -s 10; pg_dumpall three ways, three times each: alone (| wc -c in the container); ' +
        "pods/exec stdout into restic backup --stdin on the host (K8up's way); a Safehold DumpRun by a local operator, movers on the real node " +
        '(creation to Succeeded, and the stream alone: its start to the stored file)',
    };
    const seconds = (from: number) => Math.round((performance.now() - from) / 10) / 100;
    for (let i = 1; i <= runs; i++) {
      let at = performance.now();
      const alone = await exec(['sh', '-c', 'pg_dumpall | wc -c']);
      result.commandSeconds.push(seconds(at));
      result.dumpBytes = Number(alone.stdout.trim());

      at = performance.now();
      await execIntoRestic(env, name, (onStdout) => exec(['pg_dumpall'], onStdout));
      result.execToResticSeconds.push(seconds(at));

      at = performance.now();
      if (i === 1)
        await client.create(kinds.applicationDump, {
          metadata: { name: 'pg', namespace: ns },
          spec: {
            podSelector: { matchLabels: { app: 'pg' } },
            container: databaseContainer,
            command: ['pg_dumpall'],
            fileName: 'all.sql',
            repository: name,
          },
        } as KubeObject);
      await client.create(kinds.dumpRun, {
        metadata: { name: `pg-${i}`, namespace: ns },
        spec: { dump: 'pg' },
      } as KubeObject);
      let run: DumpRun | undefined;
      await waitFor(
        `DumpRun ${ns}/pg-${i} to end`,
        async () => {
          run = await client.get<DumpRun>(kinds.dumpRun, { namespace: ns, name: `pg-${i}` });
          return run.status?.phase === 'Succeeded' || run.status?.phase === 'Failed';
        },
        { timeoutMs: 600_000, intervalMs: 100 },
      );
      if (run?.status?.phase !== 'Succeeded') throw new Error(`DumpRun pg-${i}: ${run?.status?.message ?? ''}`);
      result.safeholdSeconds.push(seconds(at));
      result.safeholdStreamSeconds.push(
        (Date.parse(run.status.completionTime ?? '') - Date.parse(run.status.streamStartTime ?? '')) / 1000,
      );
      log(
        `dump ${i}: alone ${result.commandSeconds.at(-1)} s, exec into restic ${result.execToResticSeconds.at(-1)} s, Safehold ${result.safeholdSeconds.at(-1)} s`,
      );
    }
    return result;
  } finally {
    operator.kill('SIGTERM');
    await client.delete(kinds.namespace, { name: ns }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name }).catch(() => undefined);
  }
}

function resticEnv(env: TestEnvironment, bucket: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}-k8up`,
    RESTIC_PASSWORD: 'bench-password',
    AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
    AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
  };
}

/** K8up's way: the command's stdout, through pods/exec, into restic backup --stdin here. */
async function execIntoRestic(
  env: TestEnvironment,
  bucket: string,
  run: (onStdout: (chunk: Buffer) => Promise<void>) => Promise<{ exitCode: number | undefined; stderr: string }>,
): Promise<void> {
  const args = ['backup', '--stdin', '--stdin-filename', 'all.sql', '--quiet', '--host', 'k8up-way'];
  const restic = spawn(env.tools.restic, args, { env: resticEnv(env, bucket), stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  restic.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(restic, 'exit');
  const result = await run(async (chunk) => {
    if (!restic.stdin.write(chunk)) await once(restic.stdin, 'drain');
  });
  restic.stdin.end();
  const [code] = (await exited) as [number | null];
  if (result.exitCode !== 0 || code !== 0)
    throw new Error(`exec into restic: ${result.stderr} ${stderr} (restic exited ${String(code)})`);
}
