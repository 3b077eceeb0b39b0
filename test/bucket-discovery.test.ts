// The object store's buckets covered with nothing done by hand (issue 21,
// seed 003: "we have to create our backup user and then manually apply a
// policy to each bucket"): a policy with spec.buckets names radosgw, an admin
// API reader and the backup reader. The operator lists the buckets, puts the
// reader's read grant in each bucket's own policy (keeping the owner's
// statements), and a bucket created after it started is covered within one
// discovery interval. A bucket whose policy denies the reader is shown
// UNPROTECTED with the store's answer; one the policy leaves out, excluded.
// `safehold status --objects` shows each, and a covered bucket's dump runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupPolicy, DumpRun } from '../src/api/index.ts';
import { bucketDumpName, grantSid, userArn, type ObjectsRow } from '../src/core/index.ts';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { clientAs, deleteNamespace, testEnv, uniqueName, waitFor } from './support/cluster.ts';
import {
  bucketPolicyOf,
  createBucket,
  putObject,
  readObject,
  removeStoreUser,
  setBucketPolicy,
  storeUser,
  type StoreUser,
} from './support/bucket-objects.ts';
import { installWithRepository, runOperatorHere, safehold, waitForRun, type OperatorHere } from './support/safehold.ts';

type Found = NonNullable<NonNullable<BackupPolicy['status']>['buckets']>;

describe("the object store's buckets, covered by discovery", () => {
  let client: KubeClient;
  let operator: OperatorHere | undefined;
  const id = uniqueName('buckets');
  const system = `safehold-${id}`;
  const repository = `repo-${id}`;
  const policy = `buckets-${id}`;
  const users: StoreUser[] = [];
  let admin: StoreUser;
  let reader: StoreUser;
  let owner: StoreUser;
  let stranger: StoreUser;
  const early = `early-${id}`;
  const later = `later-${id}`;
  const denying = `denying-${id}`;
  const skipped = `skipped-${id}`;
  const foreign = `foreign-${id}`;

  const found = async (): Promise<Found | undefined> =>
    (await client.get<BackupPolicy>(kinds.backupPolicy, { name: policy })).status?.buckets;
  const itemOf = async (bucket: string) => (await found())?.items?.find((b) => b.name === bucket);

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket: `safehold-${id}`, repository });
    const user = async (name: string, caps?: string) => {
      const made = await storeUser(`${name}-${id}`, caps);
      users.push(made);
      return made;
    };
    admin = await user('admin', 'buckets=read;users=read');
    reader = await user('reader');
    owner = await user('owner');
    stranger = await user('stranger');
    for (const [name, keys] of [
      ['store-admin', admin],
      ['store-reader', reader],
    ] as const)
      await client.create(kinds.secret, {
        metadata: { name, namespace: system },
        stringData: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
      } as KubeObject);

    // Buckets that exist before the operator starts: one the owner shares with the public too
    // (its own statement must stay), one whose policy denies the reader, one the policy leaves out.
    await createBucket(early, owner);
    await putObject(early, 'photos/2026/cat.jpg', 'meow', { contentType: 'image/jpeg' }, owner);
    await setBucketPolicy(
      early,
      {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OwnersOwn',
            Effect: 'Allow',
            Principal: { AWS: [userArn(stranger.uid)] },
            Action: ['s3:GetObject'],
            Resource: [`arn:aws:s3:::${early}/*`],
          },
        ],
      },
      owner,
    );
    await createBucket(denying, owner);
    await setBucketPolicy(
      denying,
      {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'NoBackups',
            Effect: 'Deny',
            Principal: { AWS: [userArn(reader.uid)] },
            Action: ['s3:*'],
            Resource: [`arn:aws:s3:::${denying}`, `arn:aws:s3:::${denying}/*`],
          },
        ],
      },
      owner,
    );
    await createBucket(skipped, owner);
    await createBucket(foreign, stranger);

    await client.create(kinds.backupPolicy, {
      metadata: { name: policy },
      spec: {
        selector: { namespaceSelector: { matchLabels: { 'buckets.safehold.test/id': id } } },
        repository: { name: repository },
        schedule: { cron: '0 3 * * *' },
        buckets: {
          endpoint: testEnv().ceph.s3.endpoint,
          adminSecretRef: { name: 'store-admin' },
          readerSecretRef: { name: 'store-reader' },
          owners: [owner.uid],
          exclude: [skipped],
          discoveryInterval: '5s',
        },
      },
    } as KubeObject);
    operator = await runOperatorHere(system, id);
  }, 300_000);

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policy }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repository }).catch(() => undefined);
    await deleteNamespace(client, system);
    for (const u of users) await removeStoreUser(u.uid);
    client.close();
  });

  it('grants the reader read in each bucket’s own policy, keeping the owner’s statements, with nothing done by hand', async () => {
    expect(await readObject(early, 'photos/2026/cat.jpg', reader)).toBe(403);
    await waitFor('the early bucket covered', async () => (await itemOf(early))?.state === 'Covered', {
      timeoutMs: 120_000,
    });
    expect((await readObject(early, 'photos/2026/cat.jpg', reader)).toString()).toBe('meow');
    const statements = (await bucketPolicyOf(early, owner)) as { Statement: { Sid: string }[] };
    expect(statements.Statement.map((s) => s.Sid)).toEqual(['OwnersOwn', grantSid]);
    // The owner's own grant still works.
    expect((await readObject(early, 'photos/2026/cat.jpg', stranger)).toString()).toBe('meow');
    // The dump that stores it follows.
    await waitFor('the early bucket’s dump', () =>
      client.get(kinds.applicationDump, { namespace: system, name: bucketDumpName(early) }).then(
        () => true,
        () => false,
      ),
    );
  });

  it('says why a bucket is not covered, and which are left out', async () => {
    await waitFor('every bucket decided', async () => (await itemOf(denying)) !== undefined, { timeoutMs: 120_000 });
    expect(await itemOf(denying)).toMatchObject({ state: 'Uncovered', owner: owner.uid });
    expect((await itemOf(denying))?.reason).toMatch(
      new RegExp(`the reader ${reader.uid} cannot list it: AccessDenied`),
    );
    expect(await itemOf(skipped)).toMatchObject({
      state: 'Excluded',
      reason: 'listed in the policy’s spec.buckets.exclude',
    });
    expect((await itemOf(foreign))?.state).toBe('Excluded');
    expect((await itemOf(foreign))?.reason).toContain(`its owner ${stranger.uid} is not among`);
    // Nothing of the stranger's bucket was touched: it has no policy at all.
    expect(await readObject(foreign, 'x', reader)).toBe(403);
  });

  it('covers a bucket created after the operator started within one discovery interval', async () => {
    const before = (await found())?.discoveredAt ?? '';
    await createBucket(later, owner);
    await putObject(later, 'report.csv', 'a,b\n1,2\n', { contentType: 'text/csv' }, owner);
    await waitFor('the later bucket covered', async () => (await itemOf(later))?.state === 'Covered', {
      timeoutMs: 120_000,
    });
    // Covered by the next discovery after it was made, or the one after that (one might have been under way).
    const coveredAt = Date.parse((await found())?.discoveredAt ?? '');
    expect(coveredAt).toBeGreaterThan(Date.parse(before));
    expect((await readObject(later, 'report.csv', reader)).toString()).toBe('a,b\n1,2\n');
  });

  it('shows each bucket on `safehold status --objects`: protected, excluded or UNPROTECTED with why', async () => {
    await waitFor('the later bucket’s dump', () =>
      client.get(kinds.applicationDump, { namespace: system, name: bucketDumpName(later) }).then(
        () => true,
        () => false,
      ),
    );
    const status = await safehold(['status', '--objects', '-A', '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    const rows = (JSON.parse(status.stdout) as ObjectsRow[]).filter((r) => r.scope === 'Bucket');
    const row = (name: string) => rows.find((r) => r.name === name);
    expect(row(early)).toMatchObject({ state: 'protected', dump: `${system}/${bucketDumpName(early)}` });
    expect(row(later)).toMatchObject({ state: 'protected' });
    expect(row(denying)).toMatchObject({ state: 'unprotected' });
    expect(row(skipped)).toMatchObject({ state: 'excluded' });
    const table = await safehold(['status', '--objects', '-A']);
    expect(table.stdout).toMatch(new RegExp(`bucket\\s+-\\s+${denying} \\(.*UNPROTECTED`));
  });

  it('stores a covered bucket with its dump, reading with the reader’s grant', async () => {
    const dump = bucketDumpName(early);
    await client.create(kinds.dumpRun, {
      metadata: { name: `${dump}-now`, namespace: system },
      spec: { dump },
    } as KubeObject);
    const run = await waitForRun<DumpRun>(client, kinds.dumpRun, system, `${dump}-now`, { timeoutMs: 300_000 });
    expect(run.status?.fileName).toBe('manifest.jsonl');
    expect(run.status?.message).toContain(`bucket ${early}`);
  });
});
