// restic 0.18 against the Ceph radosgw S3 endpoint of the environment: init,
// backup, restore, check, and the bytes come back equal.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../testenv/command.ts';
import { testEnv, uniqueName } from './support/cluster.ts';

describe('restic on radosgw S3', () => {
  const work = mkdtempSync(join(tmpdir(), 'restic-s3-'));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('backs up and restores a folder byte for byte, and the repository checks clean', async () => {
    const env = testEnv();
    const bucket = uniqueName('restic');
    const restic = (args: string[]) =>
      run(env.tools.restic, args, {
        env: {
          ...process.env,
          RESTIC_REPOSITORY: `s3:${env.ceph.s3.endpoint}/${bucket}`,
          RESTIC_PASSWORD: 'correct horse battery staple',
          AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
          AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
          AWS_DEFAULT_REGION: env.ceph.s3.region,
          RESTIC_CACHE_DIR: join(work, 'cache'),
        },
        timeoutMs: 300_000,
      });
    const source = join(work, 'source');
    mkdirSync(join(source, 'nested'), { recursive: true });
    const big = randomBytes(3 * 1024 * 1024);
    writeFileSync(join(source, 'big.bin'), big);
    writeFileSync(join(source, 'nested', 'note.txt'), 'hello from safehold');

    await restic(['init']);
    const backup = await restic(['backup', '--json', '--host', 'k8s-demo-nspvc-data', source]);
    const summary = backup.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { message_type: string; files_new?: number; snapshot_id?: string })
      .find((m) => m.message_type === 'summary');
    expect(summary?.files_new).toBe(2);
    expect(summary?.snapshot_id).toMatch(/^[0-9a-f]{64}$/);

    const target = join(work, 'target');
    await restic(['restore', 'latest', '--target', target]);
    const restoredBig = readFileSync(join(target, source, 'big.bin'));
    expect(createHash('sha256').update(restoredBig).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    expect(readFileSync(join(target, source, 'nested', 'note.txt'), 'utf8')).toBe('hello from safehold');
    await restic(['check', '--read-data']);
  });
});
