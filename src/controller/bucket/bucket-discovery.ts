// Finds the object store's buckets and covers them (BackupPolicy
// spec.buckets): every discovery interval it lists the buckets through the
// admin API, puts Safehold's read grant in the policy of each bucket not left
// out (as its owner, whose keys the admin API gives: the grant is one
// statement, the owner's own statements stay), checks that the reader can
// list it, and records what it found in the policy's status.buckets, each
// bucket covered, excluded or uncovered with why. The dumps follow from that
// status (policy-dumps.ts), so a bucket created later is covered within one
// interval, with nothing done by hand.
import {
  durationMs,
  timestamp,
  type BackupPolicy,
  type BackupPolicyStatus,
  type PolicyBucketsStatus,
} from '../../api/index.ts';
import { bucketExclusion, bucketsPolicy, eachBounded, grantRead, userArn, type BucketClaim } from '../../core/index.ts';
import { isNotFound, kinds, writeStatus, type KubeClient, type KubeObject } from '../../kube/index.ts';
import type { ClusterCache } from '../cluster-cache.ts';
import type { Log } from '../operator.ts';
import { SchedulerPass } from '../run/scheduler-pass.ts';
import {
  bucketPolicy,
  canList,
  listBuckets,
  putBucketPolicy,
  userInfo,
  type StoreEndpoint,
  type StoreKeys,
  type StoreUser,
} from './object-store.ts';

export interface BucketDiscoveryDeps {
  client: KubeClient;
  cache: ClusterCache;
  /** Safehold's namespace: where the admin's and the reader's Secrets are. */
  namespace: string;
  now: () => Date;
  log: Log;
}

type Item = NonNullable<PolicyBucketsStatus['items']>[number];

/** Buckets looked at in parallel. */
const parallel = 8;

export class BucketDiscovery {
  readonly #deps: BucketDiscoveryDeps;
  readonly #loop: SchedulerPass;

  constructor(deps: BucketDiscoveryDeps) {
    this.#deps = deps;
    this.#loop = new SchedulerPass(
      () => this.#pass(),
      () => deps.now().getTime(),
      (error) =>
        deps.log('could not look for buckets', { error: error instanceof Error ? error.message : String(error) }),
    );
  }

  start(): void {
    this.#deps.cache.policies.onChange((change) => {
      if (change.type !== 'updated' || policySpecChanged(change.old, change.object)) this.#loop.soon();
    });
    this.#loop.soon();
  }

  stop(): void {
    this.#loop.stop();
  }

  async #pass(): Promise<number> {
    const { cache, now } = this.#deps;
    const policy = bucketsPolicy(cache.parsedPolicies().valid);
    const buckets = policy?.spec.buckets;
    if (policy === undefined || buckets === undefined) return now().getTime() + 60_000;
    const found = await this.#discover(policy, buckets);
    await this.#record(policy.metadata.name, { ...found, endpoint: buckets.endpoint, discoveredAt: timestamp(now()) });
    return now().getTime() + durationMs(buckets.discoveryInterval);
  }

  async #discover(
    policy: BackupPolicy,
    buckets: NonNullable<BackupPolicy['spec']['buckets']>,
  ): Promise<Pick<PolicyBucketsStatus, 'items' | 'error'>> {
    const where = (field: string) => `BackupPolicy ${policy.metadata.name} spec.buckets.${field}`;
    const admin = await this.#keys(buckets.adminSecretRef.name, where('adminSecretRef'));
    if ('error' in admin) return { error: admin.error };
    const reader = await this.#keys(buckets.readerSecretRef.name, where('readerSecretRef'));
    if ('error' in reader) return { error: reader.error };
    const store: StoreEndpoint = { endpoint: buckets.endpoint, region: buckets.region };
    const now = this.#deps.now();
    const listed = await listBuckets(store, admin, now);
    if (!listed.ok)
      return {
        error: `could not list the buckets at ${buckets.endpoint} (${where('adminSecretRef')}): ${listed.reason}`,
      };
    const readerUser = await userInfo(store, admin, { accessKey: reader.accessKeyId }, now);
    if (!readerUser.ok)
      return {
        error: `could not find the reader of ${where('readerSecretRef')} among the object store's users: ${readerUser.reason}`,
      };
    const claims = await this.#claims();
    const owners = new Map<string, Promise<StoreUser | string>>();
    const ownerOf = (uid: string) => {
      let user = owners.get(uid);
      if (user === undefined) {
        user = userInfo(store, admin, { uid }, now).then((u) => (u.ok ? u.value : u.reason));
        owners.set(uid, user);
      }
      return user;
    };
    const cover = async (name: string, owner: string | undefined): Promise<Item> => {
      const claim = claims.get(name);
      const base = {
        name,
        ...(owner === undefined ? {} : { owner }),
        ...(claim === undefined ? {} : { claim: `${claim.namespace}/${claim.name}` }),
      };
      const excluded = bucketExclusion({ name, owner }, buckets, claim);
      if (excluded !== undefined) return { ...base, state: 'Excluded', reason: excluded };
      const uncovered = (reason: string): Item => ({ ...base, state: 'Uncovered', reason });
      // The reader may read it already (its owner, or a grant made by hand): nothing to change.
      if (owner === readerUser.value.uid) return { ...base, state: 'Covered' };
      if (owner === undefined) return uncovered('the admin API names no owner for it');
      const user = await ownerOf(owner);
      if (typeof user === 'string') return uncovered(`could not read its owner ${owner}: ${user}`);
      const keys = user.keys[0];
      if (keys === undefined) return uncovered(`its owner ${owner} has no S3 keys to put the read grant with`);
      const current = await bucketPolicy(store, keys, name, now);
      if (!current.ok) return uncovered(`could not read its bucket policy: ${current.reason}`);
      const grant = grantRead(current.value, userArn(readerUser.value.uid), name);
      if (!grant.ok) return uncovered(grant.reason);
      if (grant.policy !== undefined) {
        const put = await putBucketPolicy(store, keys, name, grant.policy, now);
        if (!put.ok) return uncovered(`the bucket refused the read grant in its policy: ${put.reason}`);
      }
      const listing = await canList(store, reader, name, now);
      if (!listing.ok) return uncovered(`the reader ${readerUser.value.uid} cannot list it: ${listing.reason}`);
      return { ...base, state: 'Covered' };
    };
    const items: Item[] = [];
    await eachBounded(listed.value, parallel, async (b) => {
      items.push(await cover(b.name, b.owner));
    });
    return { items: items.sort((a, b) => a.name.localeCompare(b.name)) };
  }

  /** The S3 keys in a Secret of Safehold's namespace, or what is wrong with it (naming the field that points at it). */
  async #keys(name: string, field: string): Promise<StoreKeys | { error: string }> {
    const where = `Secret ${this.#deps.namespace}/${name} (${field})`;
    const secret = await this.#deps.client
      .get<KubeObject & { data?: Record<string, string> }>(kinds.secret, { namespace: this.#deps.namespace, name })
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
    if (secret === undefined) return { error: `${where} not found` };
    const decoded = (key: string) => {
      const value = secret.data?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    };
    const accessKeyId = decoded('accessKeyId');
    const secretAccessKey = decoded('secretAccessKey');
    if (accessKeyId === undefined || secretAccessKey === undefined)
      return { error: `${where} has no ${accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey'}` };
    return { accessKeyId, secretAccessKey };
  }

  /** The ObjectBucketClaims by bucket name, where their CRD is installed (none otherwise). */
  async #claims(): Promise<Map<string, BucketClaim>> {
    type Claim = KubeObject & { spec?: { bucketName?: string }; metadata: { annotations?: Record<string, string> } };
    const listed = await this.#deps.client.list<Claim>(kinds.objectBucketClaim).catch((error: unknown) => {
      if (isNotFound(error)) return { items: [] as Claim[] };
      throw error;
    });
    const claims = new Map<string, BucketClaim>();
    for (const c of listed.items) {
      const bucket = c.spec?.bucketName;
      if (bucket === undefined || bucket === '') continue;
      claims.set(bucket, {
        namespace: c.metadata.namespace ?? '',
        name: c.metadata.name ?? '',
        bucket,
        excluded: c.metadata.annotations?.['safehold.io/backup'] === 'false',
      });
    }
    return claims;
  }

  async #record(policy: string, buckets: PolicyBucketsStatus): Promise<void> {
    await writeStatus<KubeObject & { status?: BackupPolicyStatus }>(
      this.#deps.client,
      kinds.backupPolicy,
      { name: policy },
      (current) =>
        JSON.stringify(withoutTime(current.status?.buckets)) === JSON.stringify(withoutTime(buckets))
          ? undefined
          : { ...current.status, buckets },
    ).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
    const uncovered = (buckets.items ?? []).filter((b) => b.state === 'Uncovered');
    if (buckets.error !== undefined) this.#deps.log('could not look for buckets', { policy, error: buckets.error });
    else if (uncovered.length > 0)
      this.#deps.log('buckets not covered', { policy, buckets: uncovered.map((b) => `${b.name}: ${b.reason}`) });
  }
}

/** The status without the time it was read: unchanged findings are not written again each interval. */
function withoutTime(buckets: PolicyBucketsStatus | undefined): PolicyBucketsStatus | undefined {
  return buckets === undefined ? undefined : { ...buckets, discoveredAt: undefined };
}

function policySpecChanged(old: KubeObject | undefined, next: KubeObject): boolean {
  return (
    JSON.stringify((old as { spec?: unknown } | undefined)?.spec) !== JSON.stringify((next as { spec?: unknown }).spec)
  );
}
