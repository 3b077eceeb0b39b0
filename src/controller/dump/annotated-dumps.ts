// Keeps the ApplicationDumps that Pods' annotations declare (dump.safehold.io/*,
// K8up's k8up.io/backupcommand) in step with them: created when a Pod says
// so, updated when its annotations or its volumes' policy change. Only the
// dumps this made (labelled safehold.io/declared-by) are ever changed; one
// whose workload loses its annotations stays, with its dumps, until someone
// deletes it. A Pod's change costs that Pod alone; a full pass runs at start,
// and the declaring Pods are looked at again when coverage (a policy) changes.
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  annotatedDump,
  declaredByAnnotation,
  declaredByLabel,
  dumpAnnotations,
  k8upDumpAnnotations,
} from '../../core/index.ts';
import { isAlreadyExists, kinds, objectKey, recordEvent, type KubeClient } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { CoverageController } from '../coverage/coverage-controller.ts';
import type { Log } from '../operator.ts';

export interface AnnotatedDumpsDeps {
  client: KubeClient;
  cache: ClusterCache;
  coverage: CoverageController;
  log: Log;
}

const declares = (pod: Pod) =>
  pod.metadata?.annotations?.[dumpAnnotations.command] !== undefined ||
  pod.metadata?.annotations?.[k8upDumpAnnotations.command] !== undefined;

export class AnnotatedDumps {
  readonly #deps: AnnotatedDumpsDeps;
  readonly #pending = new Set<string>();
  /** The Pods whose annotations declare a dump: looked at again when coverage (their volumes' policy) changes. */
  readonly #declaring = new Set<string>();
  /** The last problem reported per Pod, so an Event is not repeated on every change. */
  readonly #reported = new Map<string, string>();
  #draining = false;

  constructor(deps: AnnotatedDumpsDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#deps.cache.pods.onChange((c) => {
      if (c.type !== 'deleted' && declares(c.object)) {
        this.#declaring.add(c.key);
        this.#queue(c.key);
      } else this.#declaring.delete(c.key);
    });
    for (const pod of this.#deps.cache.pods.list())
      if (declares(pod)) {
        this.#declaring.add(objectKey(pod));
        this.#queue(objectKey(pod));
      }
    this.#deps.coverage.onRecomputed(() => {
      for (const key of this.#declaring) this.#queue(key);
    });
  }

  #queue(key: string): void {
    this.#pending.add(key);
    if (!this.#draining) setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (const key of this.#pending) {
        this.#pending.delete(key);
        const pod = this.#deps.cache.pods.get(key);
        if (pod === undefined) continue;
        await this.#apply(pod).catch((error: unknown) =>
          this.#deps.log('could not apply the dump a Pod declares', {
            pod: key,
            error: error instanceof Error ? error.message : String(error),
          }),
        );
      }
    } finally {
      this.#draining = false;
    }
  }

  async #apply(pod: Pod): Promise<void> {
    const { cache, client } = this.#deps;
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller === true);
    const declared = annotatedDump(
      {
        namespace,
        name,
        labels: pod.metadata?.labels ?? {},
        annotations: pod.metadata?.annotations ?? {},
        containers: (pod.spec?.containers ?? []).map((c) => c.name),
        owner: owner === undefined ? undefined : { kind: owner.kind, name: owner.name },
      },
      this.#policyOf(pod),
    );
    if (declared === undefined) return;
    if (declared.kind === 'error') {
      await this.#report(pod, declared.message);
      return;
    }
    this.#reported.delete(`${namespace}/${name}`);
    const existing = cache.applicationDumps.get(`${namespace}/${declared.name}`);
    if (existing === undefined) {
      await client
        .create(kinds.applicationDump, {
          metadata: { name: declared.name, namespace, labels: { [declaredByLabel]: declaredByAnnotation } },
          spec: declared.spec,
        })
        .catch((error: unknown) => {
          if (!isAlreadyExists(error)) throw error;
        });
      this.#deps.log('made the ApplicationDump a Pod declares', { dump: `${namespace}/${declared.name}`, pod: name });
      return;
    }
    // Someone's own ApplicationDump of the same name is theirs: never overwritten.
    if (existing.metadata.labels?.[declaredByLabel] !== declaredByAnnotation) return;
    if (JSON.stringify(existing.spec) === JSON.stringify(declared.spec)) return;
    await client.mergePatch(kinds.applicationDump, { namespace, name: declared.name }, { spec: declared.spec });
  }

  /** The schedule and retention of the policy protecting the Pod's first protected volume, if any. */
  #policyOf(pod: Pod) {
    const namespace = pod.metadata?.namespace ?? '';
    const policies = this.#deps.cache.parsedPolicies().valid;
    for (const volume of pod.spec?.volumes ?? []) {
      const claim = volume.persistentVolumeClaim?.claimName;
      if (claim === undefined) continue;
      const decision = this.#deps.coverage.row(`${namespace}/${claim}`)?.decision;
      if (decision?.state !== 'protected') continue;
      const policy = policies.find((p) => p.metadata.name === decision.policy);
      if (policy !== undefined) return policy.spec;
    }
    return policies.find((p) => p.spec.default)?.spec;
  }

  async #report(pod: Pod, message: string): Promise<void> {
    const key = objectKey(pod);
    if (this.#reported.get(key) === message) return;
    this.#reported.set(key, message);
    await recordEvent(this.#deps.client, {
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace,
        uid: pod.metadata?.uid,
      },
      type: 'Warning',
      reason: 'InvalidDumpAnnotation',
      message,
    });
  }
}
