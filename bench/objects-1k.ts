// Benchmark for issue 21: a namespace of 1,000 API objects on the real API
// server, dumped and restored. Safehold's side: the objects file as the
// operator produces it (namespaceObjects, in this process), then `safehold
// restore-resources --file --to` run as a user runs it, into an empty namespace
// and again onto the filled one. kubectl's side, in the same run: `get -o yaml`
// of every listable kind, and `apply -f` (client-side and --server-side) of the
// same sanitized objects.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { namespaceObjects } from '../src/controller/dump/namespace-objects.ts';
import {
  defaultClientOptions,
  isNotFound,
  kinds,
  type KubeClient,
  type KubeObject,
  type ResourceKind,
} from '../src/kube/index.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { repoRoot } from '../testenv/paths.ts';
import { pool } from './cluster-fixture.ts';
import { entryNodeFlags } from './entry-flags.ts';
import { inSequence, measure, type Measured } from './process-usage.ts';

/** The fastest and the middle of the rounds, and each round's figure. */
export interface Spread {
  min: number;
  median: number;
  runs: number[];
}

export interface ObjectsResult {
  method: string;
  kubectlVersion: string;
  fixture: { objects: Record<string, number>; total: number; secondsToCreate: number; concurrency: number };
  rounds: number;
  /** `safehold --version`: what starting the CLI's Node process costs, inside each CLI figure below. */
  cliStartSeconds: Spread;
  dump: {
    safehold: {
      seconds: Spread;
      cpuSeconds: Spread;
      /** VmHWM at the end less VmRSS at the start, the high-water mark reset first; undefined if it cannot be. */
      peakRssDeltaMiB: Spread | undefined;
      bytes: number;
      objects: number;
      kindsListed: number;
      skippedKinds: number;
      skippedObjects: number;
    };
    kubectl: { warmCache: ProcessFigures; coldCache: ProcessFigures; bytes: number; items: number; resources: number };
  };
  /** Into an empty namespace, and (noopRestore) the same again onto the filled one. */
  restore: Record<Restorer, Applied>;
  noopRestore: Record<Restorer, Applied>;
}

interface ProcessFigures {
  seconds: Spread;
  cpuSeconds: Spread;
  peakMiB: Spread;
}

/** A restore's figures and what became of the objects (by the CLI's step result, or kubectl's last word). */
type Applied = ProcessFigures & { results: Record<string, number> };

const restorers = ['safehold', 'kubectl', 'kubectlServerSide'] as const;
type Restorer = (typeof restorers)[number];
const targetSuffix: Record<Restorer, string> = { safehold: 's', kubectl: 'k', kubectlServerSide: 'ssa' };

interface Run {
  usage: Measured;
  results: Record<string, number>;
}

type KubectlRun = (args: string[]) => ReturnType<typeof measure>;

const rounds = 3;
const concurrency = 16;
const fixtureLabel = 'safehold.bench/objects';
const service: ResourceKind = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true };
const replicaSet: ResourceKind = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  namespaced: true,
};
const endpointSlice: ResourceKind = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  namespaced: true,
};

/** The environment's kubectl if it has one, else the one on PATH. */
export function defaultKubectl(env: TestEnvironment): string {
  const own = join(env.binDir, 'kubectl');
  return existsSync(own) ? own : 'kubectl';
}

export async function benchObjects(
  env: TestEnvironment,
  client: KubeClient,
  kubectl: string,
  log: (line: string) => void,
): Promise<ObjectsResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'safehold-objects-1k-'));
  const source = `bench-objects-${Date.now().toString(36)}`;
  const made = [source];
  const kube = ['--kubeconfig', env.kubeconfig, '--context', 'admin'];
  const runKubectl: KubectlRun = (args) => measure(kubectl, [...kube, ...args], { scratch });
  const cli = (args: string[]) =>
    measure(process.execPath, [...entryNodeFlags(), join(repoRoot, 'dist/bin/safehold.js'), ...kube, ...args], {
      scratch,
      env: { ...process.env, NO_COLOR: '1' },
    });
  try {
    const version = /Client Version: (\S+)/.exec((await runKubectl(['version', '--client'])).output.stdout)?.[1];
    const kubectlVersion = `${version ?? 'unknown'} (${kubectl})`;
    const fixture = await createFixture(client, source, log);
    // As the operator sends: its user agent and its default client-side rate limit.
    const operatorClient = client.derive({ rateLimit: defaultClientOptions.rateLimit });
    operatorClient.userAgent = 'safehold';
    const file = join(scratch, 'objects.jsonl');
    const listFile = join(scratch, 'objects.yaml');
    const warmCache = join(scratch, 'kube-cache');
    // kubectl keeps discovery in its cache for hours: filled once here for the warm runs.
    await runKubectl(['api-resources', '--cache-dir', warmCache]);
    const starts: number[] = [];
    const dumps: Awaited<ReturnType<typeof dumpWithSafehold>>[] = [];
    const kubectlDumps: { warm: Measured[]; cold: Measured[] } = { warm: [], cold: [] };
    let kubectlDump = { bytes: 0, items: 0, resources: 0 };
    const restores: Record<Restorer, { restore: Run[]; noop: Run[] }> = {
      safehold: { restore: [], noop: [] },
      kubectl: { restore: [], noop: [] },
      kubectlServerSide: { restore: [], noop: [] },
    };
    for (let round = 1; round <= rounds; round++) {
      starts.push((await cli(['--version'])).usage.seconds);
      dumps.push(await dumpWithSafehold(operatorClient, source, file));
      if (round === 1) writeFileSync(listFile, yamlList(readFileSync(file, 'utf8')));
      const warm = await dumpWithKubectl(runKubectl, source, warmCache);
      kubectlDumps.warm.push(warm.usage);
      kubectlDumps.cold.push((await dumpWithKubectl(runKubectl, source, join(scratch, `cold-${round}`))).usage);
      kubectlDump = { bytes: warm.bytes, items: warm.items, resources: warm.resources };

      for (const restorer of restorers) {
        const target = `${source}-${targetSuffix[restorer]}${round}`;
        made.push(target);
        const done =
          restorer === 'safehold'
            ? await restoreWithSafehold(cli, source, file, target)
            : await applyWithKubectl(runKubectl, listFile, target, restorer === 'kubectlServerSide', warmCache);
        restores[restorer].restore.push(done.restore);
        restores[restorer].noop.push(done.noop);
        // The service range (a /24) holds the Services of two namespaces: the target's go before the next.
        await deleteServices(client, target);
      }
      const seconds = (runs: { usage: Measured }[]) => `${runs.at(-1)?.usage.seconds.toFixed(2)} s`;
      log(
        `objects round ${round}: dump ${dumps.at(-1)?.seconds.toFixed(2)} s (kubectl ${warm.usage.seconds.toFixed(2)} s); ` +
          restorers
            .map((r) => `${r}: restore ${seconds(restores[r].restore)}, again ${seconds(restores[r].noop)}`)
            .join('; '),
      );
    }
    const first = dumps[0];
    if (first === undefined) throw new Error('no round ran');
    const peaks = dumps.map((d) => d.peakRssDeltaMiB);
    const applied = (runs: Run[]): Applied => ({
      ...figures(runs.map((r) => r.usage)),
      results: runs[0]?.results ?? {},
    });
    const each = (pick: (r: { restore: Run[]; noop: Run[] }) => Run[]) =>
      Object.fromEntries(restorers.map((r) => [r, applied(pick(restores[r]))])) as Record<Restorer, Applied>;
    return {
      method: method(fixture.total, kubectlVersion),
      kubectlVersion,
      fixture: { ...fixture, concurrency },
      rounds,
      cliStartSeconds: spread(starts),
      dump: {
        safehold: {
          seconds: spread(dumps.map((d) => d.seconds)),
          cpuSeconds: spread(dumps.map((d) => d.cpuSeconds)),
          peakRssDeltaMiB: peaks.every((p) => p !== undefined) ? spread(peaks) : undefined,
          bytes: first.bytes,
          objects: first.objects,
          kindsListed: first.kindsListed,
          skippedKinds: first.skippedKinds,
          skippedObjects: first.skippedObjects,
        },
        kubectl: { warmCache: figures(kubectlDumps.warm), coldCache: figures(kubectlDumps.cold), ...kubectlDump },
      },
      restore: each((r) => r.restore),
      noopRestore: each((r) => r.noop),
    };
  } finally {
    await deleteNamespaces(client, made, log);
    rmSync(scratch, { recursive: true, force: true });
  }
}

function method(total: number, kubectlVersion: string): string {
  return (
    `A fresh namespace with ${total} objects (400 ConfigMaps of 2 KiB data, 300 Opaque Secrets of 1 KiB, 150 ServiceAccounts, ` +
    `100 ClusterIP Services, 50 Deployments at replicas 0), created ${concurrency} at a time; then ${rounds} rounds, each on the real API server ` +
    '(etcd, kube-apiserver and kube-controller-manager on this 2-core machine), min and median reported. ' +
    "Dump: namespaceObjects in the benchmark's process, with the operator's user agent and default rate limit (50/s, burst 100): " +
    'discovery, a LIST of every kind it includes, sanitizing, the JSON-lines file written to disk; wall time, CPU time of the process, ' +
    'and its peak RSS over the RSS at the start (VmHWM reset through /proc/self/clear_refs; a lower bound, as the dump reuses heap ' +
    'the benchmark process already holds). ' +
    `Peer: kubectl ${kubectlVersion}: ` +
    '`kubectl api-resources --verbs=list --namespaced -o name` then `kubectl get <all of them> -n NS -o yaml`, output captured, ' +
    "with discovery from kubectl's cache (warm, its usual state) and with an empty --cache-dir (cold, as in a fresh Pod); " +
    'it lists every kind, so its output also holds what Safehold leaves out (ReplicaSets, Endpoints, EndpointSlices, Events, ' +
    'kube-root-ca.crt), and it sanitizes nothing. ' +
    'Restore: `safehold restore-resources NS --file F --to <fresh namespace> -o json` as a user runs it (dist/bin/safehold.js with its ' +
    "shebang's Node flags, the admin context): the process's wall time, CPU and peak RSS under GNU time, Node's start included " +
    '(cliStartSeconds is `safehold --version` alone); the CLI reads what exists, plans, creates the namespace and each object in turn ' +
    "under its restore's client-side rate limit (200/s, burst 200). No-op restore: the same command again onto the filled namespace. " +
    'Peers: `kubectl create namespace` plus `kubectl apply -f` of the same sanitized objects as one YAML List (metadata.namespace removed, ' +
    '-n naming the fresh namespace, discovery cached), client-side (the default: a GET, then a create or a three-way patch per object; ' +
    'its no-op is CPU-bound in kubectl, which parses the OpenAPI v3 document again for every object, kubernetes/kubernetes#127095) ' +
    'and --server-side (one apply PATCH per object); each no-op is the same apply again. ' +
    "Every restore goes into a namespace of its own; its Services are deleted before the next (the service range, a /24, holds two namespaces' worth), " +
    'and every namespace is deleted at the end.'
  );
}

/** Round to milliseconds: the figures are seconds of wall time. */
const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;

function spread(runs: number[]): Spread {
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    min: ms(sorted[0] ?? Number.NaN),
    median: ms(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
    runs: runs.map(ms),
  };
}

function figures(runs: Measured[]): ProcessFigures {
  return {
    seconds: spread(runs.map((r) => r.seconds)),
    cpuSeconds: spread(runs.map((r) => r.cpuSeconds)),
    peakMiB: spread(runs.map((r) => r.peakMiB)),
  };
}

/** The restore into the empty `target`, then the same command again: the CLI's JSON steps, tallied by result. */
async function restoreWithSafehold(
  cli: (args: string[]) => ReturnType<typeof measure>,
  source: string,
  file: string,
  target: string,
): Promise<{ restore: Run; noop: Run }> {
  const args = ['restore-resources', source, '--file', file, '--to', target, '-o', 'json'];
  const steps = async (): Promise<Run> => {
    const run = await cli(args);
    const parsed = JSON.parse(run.output.stdout) as { steps: { result: string }[] };
    return { usage: run.usage, results: tally(parsed.steps.map((s) => s.result)) };
  };
  const restore = await steps();
  return { restore, noop: await steps() };
}

/**
 * `kubectl create namespace` and `kubectl apply` of the List into it, then the same apply again. kubectl says
 * `kind/name created|configured|unchanged|serverside-applied` a line: the last words, tallied.
 */
async function applyWithKubectl(
  kubectl: KubectlRun,
  listFile: string,
  target: string,
  serverSide: boolean,
  cacheDir: string,
): Promise<{ restore: Run; noop: Run }> {
  const created = await kubectl(['create', 'namespace', target]);
  const args = [
    'apply',
    ...(serverSide ? ['--server-side'] : []),
    '-f',
    listFile,
    '-n',
    target,
    '--cache-dir',
    cacheDir,
  ];
  const apply = async (): Promise<Run> => {
    const run = await kubectl(args);
    const words = run.output.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.trim().split(' ').at(-1) ?? '');
    return { usage: run.usage, results: tally(words) };
  };
  const restore = await apply();
  return { restore: { ...restore, usage: inSequence(created.usage, restore.usage) }, noop: await apply() };
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const statusKiB = (field: string) =>
  Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

/** Resets this process's VmHWM to its current RSS (Linux 4.0+); false where it may not. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

async function dumpWithSafehold(client: KubeClient, namespace: string, file: string) {
  const peakKnown = resetPeakRss();
  const rssAtStart = statusKiB('VmRSS');
  const cpu = process.cpuUsage();
  const started = performance.now();
  await pipeline(Readable.from(namespaceObjects(client, namespace, [], new Date())), createWriteStream(file));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const peakRssDeltaMiB = peakKnown ? Math.round(((statusKiB('VmHWM') - rssAtStart) / 1024) * 10) / 10 : undefined;
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const header = JSON.parse(lines[0] ?? '{}') as { resources: unknown[]; skipped: unknown[] };
  const trailer = JSON.parse(lines.at(-1) ?? '{}') as { objects: number; skippedObjects: unknown[] };
  return {
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssDeltaMiB,
    bytes: statSync(file).size,
    objects: trailer.objects,
    kindsListed: header.resources.length,
    skippedKinds: header.skipped.length,
    skippedObjects: trailer.skippedObjects.length,
  };
}

/** `kubectl api-resources` then `kubectl get` of every kind it names, as one would back a namespace up by hand. */
async function dumpWithKubectl(kubectl: KubectlRun, namespace: string, cacheDir: string) {
  const listed = await kubectl([
    'api-resources',
    '--verbs=list',
    '--namespaced',
    '-o',
    'name',
    '--cache-dir',
    cacheDir,
  ]);
  const resources = listed.output.stdout.split('\n').filter((line) => line !== '');
  const got = await kubectl(['get', resources.join(','), '-n', namespace, '-o', 'yaml', '--cache-dir', cacheDir]);
  return {
    usage: inSequence(listed.usage, got.usage),
    bytes: Buffer.byteLength(got.output.stdout),
    items: (parse(got.output.stdout) as { items: unknown[] }).items.length,
    resources: resources.length,
  };
}

/** The file's objects as one YAML List for `kubectl apply -n`: the namespace is the command's. */
function yamlList(objectsFile: string): string {
  const lines = objectsFile.trimEnd().split('\n');
  const items = lines.slice(1, -1).map((line) => {
    const object = JSON.parse(line) as KubeObject & { metadata: { namespace?: string } };
    delete object.metadata.namespace;
    return object;
  });
  return stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** Bytes that differ by seed and do not deflate to nothing: chained SHA-256. */
function noise(seed: string, bytes: number): Buffer {
  const blocks = Array.from({ length: Math.ceil(bytes / 32) }, (_, i) =>
    createHash('sha256').update(`${seed}/${i}`).digest(),
  );
  return Buffer.concat(blocks).subarray(0, bytes);
}

function fixtureObjects(namespace: string): { kind: ResourceKind; object: KubeObject }[] {
  const n = (i: number) => String(i).padStart(3, '0');
  const meta = (name: string, app: string) => ({ name, namespace, labels: { app, [fixtureLabel]: 'true' } });
  const app = (i: number) => `app-${n(i % 50)}`;
  const each = (count: number, make: (i: number) => { kind: ResourceKind; object: KubeObject }) =>
    Array.from({ length: count }, (_, i) => make(i));
  return [
    ...each(400, (i) => ({
      kind: kinds.configMap,
      object: {
        metadata: meta(`config-${n(i)}`, app(i)),
        data: { 'app.properties': noise(`config-${i}`, 1024).toString('hex') },
      } as KubeObject,
    })),
    ...each(300, (i) => ({
      kind: kinds.secret,
      object: {
        metadata: meta(`secret-${n(i)}`, app(i)),
        type: 'Opaque',
        data: { 'key.bin': noise(`secret-${i}`, 1024).toString('base64') },
      } as KubeObject,
    })),
    ...each(150, (i) => ({ kind: kinds.serviceAccount, object: { metadata: meta(`sa-${n(i)}`, app(i)) } })),
    ...each(100, (i) => ({
      kind: service,
      object: {
        metadata: meta(`svc-${n(i)}`, app(i)),
        spec: { type: 'ClusterIP', selector: { app: app(i) }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      } as KubeObject,
    })),
    ...each(50, (i) => ({
      kind: kinds.deployment,
      object: {
        metadata: meta(app(i), app(i)),
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: app(i) } },
          template: {
            metadata: { labels: { app: app(i) } },
            spec: {
              serviceAccountName: `sa-${n(i)}`,
              containers: [
                {
                  name: 'app',
                  image: 'registry.example/app:1.0',
                  ports: [{ containerPort: 8080 }],
                  envFrom: [{ configMapRef: { name: `config-${n(i)}` } }],
                  resources: { requests: { cpu: '100m', memory: '128Mi' } },
                },
              ],
            },
          },
        },
      } as KubeObject,
    })),
  ];
}

/** The namespace and its objects; then waits for the controllers to settle (ReplicaSets, EndpointSlices). */
async function createFixture(client: KubeClient, namespace: string, log: (line: string) => void) {
  const started = performance.now();
  await client.create(kinds.namespace, { metadata: { name: namespace, labels: { [fixtureLabel]: 'true' } } });
  const objects = fixtureObjects(namespace);
  await pool(objects, concurrency, async ({ kind, object }) => {
    await client.create(kind, object);
  });
  const secondsToCreate = ms((performance.now() - started) / 1000);
  log(`objects fixture: ${objects.length} objects in namespace ${namespace} in ${secondsToCreate} s`);
  for (let waited = 0; ; waited++) {
    const sets = (await client.list(replicaSet, { namespace })).items.length;
    const slices = (await client.list(endpointSlice, { namespace })).items.length;
    if (sets >= 50 && slices >= 100) break;
    if (waited === 120) {
      log(`objects fixture: ${sets} ReplicaSets and ${slices} EndpointSlices after 2 minutes; going on`);
      break;
    }
    await sleep(1000);
  }
  await sleep(3000); // the controllers' events and status writes of the last objects
  return { objects: tally(objects.map((o) => o.kind.kind)), total: objects.length, secondsToCreate };
}

/** Frees the target's cluster IPs for the next restore, and lets the controllers catch up. */
async function deleteServices(client: KubeClient, namespace: string): Promise<void> {
  const services = await client.list(service, { namespace });
  await pool(services.items, concurrency, async (s) => {
    await client.delete(service, { namespace, name: s.metadata?.name ?? '' });
  });
  await sleep(2000);
}

async function deleteNamespaces(client: KubeClient, names: string[], log: (line: string) => void): Promise<void> {
  for (const name of names) await client.delete(kinds.namespace, { name }).catch(() => undefined);
  const deadline = Date.now() + 600_000;
  for (;;) {
    const left: string[] = [];
    for (const name of names)
      await client.get(kinds.namespace, { name }).then(
        () => left.push(name),
        (error: unknown) => (isNotFound(error) ? undefined : left.push(name)),
      );
    if (left.length === 0) return log(`objects: deleted namespaces ${names.join(', ')}`);
    if (Date.now() > deadline) return log(`objects: namespaces still terminating after 10 minutes: ${left.join(', ')}`);
    await sleep(2000);
  }
}
