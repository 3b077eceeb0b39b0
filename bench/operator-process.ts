// The operator as the benchmarks run it: the shipped entry point (dist, built
// by bench/run.ts) with the Node flags its shebang carries, against the test
// cluster, in the namespace Safehold's runs use, under a Lease of its own.
import { join } from 'node:path';
import { kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import type { TestEnvironment } from '../testenv/environment.ts';
import { repoRoot } from '../testenv/paths.ts';
import { entryNodeFlags } from './entry-flags.ts';

export function operatorArgv(
  env: TestEnvironment,
  leaseName: string,
  options: { nodeFlags?: readonly string[]; args?: readonly string[]; metricsAddress?: string } = {},
): string[] {
  return [
    ...entryNodeFlags(),
    ...(options.nodeFlags ?? []),
    join(repoRoot, 'dist/bin/safehold.js'),
    '--kubeconfig',
    env.kubeconfig,
    'operator',
    '--namespace',
    'safehold-system',
    ...(options.args ?? []),
    '--lease-name',
    leaseName,
    '--metrics-bind-address',
    options.metricsAddress ?? '127.0.0.1:0',
  ];
}

/**
 * Safehold's namespace with the Secrets a benchmark's BackupRepository names: radosgw's keys
 * (bench-s3) and a fixed repository password (bench-password). Returns how to reference one.
 */
export async function applyBenchSecrets(
  env: TestEnvironment,
  client: KubeClient,
): Promise<(secret: 'bench-s3' | 'bench-password') => { namespace: string; name: string }> {
  await client.apply(kinds.namespace, { metadata: { name: 'safehold-system' } }, { force: true });
  const secrets = {
    'bench-s3': { AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey, AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey },
    'bench-password': { password: 'bench-password' },
  };
  for (const [name, stringData] of Object.entries(secrets))
    await client.apply(kinds.secret, { metadata: { name, namespace: 'safehold-system' }, stringData } as KubeObject, {
      force: true,
    });
  return (secret) => ({ namespace: 'safehold-system', name: secret });
}
