// Two operators, one Lease: exactly one leads; when it stops, the other takes
// over and starts deciding, so volumes are never without a watcher for long.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlreadyExists, kinds, type KubeClient } from '../src/kube/index.ts';
import { clientAs, uniqueName, waitFor } from './support/cluster.ts';
import { installCrds, metricValue, startOperator, type RunningOperator } from './support/safehold.ts';

describe('operator leader election', () => {
  let client: KubeClient;
  const operators: RunningOperator[] = [];
  const lease = uniqueName('lease');

  beforeAll(async () => {
    client = clientAs('admin');
    await installCrds(client);
    await client.create(kinds.namespace, { metadata: { name: 'safehold-system' } }).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
  });
  afterAll(async () => {
    for (const operator of operators) await operator.stop();
    client.close();
  });

  it('lets one replica lead and hands over when it stops', async () => {
    operators.push(await startOperator('safehold-system', 'first', lease));
    const [first] = operators as [RunningOperator];
    await waitFor('the first replica to lead and decide', async () => {
      const text = await first.metrics();
      return (
        metricValue(text, 'safehold_leader', {}) === 1 &&
        (metricValue(text, 'safehold_decisions_ready_timestamp_seconds', {}) ?? 0) > 0
      );
    });
    operators.push(await startOperator('safehold-system', 'second', lease));
    const second = operators[1] as RunningOperator;
    // Give the second replica several retry periods: it must not lead while the first renews.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(metricValue(await second.metrics(), 'safehold_leader', {})).toBe(0);
    expect((await fetch(`http://127.0.0.1:${second.port}/readyz`)).status).toBe(503);
    const held = await client.get<{ spec?: { holderIdentity?: string } }>(kinds.lease, {
      namespace: 'safehold-system',
      name: lease,
    });
    expect(held.spec?.holderIdentity).toBe('first');

    await first.stop();
    expect(first.process.exitCode).toBe(0);
    await waitFor(
      'the second replica to take over and decide',
      async () => {
        const text = await second.metrics();
        return (
          metricValue(text, 'safehold_leader', {}) === 1 &&
          (metricValue(text, 'safehold_decisions_ready_timestamp_seconds', {}) ?? 0) > 0
        );
      },
      { timeoutMs: 30_000 },
    );
    expect((await fetch(`http://127.0.0.1:${second.port}/readyz`)).status).toBe(200);
  });
});
