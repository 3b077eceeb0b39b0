// Presigned URLs against the environment's radosgw: whoever holds one can move
// that one object with plain fetch, for that method and that while only.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presignS3, s3ObjectLocation, type PresignRequest, type S3ObjectLocation } from '../src/core/index.ts';
import { run } from '../testenv/command.ts';
import { testEnv, uniqueName } from './support/cluster.ts';

describe('presigned S3 URLs on radosgw', () => {
  const work = mkdtempSync(join(tmpdir(), 's3-presign-'));
  let location: S3ObjectLocation;

  // The bucket comes the way Safehold's buckets come: restic init makes it, here under a tenant's prefix.
  beforeAll(async () => {
    const env = testEnv();
    const repository = `s3:${env.ceph.s3.endpoint}/${uniqueName('presign')}/tenants/team-a`;
    await run(env.tools.restic, ['init'], {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: repository,
        RESTIC_PASSWORD: 'correct horse battery staple',
        AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
        AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
        AWS_DEFAULT_REGION: env.ceph.s3.region,
        RESTIC_CACHE_DIR: join(work, 'cache'),
      },
      timeoutMs: 120_000,
    });
    const parsed = s3ObjectLocation(repository);
    if (!parsed.ok) throw new Error(parsed.error);
    location = parsed.location;
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  const presign = (method: PresignRequest['method'], key: string, change: Partial<PresignRequest> = {}) => {
    const { s3 } = testEnv().ceph;
    return presignS3({
      method,
      endpoint: location.endpoint,
      bucket: location.bucket,
      key: `${location.prefix}/${key}`,
      region: s3.region,
      accessKeyId: s3.accessKey,
      secretAccessKey: s3.secretKey,
      expiresSeconds: 300,
      now: new Date(),
      ...change,
    });
  };

  const upload = (url: string, body: Buffer) =>
    fetch(url, { method: 'PUT', body, headers: { 'Content-Length': String(body.length) } });

  const errorCode = async (response: Response) => /<Code>([^<]+)<\/Code>/.exec(await response.text())?.[1];

  it.each([
    'exports/plain.bin',
    'exports/a file with spaces (1).bin',
    "exports/ünïcødé 雪 🧊/sub-delims!'*~+=&;,@$.bin",
    'exports/100% sure?#frag.bin',
  ])('uploads, reads back, and deletes %j', async (key) => {
    const bytes = randomBytes(256 * 1024 + 7);

    const put = await upload(presign('PUT', key), bytes);
    expect(put.status, await put.clone().text()).toBe(200);

    const get = await fetch(presign('GET', key));
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true);

    // The endpoint written with a trailing '/' names the same place.
    const head = await fetch(presign('HEAD', key, { endpoint: `${location.endpoint}/` }), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));

    const deleted = await fetch(presign('DELETE', key), { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    const gone = await fetch(presign('GET', key));
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('NoSuchKey');
  });

  it('refuses a tampered signature, an expired URL, and a URL used for another method or object', async () => {
    const key = 'exports/guarded.bin';
    const bytes = randomBytes(1024);
    expect((await upload(presign('PUT', key), bytes)).status).toBe(200);

    const good = presign('GET', key);
    const last = good.at(-1) === '0' ? '1' : '0';
    const tampered = await fetch(`${good.slice(0, -1)}${last}`);
    expect(tampered.status).toBe(403);
    expect(await errorCode(tampered)).toBe('SignatureDoesNotMatch');

    const expired = await fetch(presign('GET', key, { now: new Date(Date.now() - 86_400_000), expiresSeconds: 60 }));
    expect(expired.status).toBe(403);
    expect(await errorCode(expired)).toBe('AccessDenied');

    const overwrite = await upload(good, randomBytes(16));
    expect(overwrite.status).toBe(403);
    await overwrite.body?.cancel();

    const otherObject = await fetch(good.replace('guarded.bin', 'guarded.bim'));
    expect(otherObject.status).toBe(403);
    await otherObject.body?.cancel();

    const still = await fetch(good);
    expect(Buffer.from(await still.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(presign('DELETE', key), { method: 'DELETE' })).status).toBe(204);
  });
});
