// A bucket's objects in the environment's radosgw as a user of the bucket
// sees them, whatever their keys: requests presigned with the environment's
// keys, or those of a user made for the journey (headers signed with them),
// and sent with node:http, path as signed, so keys with "." and ".." segments
// reach their own objects. Also the bucket's policy, and the users.
import { request } from 'node:http';
import { presignS3, type PresignRequest } from '../../src/core/index.ts';
import { ensureStoreUser, removeStoreUser as removeUser, type StoreUser } from '../../testenv/ceph/store-users.ts';
import { testEnv } from './cluster.ts';

export type { StoreUser };

/** A radosgw user with its own keys; caps such as 'buckets=read;users=read' make it an admin API reader. */
export function storeUser(uid: string, caps?: string): Promise<StoreUser> {
  return ensureStoreUser(testEnv().ceph.confPath, uid, caps);
}

export function removeStoreUser(uid: string): Promise<void> {
  return removeUser(testEnv().ceph.confPath, uid);
}

export interface StoredObject {
  body: Buffer;
  contentType: string;
  metadata: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The environment's own user when none is named. */
async function send(
  signing: Pick<PresignRequest, 'method' | 'bucket' | 'key' | 'query' | 'list' | 'headers'>,
  body?: Buffer,
  as?: StoreUser,
): Promise<Answer> {
  const { s3 } = testEnv().ceph;
  const url = presignS3({
    ...signing,
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: as?.accessKeyId ?? s3.accessKey,
    secretAccessKey: as?.secretAccessKey ?? s3.secretKey,
    expiresSeconds: 300,
    now: new Date(),
    dotSegments: 'keep',
  });
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      hostname: target.hostname,
      port: target.port,
      path: url.slice(target.origin.length),
      method: signing.method,
      headers: { ...signing.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) },
    });
    req.on('error', reject);
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.end(body);
  });
}

function ok(answer: Answer, what: string): Answer {
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(`${what}: HTTP ${answer.status}: ${answer.body.toString('utf8').slice(0, 500)}`);
  }
  return answer;
}

export async function createBucket(bucket: string, as?: StoreUser): Promise<void> {
  ok(await send({ method: 'PUT', bucket, key: '', query: {} }, undefined, as), `creating bucket ${bucket}`);
}

export async function putObject(
  bucket: string,
  key: string,
  body: string | Buffer,
  options: { contentType?: string; metadata?: Record<string, string> } = {},
  as?: StoreUser,
): Promise<void> {
  const headers = {
    ...(options.contentType === undefined ? {} : { 'content-type': options.contentType }),
    ...Object.fromEntries(Object.entries(options.metadata ?? {}).map(([name, value]) => [`x-amz-meta-${name}`, value])),
  };
  ok(
    await send({ method: 'PUT', bucket, key, headers }, Buffer.from(body), as),
    `writing "${key}" in bucket ${bucket}`,
  );
}

export async function deleteObject(bucket: string, key: string, as?: StoreUser): Promise<void> {
  ok(await send({ method: 'DELETE', bucket, key }, undefined, as), `deleting "${key}" in bucket ${bucket}`);
}

export async function getObject(bucket: string, key: string, as?: StoreUser): Promise<StoredObject | undefined> {
  const answer = await send({ method: 'GET', bucket, key }, undefined, as);
  if (answer.status === 404) return undefined;
  ok(answer, `reading "${key}" in bucket ${bucket}`);
  const header = (name: string) => String(answer.headers[name] ?? '');
  return {
    body: answer.body,
    contentType: header('content-type'),
    metadata: Object.fromEntries(
      Object.keys(answer.headers)
        .filter((name) => name.startsWith('x-amz-meta-'))
        .map((name) => [name.slice('x-amz-meta-'.length), header(name)]),
    ),
  };
}

/** Every key of the bucket (pages of 1000), URL-decoded as listed. */
export async function listKeys(bucket: string, as?: StoreUser): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const answer = ok(
      await send(
        {
          method: 'GET',
          bucket,
          key: '',
          list: { prefix: '', maxKeys: 1000, continuationToken: token },
          query: { 'encoding-type': 'url' },
        },
        undefined,
        as,
      ),
      `listing bucket ${bucket}`,
    );
    const xml = answer.body.toString('utf8');
    for (const [, key = ''] of xml.matchAll(/<Key>([^<]*)<\/Key>/g))
      keys.push(decodeURIComponent(key.replaceAll('+', ' ')));
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
      ? /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1]
      : undefined;
  } while (token !== undefined);
  return keys.sort();
}

/** The whole bucket as key -> object. */
export async function bucketContents(bucket: string, as?: StoreUser): Promise<Map<string, StoredObject>> {
  const contents = new Map<string, StoredObject>();
  for (const key of await listKeys(bucket, as)) {
    const object = await getObject(bucket, key, as);
    if (object !== undefined) contents.set(key, object);
  }
  return contents;
}

/** The object's bytes as the user reads them, or the HTTP status that refused them. */
export async function readObject(bucket: string, key: string, as: StoreUser): Promise<Buffer | number> {
  const answer = await send({ method: 'GET', bucket, key }, undefined, as);
  return answer.status === 200 ? answer.body : answer.status;
}

export async function setBucketPolicy(bucket: string, policy: object, as: StoreUser): Promise<void> {
  ok(
    await send({ method: 'PUT', bucket, key: '', query: { policy: '' } }, Buffer.from(JSON.stringify(policy)), as),
    `putting the policy of ${bucket}`,
  );
}

export async function bucketPolicyOf(bucket: string, as: StoreUser): Promise<unknown> {
  const answer = ok(
    await send({ method: 'GET', bucket, key: '', query: { policy: '' } }, undefined, as),
    `the policy of ${bucket}`,
  );
  return JSON.parse(answer.body.toString('utf8'));
}
