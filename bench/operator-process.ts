// The operator as the benchmarks run it: the shipped entry point (dist, built
// by bench/run.ts) with the Node flags its shebang carries, against the test
// cluster, in the namespace Safehold's runs use, under a Lease of its own.
import { join } from 'node:path';
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
