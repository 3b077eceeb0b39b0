// Seed 002's workload resolution: a Deployment or StatefulSet named in a
// policy, to the PVCs its Pods use. Three sources, so a workload scaled to
// zero is still covered: the claims of its Pod template, the claims a
// StatefulSet's volumeClaimTemplates make, and the claims of the running Pods
// its selector matches.
import type { Deployment, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import type { WorkloadRef } from '../api/index.ts';
import { matchesSelector } from './label-selector.ts';

export interface WorkloadIndex {
  deployments: ReadonlyMap<string, Deployment>;
  statefulSets: ReadonlyMap<string, StatefulSet>;
  podsByNamespace: ReadonlyMap<string, readonly Pod[]>;
  claimsByNamespace: ReadonlyMap<string, readonly PersistentVolumeClaim[]>;
}

/** The namespace/name keys of every PVC the workload uses. */
export function workloadClaims(ref: WorkloadRef, index: WorkloadIndex): Set<string> {
  const key = `${ref.namespace}/${ref.name}`;
  const workload = ref.kind === 'Deployment' ? index.deployments.get(key) : index.statefulSets.get(key);
  const claims = new Set<string>();
  if (workload === undefined) return claims;
  const add = (claimName: string) => claims.add(`${ref.namespace}/${claimName}`);
  for (const name of podSpecClaims(workload.spec?.template.spec)) add(name);
  if (ref.kind === 'StatefulSet') {
    const sts = workload as StatefulSet;
    const pattern = new RegExp(
      `^(${(sts.spec?.volumeClaimTemplates ?? []).map((t) => escape(t.metadata?.name ?? '')).join('|')})-${escape(ref.name)}-[0-9]+$`,
    );
    if ((sts.spec?.volumeClaimTemplates ?? []).length > 0) {
      for (const claim of index.claimsByNamespace.get(ref.namespace) ?? []) {
        if (pattern.test(claim.metadata?.name ?? '')) add(claim.metadata?.name ?? '');
      }
    }
  }
  const selector = workload.spec?.selector;
  if (selector !== undefined) {
    for (const pod of index.podsByNamespace.get(ref.namespace) ?? []) {
      if (matchesSelector(selector, pod.metadata?.labels)) for (const name of podSpecClaims(pod.spec)) add(name);
    }
  }
  return claims;
}

function podSpecClaims(spec: PodSpec | undefined): string[] {
  return (spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim === undefined ? [] : [v.persistentVolumeClaim.claimName],
  );
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
