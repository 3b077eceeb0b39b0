// What a DumpRun's next step is decided from (src/core/dump-run.ts): its
// ApplicationDump and whether it parses, the Pod and container the command
// runs in, the repository (the dump's own, else the policy's of the volumes
// it covers, else the default policy's, else the only one), maintenance,
// mover slots (shared with backups), the mover Job and Pod, and whether this
// process streams it. Facts only, from the caches.
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  applicationDumpSpec,
  tenantOf,
  type ApplicationDump,
  type BackupRepository,
  type DumpRun,
} from '../../api/index.ts';
import { matchesSelector, type DumpObservation, type DumpTarget } from '../../core/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import { moverOutcome } from '../run/mover-outcome.ts';
import type { DumpDeps } from './dump-kind.ts';
import { dumpJobName, relayKey } from './dump-names.ts';

export interface ObservedDump {
  observation: DumpObservation;
  dump: ApplicationDump | undefined;
  repository: BackupRepository | undefined;
  covers: string[];
}

export function observeDump(deps: DumpDeps, run: DumpRun): ObservedDump {
  const { cache } = deps;
  const ns = run.metadata.namespace;
  const dump = cache.applicationDumps.get(`${ns}/${run.spec.dump}`);
  const name = `ApplicationDump ${ns}/${run.spec.dump}`;
  const parsed = dump === undefined ? undefined : applicationDumpSpec.safeParse(dump.spec);
  const base = {
    now: deps.now(),
    run,
    maintenance: undefined,
    slots: { running: 0, limit: deps.maxConcurrentMovers },
    job: moverOutcome(cache, deps.namespace, dumpJobName(run)),
    moverPod: moverPodOf(cache, deps.namespace, dumpJobName(run)),
    streaming: deps.relays.streamed(relayKey(run)),
  };
  /** A dump that cannot run: only the problem, naming the object and field. */
  const refused = (problem: NonNullable<DumpObservation['problem']>): ObservedDump => ({
    dump,
    repository: undefined,
    covers: [],
    observation: { ...base, problem, target: { kind: 'no-pod', message: '' }, repository: undefined },
  });
  if (dump === undefined || parsed === undefined)
    return refused({ reason: 'DumpNotFound', message: `${name} not found (DumpRun ${run.metadata.name} spec.dump)` });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refused({
      reason: 'InvalidSpec',
      message: `${name} spec.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    });
  }
  const spec = parsed.data;
  if (spec.objects?.scope === 'Cluster' && ns !== deps.namespace)
    return refused({
      reason: 'InvalidSpec',
      message: `${name} spec.objects.scope: Cluster only for a dump in Safehold's namespace ${deps.namespace} (the cluster's objects are no tenant's)`,
    });
  if (spec.etcd !== undefined && ns !== deps.namespace)
    return refused({
      reason: 'InvalidSpec',
      message: `${name} spec.etcd: only for a dump in Safehold's namespace ${deps.namespace} (the cluster's etcd is no tenant's)`,
    });
  const selector = spec.podSelector;
  const pods =
    selector === undefined
      ? []
      : cache
          .podsIn(ns)
          .filter(
            (p) =>
              matchesSelector(selector, p.metadata?.labels) &&
              p.status?.phase === 'Running' &&
              p.metadata?.deletionTimestamp === undefined,
          )
          .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const pod = pods[0];
  const objects = spec.objects !== undefined;
  const target: DumpTarget =
    spec.etcd !== undefined
      ? { kind: 'mover-reads', what: `the etcd at ${spec.etcd.endpoints.join(', ')}`, reason: 'Snapshotting' }
      : spec.git !== undefined
        ? { kind: 'mover-reads', what: `the Git repository ${spec.git.url}`, reason: 'Mirroring' }
        : spec.bucket !== undefined
          ? { kind: 'mover-reads', what: `bucket ${spec.bucket.name} at ${spec.bucket.endpoint}`, reason: 'Reading' }
          : spec.objects === undefined
            ? dumpTarget(pod, spec.container, ns)
            : { kind: 'objects', scope: spec.objects.scope };
  const podless = objects || spec.git !== undefined || spec.bucket !== undefined || spec.etcd !== undefined;
  const covers = spec.covers ?? (podless ? [] : claimsOf(pod));
  // A dump of no Pod goes where the namespace's volumes go (their tenant's repository), by default.
  const claims = podless ? cache.claimsIn(ns).map((c) => c.metadata?.name ?? '') : covers;
  const repositoryName = spec.repository ?? repositoryFor(deps, ns, claims);
  const repository = repositoryName === undefined ? undefined : cache.repository(repositoryName);
  const problem =
    repositoryName !== undefined && repository === undefined
      ? {
          reason: 'RepositoryNotFound' as const,
          message: `BackupRepository ${repositoryName} not found (${name}${spec.repository === undefined ? ', from the policy of the volumes it covers' : ' spec.repository'})`,
        }
      : undefined;
  // Those this operator has started and the cache does not show running yet count too (starts go one at a time).
  const starting = deps.gate.starting('writes');
  const runningDumps = cache
    .dumpRunsIn(['Running', 'Pending'])
    .filter(
      (r) =>
        r.metadata.uid !== run.metadata.uid && (r.status?.phase === 'Running' || starting.has(r.metadata.uid ?? '')),
    );
  const writers = cache.activeBackups(deps.gate.starting('writes')).length + runningDumps.length;
  const creator = repository === undefined ? undefined : repositoryCreator(deps, repository, ns, runningDumps);
  return {
    dump,
    repository,
    covers,
    observation: {
      ...base,
      problem,
      target,
      repository: repository?.metadata.name,
      maintenance: repository === undefined ? undefined : deps.maintenanceFor(repository, ns),
      slots: { running: writers, limit: deps.maxConcurrentMovers },
      repositoryBeingCreated:
        creator === undefined ? undefined : `${creator.metadata.namespace}/${creator.metadata.name}`,
    },
  };
}

function dumpTarget(pod: Pod | undefined, container: string | undefined, ns: string): DumpTarget {
  if (pod === undefined) return { kind: 'no-pod', message: `no Running Pod in namespace ${ns} matches` };
  const name = pod.metadata?.name ?? '';
  const wanted = container ?? pod.spec?.containers[0]?.name ?? '';
  if (!(pod.spec?.containers ?? []).some((c) => c.name === wanted))
    return {
      kind: 'no-container',
      message: `Pod ${ns}/${name} has no container ${wanted} (ApplicationDump spec.container); it has ${(pod.spec?.containers ?? []).map((c) => c.name).join(', ')}`,
    };
  const running = pod.status?.containerStatuses?.find((c) => c.name === wanted)?.state?.running !== undefined;
  if (!running) return { kind: 'no-pod', message: `container ${wanted} of Pod ${ns}/${name} is not running` };
  return { kind: 'found', pod: name, container: wanted };
}

function claimsOf(pod: Pod | undefined): string[] {
  return (pod?.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim === undefined ? [] : [v.persistentVolumeClaim.claimName],
  );
}

/** The repository of the policy protecting the first covered volume that has one, else the default policy's. */
function repositoryFor(deps: DumpDeps, ns: string, covers: string[]): string | undefined {
  const policies = deps.cache.parsedPolicies().valid;
  for (const pvc of covers) {
    const decision = deps.coverage.row(`${ns}/${pvc}`)?.decision;
    if (decision?.state !== 'protected') continue;
    const policy = policies.find((p) => p.metadata.name === decision.policy);
    if (policy !== undefined) return deps.cache.policyRepository(policy)?.metadata.name;
  }
  const fallback = policies.find((p) => p.spec.default);
  if (fallback !== undefined) return deps.cache.policyRepository(fallback)?.metadata.name;
  // As for a policy that names none: the only repository there is.
  const all = deps.cache.repositories.list();
  return all.length === 1 ? all[0]?.metadata?.name : undefined;
}

function moverPodOf(cache: ClusterCache, namespace: string, job: string): DumpObservation['moverPod'] {
  const pod = cache.podsOfJob(namespace, job)[0];
  if (pod === undefined) return undefined;
  const running = pod.status?.containerStatuses?.find((c) => c.name === 'mover')?.state?.running !== undefined;
  return { name: pod.metadata?.name ?? '', running };
}

/**
 * A running dump of the same tenant's repository while no dump has been stored there yet and no
 * volume backup has succeeded there: it is creating the repository, and this run waits for it.
 */
function repositoryCreator(
  deps: DumpDeps,
  repository: BackupRepository,
  namespace: string,
  running: readonly DumpRun[],
): DumpRun | undefined {
  const tenant = tenantOf(repository.spec, namespace);
  const sameRepository = (ns: string, name: string | undefined) =>
    tenantOf(repository.spec, ns) === tenant && (name ?? repository.metadata.name) === repository.metadata.name;
  const candidate = running.find((r) => sameRepository(r.metadata.namespace, r.status?.repository));
  if (candidate === undefined) return undefined;
  const created =
    deps.cache.dumpRunsIn(['Succeeded']).some((r) => sameRepository(r.metadata.namespace, r.status?.repository)) ||
    deps.cache.volumeBackups
      .list()
      .some((b) => b.status?.phase === 'Succeeded' && sameRepository(b.metadata.namespace, b.status.repository));
  return created ? undefined : candidate;
}
