// Benchmark for issue 3: the operator against 10,000 bound PVCs in 1,000
// namespaces on the real API server. Measures the time from process start to
// every PVC having a decision, the steady RSS, and every request the operator
// sends during a quiet period (from the apiserver's audit log, by user agent).
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { kinds, type KubeClient } from '../src/kube/index.ts';
import { installCrds } from '../testenv/crds.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { ensureFixture, type FixtureSize } from './cluster-fixture.ts';
import { operatorArgv } from './operator-process.ts';

export interface CoverageResult {
  volumes: number;
  namespaces: number;
  msToAllDecisions: number;
  rssMiB: { afterDecisions: number; steadyMax: number; samples: number[] };
  quietSeconds: number;
  quietRequests: Record<string, number>;
}

interface AuditEvent {
  stage: string;
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  objectRef?: { resource?: string };
}

export async function benchCoverage(
  env: TestEnvironment,
  client: KubeClient,
  size: FixtureSize,
  quietSeconds: number,
  log: (line: string) => void,
): Promise<CoverageResult> {
  await installCrds(client);
  await ensureFixture(client, size, log);
  const policy = 'bench-default';
  await client.apply(kinds.backupPolicy, { metadata: { name: policy }, spec: { default: true } } as never, {
    force: true,
  });
  await client.apply(kinds.namespace, { metadata: { name: 'safehold-system' } }, { force: true });

  const started = Date.now();
  const child = spawn(process.execPath, operatorArgv(env, `bench-${started}`), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid ?? 0;
  try {
    const ready = await new Promise<{ at: number; volumes: number }>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const entry = JSON.parse(line) as { msg: string; time: string; volumes?: number };
        if (entry.msg === 'every volume has a decision')
          resolve({ at: Date.parse(entry.time), volumes: entry.volumes ?? 0 });
      });
      child.once('exit', (code) => reject(new Error(`operator exited with ${code ?? 'a signal'} before deciding`)));
    });
    const msToAllDecisions = ready.at - started;
    log(`operator decided ${ready.volumes} volumes ${msToAllDecisions} ms after start`);
    const afterDecisions = rssMiB(pid);

    await sleep(10_000); // let start-up garbage settle before the quiet window
    const auditPath = join(env.dir, 'kube', 'audit.log');
    const windowStart = new Date();
    const offset = statSync(auditPath).size;
    const samples: number[] = [];
    const end = Date.now() + quietSeconds * 1000;
    while (Date.now() < end) {
      samples.push(rssMiB(pid));
      await sleep(Math.min(5000, Math.max(0, end - Date.now())));
    }
    const quietRequests = await countRequests(auditPath, offset, windowStart, new Date());
    return {
      volumes: ready.volumes,
      namespaces: size.namespaces,
      msToAllDecisions,
      rssMiB: { afterDecisions, steadyMax: Math.max(...samples), samples },
      quietSeconds,
      quietRequests,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

/** Requests from Safehold's user agent received in [from, to], by verb and resource. */
export async function countRequests(
  path: string,
  offset: number,
  from: Date,
  to: Date,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const lines = createInterface({ input: createReadStream(path, { start: offset }) });
  for await (const line of lines) {
    if (!line.includes('"safehold')) continue;
    const event = JSON.parse(line) as AuditEvent;
    // Safehold's own requests only (`safehold`, or `safehold (<replica>)`): the test environment's daemons say safehold-testenv.
    const agent = event.userAgent ?? '';
    if (!/^safehold($| |\/)/.test(agent)) continue;
    const at = Date.parse(event.requestReceivedTimestamp);
    const counted = event.verb === 'watch' ? event.stage === 'ResponseStarted' : event.stage === 'ResponseComplete';
    if (!counted || at < from.getTime() || at > to.getTime()) continue;
    const key = `${event.verb} ${event.objectRef?.resource ?? '?'}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
