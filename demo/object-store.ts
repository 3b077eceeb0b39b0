// The demo's object store: radosgw users as a platform team has them (an
// admin API reader, the backup reader, and an application that owns buckets
// with objects in them), made with radosgw-admin once; nothing grants the
// reader anything: Safehold's bucket discovery does that.
import { presignS3 } from '../src/core/index.ts';
import { ensureStoreUser, type StoreUser } from '../testenv/ceph/store-users.ts';

async function send(endpoint: string, user: StoreUser, bucket: string, key: string, body?: string): Promise<void> {
  const url = presignS3({
    method: 'PUT',
    endpoint,
    bucket,
    key,
    ...(key === '' ? { query: {} } : {}),
    accessKeyId: user.accessKeyId,
    secretAccessKey: user.secretAccessKey,
    expiresSeconds: 300,
    now: new Date(),
  });
  const response = await fetch(url, { method: 'PUT', ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  // A bucket the demo made on an earlier run is the owner's already.
  if (!response.ok && !text.includes('BucketAlreadyOwnedByYou'))
    throw new Error(`PUT ${bucket}/${key}: HTTP ${response.status}: ${text}`);
}

/** The users, and the application's buckets: demo-uploads and demo-reports with objects, demo-tmp to leave out. */
export async function demoObjectStore(
  conf: string,
  endpoint: string,
): Promise<{ admin: StoreUser; reader: StoreUser; owner: StoreUser; buckets: string[] }> {
  const admin = await ensureStoreUser(conf, 'demo-store-admin', 'buckets=read;users=read');
  const reader = await ensureStoreUser(conf, 'demo-backup-reader');
  const owner = await ensureStoreUser(conf, 'demo-apps');
  const objects: Record<string, Record<string, string>> = {
    'demo-uploads': Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`avatars/${i}.png`, `png ${i}\n`])),
    'demo-reports': { '2026/11/sales.csv': 'month,total\n11,4200\n', '2026/12/sales.csv': 'month,total\n12,5100\n' },
    'demo-tmp': { 'scratch.txt': 'nobody needs this\n' },
  };
  for (const [bucket, files] of Object.entries(objects)) {
    await send(endpoint, owner, bucket, '');
    for (const [key, body] of Object.entries(files)) await send(endpoint, owner, bucket, key, body);
  }
  return { admin, reader, owner, buckets: Object.keys(objects) };
}
