// What the last bucket discovery found (status.buckets of the policy that
// keeps the buckets), read from the cache: the bucket dumps and the coverage
// rows follow it.
import { policyBucketsStatus, type PolicyBucketsStatus } from '../../api/index.ts';
import { bucketsPolicy } from '../../core/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';

export function bucketsFound(cache: ClusterCache): PolicyBucketsStatus | undefined {
  const name = bucketsPolicy(cache.parsedPolicies().valid)?.metadata.name;
  if (name === undefined) return undefined;
  const raw = cache.policies.list().find((p) => p.metadata?.name === name) as
    { status?: { buckets?: unknown } } | undefined;
  return policyBucketsStatus.safeParse(raw?.status?.buckets).data;
}
