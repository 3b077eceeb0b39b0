// Keeps the dumps that policies call for (core/policy-objects.ts) in step
// with them: objects dumps in each namespace a policy with spec.objects
// protects or selects, Git dumps beside each Flux GitRepository and for each
// URL a policy with spec.git lists, bucket dumps for each bucket the policy's
// last discovery covered (its status.buckets), the etcd dump of the policy
// with spec.etcd (core/policy-etcd.ts); updated when the policy (or the
// GitRepository) changes, and deleted when none calls for one (its stored dumps stay in the repository, as those of
// any deleted ApplicationDump). Only the dumps this made (labelled
// safehold.io/declared-by=policy) are ever changed. A pass runs when coverage
// is recomputed, a policy, a namespace or such a dump changes, and every minute.
import { applicationDumpSpec, readBackupFlag, type ApplicationDump } from '../../api/index.ts';
import {
  declaredByLabel,
  declaredByPolicy,
  objectsPolicyLabel,
  policyBucketDumps,
  policyEtcdDumps,
  policyGitDumps,
  policyObjectsDumps,
  type NamespaceFacts,
} from '../../core/index.ts';
import { ignoreNotFound, isAlreadyExists, kinds, type KubeClient } from '../../kube/index.ts';
import { bucketsFound } from '../bucket/buckets-found.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';
import type { Log } from '../operator.ts';
import { SchedulerPass } from '../run/scheduler-pass.ts';

export interface PolicyDumpsDeps {
  client: KubeClient;
  cache: ClusterCache;
  coverage: CoverageController;
  /** Safehold's namespace: where the cluster's objects dump is. */
  namespace: string;
  now: () => Date;
  log: Log;
}

export class PolicyDumps {
  readonly #deps: PolicyDumpsDeps;
  readonly #loop: SchedulerPass;

  constructor(deps: PolicyDumpsDeps) {
    this.#deps = deps;
    this.#loop = new SchedulerPass(
      () => this.#pass(),
      () => deps.now().getTime(),
      (error) =>
        deps.log('could not keep the dumps policies call for', {
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  }

  start(): void {
    this.#deps.coverage.onRecomputed(() => this.#loop.soon());
    this.#deps.cache.namespaces.onChange(() => this.#loop.soon());
    this.#deps.cache.policies.onChange(() => this.#loop.soon());
    this.#deps.cache.gitRepositories.onChange(() => this.#loop.soon());
    this.#deps.cache.applicationDumps.onChange((c) => {
      if (c.object.metadata.labels?.[declaredByLabel] === declaredByPolicy) this.#loop.soon();
    });
    this.#loop.soon();
  }

  stop(): void {
    this.#loop.stop();
  }

  async #pass(): Promise<number> {
    const { cache, client, coverage } = this.#deps;
    const protectedBy = new Map<string, Set<string>>();
    for (const row of coverage.rows())
      if (row.decision.state === 'protected')
        protectedBy.set(row.namespace, (protectedBy.get(row.namespace) ?? new Set()).add(row.decision.policy));
    const namespaces: NamespaceFacts[] = cache.namespaces.list().map((n) => {
      const flag = readBackupFlag(n.metadata?.annotations, n.metadata?.labels, { annotations: [], labels: [] });
      const name = n.metadata?.name ?? '';
      return {
        name,
        labels: n.metadata?.labels ?? {},
        excluded: flag.kind === 'set' && !flag.value,
        protectedBy: protectedBy.get(name) ?? new Set(),
      };
    });
    const policies = cache.parsedPolicies().valid;
    const desired = [
      ...policyObjectsDumps({ policies, namespaces, operatorNamespace: this.#deps.namespace }),
      ...policyEtcdDumps({ policies, operatorNamespace: this.#deps.namespace }),
      ...policyGitDumps({
        policies,
        repositories: cache.gitRepositories.list().flatMap((r) =>
          r.spec?.url === undefined
            ? []
            : [
                {
                  namespace: r.metadata?.namespace ?? '',
                  name: r.metadata?.name ?? '',
                  url: r.spec.url,
                  secretName: r.spec.secretRef?.name,
                },
              ],
        ),
        operatorNamespace: this.#deps.namespace,
      }),
      ...policyBucketDumps({ policies, found: bucketsFound(cache), operatorNamespace: this.#deps.namespace }),
    ];
    const wanted = new Set(desired.map((d) => `${d.namespace}/${d.name}`));
    for (const dump of desired) {
      const key = `${dump.namespace}/${dump.name}`;
      const labels = { [declaredByLabel]: declaredByPolicy, [objectsPolicyLabel]: dump.policy };
      const existing = cache.applicationDumps.get(key);
      if (existing === undefined) {
        await client
          .create(kinds.applicationDump, {
            metadata: { name: dump.name, namespace: dump.namespace, labels },
            spec: dump.spec,
          } satisfies ApplicationDump)
          .catch((error: unknown) => {
            if (!isAlreadyExists(error)) throw error;
          });
        this.#deps.log('made the dump a policy calls for', { dump: key, policy: dump.policy });
        continue;
      }
      // Someone's own ApplicationDump of the same name is theirs: never overwritten.
      if (existing.metadata.labels?.[declaredByLabel] !== declaredByPolicy) continue;
      // Compared as parsed, defaults filled in: the API server fills the stored spec's.
      if (sameSpec(existing.spec, dump.spec) && existing.metadata.labels[objectsPolicyLabel] === dump.policy) continue;
      // The whole spec replaces the old one (a merge would keep a field the policy no longer sets).
      await client.replace(kinds.applicationDump, {
        ...existing,
        metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...labels } },
        spec: dump.spec,
      });
    }
    for (const existing of cache.applicationDumps.list()) {
      if (existing.metadata.labels?.[declaredByLabel] !== declaredByPolicy) continue;
      const key = `${existing.metadata.namespace}/${existing.metadata.name}`;
      if (wanted.has(key)) continue;
      await ignoreNotFound(() =>
        client.delete(kinds.applicationDump, { namespace: existing.metadata.namespace, name: existing.metadata.name }),
      );
      this.#deps.log('deleted a dump no policy calls for any more', { dump: key });
    }
    return this.#deps.now().getTime() + 60_000;
  }
}

function sameSpec(a: unknown, b: unknown): boolean {
  const [left, right] = [applicationDumpSpec.safeParse(a), applicationDumpSpec.safeParse(b)];
  return left.success && right.success && JSON.stringify(left.data) === JSON.stringify(right.data);
}
