// Buckets of the test radosgw for the engines benchmark. kopia, unlike
// restic, does not create its bucket, so the bench does: one S3 CreateBucket
// signed with AWS Signature Version 4 in the Authorization header. Its stored
// size is radosgw-admin's; removing it is testenv/ceph/ceph-health.ts's.
import { createHash, createHmac } from 'node:crypto';
import { run } from '../testenv/command.ts';
import type { TestEnvironment } from '../testenv/environment.ts';

type S3 = TestEnvironment['ceph']['s3'];

export async function createBucket(s3: S3, bucket: string, now = new Date()): Promise<void> {
  const url = new URL(`/${bucket}`, s3.endpoint);
  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
  const scope = `${amzDate.slice(0, 8)}/${s3.region}/s3/aws4_request`;
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-amz-date': amzDate,
  };
  const signed = Object.keys(headers).join(';');
  const canonical = ['PUT', url.pathname, '', ...Object.entries(headers).map(([k, v]) => `${k}:${v}`), '', signed];
  canonical.push('UNSIGNED-PAYLOAD');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical.join('\n')).digest('hex')];
  const key = [amzDate.slice(0, 8), s3.region, 's3', 'aws4_request'].reduce<Buffer>(
    (secret, part) => createHmac('sha256', secret).update(part).digest(),
    Buffer.from(`AWS4${s3.secretKey}`),
  );
  const signature = createHmac('sha256', key).update(toSign.join('\n')).digest('hex');
  const response = await fetch(url, {
    method: 'PUT',
    headers: {
      ...headers,
      authorization: `AWS4-HMAC-SHA256 Credential=${s3.accessKey}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
    },
  });
  if (!response.ok) throw new Error(`creating bucket ${bucket}: ${response.status} ${await response.text()}`);
}

/** What the bucket's objects take, as radosgw counts them (bytes). */
export async function bucketBytes(confPath: string, bucket: string): Promise<number> {
  const { stdout } = await run('radosgw-admin', ['-c', confPath, 'bucket', 'stats', '--bucket', bucket]);
  const stats = JSON.parse(stdout) as { usage?: Record<string, { size?: number }> };
  return Object.values(stats.usage ?? {}).reduce((sum, u) => sum + (u.size ?? 0), 0);
}
