// Which buckets of the object store a policy covers (BackupPolicy
// spec.buckets), and the bucket dumps that follow from what the discovery
// found: a bucket is excluded (the policy lists it, or its ObjectBucketClaim
// says safehold.io/backup: "false"), covered (the reader was granted read and
// could list it), or uncovered with why. Each covered bucket gets one
// ApplicationDump safehold-bucket-<name> in Safehold's namespace, into the
// policy's repository. Pure: bucket-discovery.ts reads the store and writes
// the policy's status; policy-dumps.ts keeps the dumps.
import type { ApplicationDumpSpec, BackupPolicy, PolicyBucketsStatus } from '../api/index.ts';
import { fnv1a } from './mover-job.ts';
import type { DesiredObjectsDump } from './policy-objects.ts';

/** The policy of highest priority (then name) with spec.buckets: the one that keeps the buckets. */
export function bucketsPolicy(policies: readonly BackupPolicy[]): BackupPolicy | undefined {
  return policies
    .filter((p) => p.spec.buckets !== undefined)
    .sort((a, b) => b.spec.priority - a.spec.priority || a.metadata.name.localeCompare(b.metadata.name))[0];
}

/** The bucket dump's name: safehold-bucket-<name>, dots as dashes; a name changed so gets a hash of the bucket's. */
export function bucketDumpName(bucket: string): string {
  const plain = `safehold-bucket-${bucket}`;
  if (!bucket.includes('.') && plain.length <= 63) return plain;
  return `${plain.replaceAll('.', '-').slice(0, 54).replace(/-+$/, '')}-${fnv1a(bucket)}`;
}

/** An ObjectBucketClaim, as coverage needs it. */
export interface BucketClaim {
  namespace: string;
  name: string;
  bucket: string;
  /** The claim says safehold.io/backup: "false". */
  excluded: boolean;
}

/** Why a bucket is left out, or undefined when it is to be covered. */
export function bucketExclusion(
  bucket: { name: string; owner: string | undefined },
  chosen: { exclude?: readonly string[] | undefined; owners?: readonly string[] | undefined },
  claim: BucketClaim | undefined,
): string | undefined {
  if (chosen.exclude?.includes(bucket.name) === true) return 'listed in the policy’s spec.buckets.exclude';
  if (chosen.owners !== undefined && (bucket.owner === undefined || !chosen.owners.includes(bucket.owner)))
    return `its owner ${bucket.owner ?? '(none)'} is not among the policy’s spec.buckets.owners`;
  if (claim?.excluded === true)
    return `ObjectBucketClaim ${claim.namespace}/${claim.name} says safehold.io/backup: "false"`;
  return undefined;
}

/** The bucket dumps the buckets policy's last discovery calls for: one per covered bucket. */
export function policyBucketDumps(input: {
  policies: readonly BackupPolicy[];
  /** What the last discovery found: the status.buckets of the policy that keeps the buckets. */
  found: PolicyBucketsStatus | undefined;
  operatorNamespace: string;
}): DesiredObjectsDump[] {
  const policy = bucketsPolicy(input.policies);
  const buckets = policy?.spec.buckets;
  if (policy === undefined || buckets === undefined) return [];
  const found = input.found;
  // A discovery of another endpoint says nothing of this one's buckets.
  if (found?.endpoint !== buckets.endpoint) return [];
  return (found.items ?? [])
    .filter((b) => b.state === 'Covered')
    .map((b) => {
      const spec: ApplicationDumpSpec = {
        bucket: {
          name: b.name,
          endpoint: buckets.endpoint,
          region: buckets.region,
          secretRef: { name: buckets.readerSecretRef.name },
        },
        schedule: buckets.schedule ?? policy.spec.schedule,
        retention: buckets.retention ?? policy.spec.retention,
        ...(policy.spec.repository === undefined ? {} : { repository: policy.spec.repository.name }),
      };
      return { namespace: input.operatorNamespace, name: bucketDumpName(b.name), policy: policy.metadata.name, spec };
    });
}
