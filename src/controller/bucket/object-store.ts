// The object store as the bucket discovery speaks to it: radosgw's admin API
// (the buckets and their owners, a user's keys) and three bucket requests (read
// and put its policy, list one key as the reader). Every request is SigV4
// signed in its URL (core/s3-presign.ts), answers in a few seconds or fails,
// and a failure says what the store answered.
import { presignS3, s3ErrorOf, type PresignRequest } from '../../core/index.ts';

export interface StoreKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface StoreEndpoint {
  endpoint: string;
  region: string;
}

export type StoreAnswer<T> = { ok: true; value: T } | { ok: false; status: number | undefined; reason: string };

const requestTimeoutMs = 15_000;

type Signed = Pick<PresignRequest, 'method' | 'bucket' | 'key' | 'query'>;

async function call(
  store: StoreEndpoint,
  keys: StoreKeys,
  signed: Signed,
  now: Date,
  body?: string,
): Promise<StoreAnswer<string>> {
  let url: string;
  try {
    url = presignS3({ ...store, ...keys, ...signed, expiresSeconds: 300, now });
  } catch (error) {
    return { ok: false, status: undefined, reason: error instanceof Error ? error.message : String(error) };
  }
  try {
    const response = await fetch(url, {
      method: signed.method,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const text = await response.text();
    if (response.ok) return { ok: true, value: text };
    return { ok: false, status: response.status, reason: s3ErrorOf(text) ?? `HTTP ${response.status}` };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return {
      ok: false,
      status: undefined,
      reason: `${store.endpoint} did not answer (${error instanceof Error ? error.message : String(error)}${cause})`,
    };
  }
}

function json<T>(answer: StoreAnswer<string>, what: string, read: (value: unknown) => T | undefined): StoreAnswer<T> {
  if (!answer.ok) return answer;
  try {
    const value = read(JSON.parse(answer.value));
    if (value !== undefined) return { ok: true, value };
  } catch {
    // answered below
  }
  return { ok: false, status: 200, reason: `the admin API's answer to ${what} is not what radosgw answers` };
}

export interface StoreBucket {
  name: string;
  owner: string | undefined;
}

/** Every bucket of the store, with its owner (GET /admin/bucket?stats=true: caps buckets=read). */
export async function listBuckets(
  store: StoreEndpoint,
  admin: StoreKeys,
  now: Date,
): Promise<StoreAnswer<StoreBucket[]>> {
  const answer = await call(
    store,
    admin,
    { method: 'GET', bucket: 'admin', key: 'bucket', query: { format: 'json', stats: 'true' } },
    now,
  );
  return json(answer, 'the bucket list', (value) =>
    Array.isArray(value)
      ? value.flatMap((b: unknown) => {
          if (typeof b === 'string') return [{ name: b, owner: undefined }];
          const entry = b as { bucket?: unknown; owner?: unknown };
          return typeof entry.bucket === 'string'
            ? [{ name: entry.bucket, owner: typeof entry.owner === 'string' ? entry.owner : undefined }]
            : [];
        })
      : undefined,
  );
}

export interface StoreUser {
  uid: string;
  keys: StoreKeys[];
}

/** A user by uid or by one of its access keys (GET /admin/user: caps users=read), with its S3 keys. */
export async function userInfo(
  store: StoreEndpoint,
  admin: StoreKeys,
  who: { uid: string } | { accessKey: string },
  now: Date,
): Promise<StoreAnswer<StoreUser>> {
  const query: Record<string, string> = 'uid' in who ? { uid: who.uid } : { 'access-key': who.accessKey };
  const answer = await call(
    store,
    admin,
    { method: 'GET', bucket: 'admin', key: 'user', query: { format: 'json', ...query } },
    now,
  );
  return json(answer, 'a user', (value) => {
    const user = value as { user_id?: unknown; keys?: unknown };
    if (typeof user.user_id !== 'string') return undefined;
    const keys = Array.isArray(user.keys)
      ? user.keys.flatMap((k: { access_key?: unknown; secret_key?: unknown }) =>
          typeof k.access_key === 'string' && typeof k.secret_key === 'string'
            ? [{ accessKeyId: k.access_key, secretAccessKey: k.secret_key }]
            : [],
        )
      : [];
    return { uid: user.user_id, keys };
  });
}

/** The bucket's policy, or undefined when it has none. */
export async function bucketPolicy(
  store: StoreEndpoint,
  owner: StoreKeys,
  bucket: string,
  now: Date,
): Promise<StoreAnswer<string | undefined>> {
  const answer = await call(store, owner, { method: 'GET', bucket, key: '', query: { policy: '' } }, now);
  if (!answer.ok && answer.status === 404 && answer.reason.startsWith('NoSuchBucketPolicy'))
    return { ok: true, value: undefined };
  return answer;
}

export function putBucketPolicy(
  store: StoreEndpoint,
  owner: StoreKeys,
  bucket: string,
  policy: string,
  now: Date,
): Promise<StoreAnswer<string>> {
  return call(store, owner, { method: 'PUT', bucket, key: '', query: { policy: '' } }, now, policy);
}

/** Whether the keys may list the bucket: one key of it is listed. */
export async function canList(
  store: StoreEndpoint,
  keys: StoreKeys,
  bucket: string,
  now: Date,
): Promise<StoreAnswer<true>> {
  const answer = await call(
    store,
    keys,
    { method: 'GET', bucket, key: '', query: { 'list-type': '2', 'max-keys': '1' } },
    now,
  );
  return answer.ok ? { ok: true, value: true } : answer;
}
