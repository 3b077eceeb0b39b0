// A bucket put back as one of its dumps stored it (issue 21: "point-in-time
// restore of a bucket or a prefix"). A tenant's bucket, declared as an
// ApplicationDump with spec.bucket, is dumped; then objects change, one is
// deleted, one is added, and it is dumped again. A BucketRestore of the first
// dump with deleteNewer gives every object back with its bytes, content type
// and metadata, and removes the one added since; `safehold restore-bucket`
// puts one prefix of it into another bucket, which then holds that prefix
// alone. A missing Secret and a dump that is not a bucket dump fail at once,
// naming the field.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BucketRestore, DumpRun } from '../src/api/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { clientAs, createNamespace, deleteNamespace, testEnv, uniqueName, waitFor } from './support/cluster.ts';
import {
  bucketContents,
  createBucket,
  deleteObject,
  putObject,
  removeStoreUser,
  storeUser,
  type StoredObject,
  type StoreUser,
} from './support/bucket-objects.ts';
import { installWithRepository, runOperatorHere, safehold, waitForRun, type OperatorHere } from './support/safehold.ts';

/** An object as a user of the bucket sees it. */
async function put(user: StoreUser, bucket: string, key: string, object: StoredObject): Promise<void> {
  await putObject(bucket, key, object.body, { contentType: object.contentType, metadata: object.metadata }, user);
}

/** Every object of the bucket, by key. */
async function contents(user: StoreUser, bucket: string): Promise<Record<string, StoredObject>> {
  return Object.fromEntries(await bucketContents(bucket, user));
}

const photo = (bytes: number) => randomBytes(bytes);

describe('a bucket put back as a dump stored it', () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  const id = uniqueName('bucketrestore');
  const system = `safehold-${id}`;
  const repository = `repo-${id}`;
  const bucket = `photos-${id}`;
  const copy = `copy-${id}`;
  let owner: StoreUser;
  const users: StoreUser[] = [];
  let tenant = '';
  const cat: StoredObject = { body: photo(40_000), contentType: 'image/jpeg', metadata: { camera: 'x100' } };
  const dog: StoredObject = { body: photo(12_345), contentType: 'image/jpeg', metadata: {} };
  /** The bucket as the first dump stored it. */
  const first: Record<string, StoredObject> = {
    'readme.txt': { body: Buffer.from('holiday photos\n'), contentType: 'text/plain', metadata: { owner: 'ana' } },
    'photos/2026/cat.jpg': cat,
    'photos/2026/dog.jpg': dog,
    'photos/2025/old.png': { body: photo(2_000), contentType: 'image/png', metadata: { year: '2025' } },
    'docs/a b/notes (1).md': { body: Buffer.from('# notes\n'), contentType: 'text/markdown', metadata: {} },
    'empty/': { body: Buffer.alloc(0), contentType: 'application/x-directory', metadata: {} },
  };

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket: `safehold-${id}`, repository });
    tenant = await createNamespace(client, 'bucket-tenant');
    owner = await storeUser(`owner-${id}`);
    users.push(owner);
    await createBucket(bucket, owner);
    await createBucket(copy, owner);
    for (const [key, object] of Object.entries(first)) await put(owner, bucket, key, object);
    await client.create(kinds.secret, {
      metadata: { name: 'photos-owner', namespace: tenant },
      stringData: { accessKeyId: owner.accessKeyId, secretAccessKey: owner.secretAccessKey },
    } as KubeObject);
    await client.create(kinds.applicationDump, {
      metadata: { name: 'photos', namespace: tenant },
      spec: {
        bucket: { name: bucket, endpoint: testEnv().ceph.s3.endpoint, secretRef: { name: 'photos-owner' } },
        repository,
      },
    } as KubeObject);
    operator = await runOperatorHere(system, id);
  }, 300_000);

  afterAll(async () => {
    await operator?.stop();
    if (tenant !== '') await deleteNamespace(client, tenant);
    await client.delete(kinds.backupRepository, { name: repository }).catch(() => undefined);
    await deleteNamespace(client, system);
    for (const user of users) await removeStoreUser(user.uid);
    client.close();
  });

  const dumpNow = async (name: string) => {
    await client.create(kinds.dumpRun, {
      metadata: { name, namespace: tenant },
      spec: { dump: 'photos' },
    } as KubeObject);
    return waitForRun<DumpRun>(client, kinds.dumpRun, tenant, name, { timeoutMs: 300_000 });
  };
  const restore = async (name: string, spec: object, outcome: 'Succeeded' | 'Failed' = 'Succeeded') => {
    await client.create(kinds.bucketRestore, { metadata: { name, namespace: tenant }, spec } as KubeObject);
    return waitForRun<BucketRestore>(client, kinds.bucketRestore, tenant, name, { outcome, timeoutMs: 300_000 });
  };

  it('gives every object back as the first dump stored it, and deletes what came after', async () => {
    const stored = await dumpNow('photos-1');
    // The bucket moves on: a photo rewritten (its size kept), one deleted, one added.
    await put(owner, bucket, 'photos/2026/cat.jpg', { ...cat, body: photo(40_000) });
    await deleteObject(bucket, 'photos/2026/dog.jpg', owner);
    await put(owner, bucket, 'photos/2026/new.jpg', { body: photo(999), contentType: 'image/jpeg', metadata: {} });
    await dumpNow('photos-2');
    expect(Object.keys(await contents(owner, bucket)).sort()).not.toEqual(Object.keys(first).sort());

    const done = await restore('back-to-1', {
      dump: 'photos',
      backup: 'photos-1',
      secretRef: { name: 'photos-owner' },
      deleteNewer: true,
    });
    expect(done.status?.backup).toMatchObject({ run: 'photos-1', snapshotId: stored.status?.snapshotId });
    expect(done.status?.target).toMatchObject({ bucket, endpoint: testEnv().ceph.s3.endpoint });
    expect(done.status?.objects).toEqual({ written: 2, unchanged: 4, deleted: 1 });
    expect(await contents(owner, bucket)).toEqual(first);
    // Its mover Job and the Secret with the writer's keys are gone.
    await waitFor('the clean-up recorded', async () => {
      const run = await client.get<BucketRestore>(kinds.bucketRestore, { namespace: tenant, name: 'back-to-1' });
      return run.status?.conditions?.some((c) => c.type === 'CleanedUp' && c.status === 'True') === true;
    });
    const jobs = await client.list(kinds.job, {
      namespace: system,
      query: { labelSelector: `safehold.io/bucket-restore=back-to-1` },
    });
    expect(jobs.items).toEqual([]);
  });

  it('`safehold restore-bucket --prefix --into-bucket` writes only that prefix into another bucket', async () => {
    const got = await safehold([
      'restore-bucket',
      `${tenant}/photos`,
      '--backup',
      'photos-1',
      '--prefix',
      'photos/2026/',
      '--into-bucket',
      copy,
      '--wait',
    ]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toContain('2 written, 0 unchanged, 0 deleted');
    expect(await contents(owner, copy)).toEqual({
      'photos/2026/cat.jpg': cat,
      'photos/2026/dog.jpg': dog,
    });
  });

  it('fails at once on a Secret that is not there, naming it and the field', async () => {
    const failed = await restore('no-secret', { dump: 'photos', secretRef: { name: 'missing' } }, 'Failed');
    expect(failed.status?.reason).toBe('SecretNotFound');
    expect(failed.status?.message).toBe(
      `Secret ${tenant}/missing not found (BucketRestore ${tenant}/no-secret spec.secretRef)`,
    );
  });

  it('fails at once on a dump that is not a bucket dump, and on a time before every dump', async () => {
    await client.create(kinds.applicationDump, {
      metadata: { name: 'objects', namespace: tenant },
      spec: { objects: {}, repository },
    } as KubeObject);
    const notBucket = await restore('not-bucket', { dump: 'objects', secretRef: { name: 'photos-owner' } }, 'Failed');
    expect(notBucket.status?.reason).toBe('InvalidSpec');
    expect(notBucket.status?.message).toBe(
      `spec.dump: ApplicationDump ${tenant}/objects is not a bucket dump (it dumps the namespace's objects (spec.objects), and has no spec.bucket)`,
    );
    const tooEarly = await restore(
      'too-early',
      { dump: 'photos', asOf: '2001-01-01T00:00:00Z', secretRef: { name: 'photos-owner' } },
      'Failed',
    );
    expect(tooEarly.status?.reason).toBe('BackupNotFound');
    expect(tooEarly.status?.message).toContain('spec.asOf: ApplicationDump');
    // A restore that failed before its start made no mover.
    const jobs = await client.list(kinds.job, {
      namespace: system,
      query: { labelSelector: 'safehold.io/bucket-restore in (no-secret,not-bucket,too-early)' },
    });
    expect(jobs.items).toEqual([]);
  });
});
