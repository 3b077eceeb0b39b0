// Safehold's informer survives the API server going away: a watch cut by an
// apiserver restart resumes (or relists) and no change is lost.
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer, kinds, type KubeClient } from '../src/kube/index.ts';
import { restartApiserver } from '../testenv/kube/control-plane.ts';
import {
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  runJob,
  terminated,
  testEnv,
  waitFor,
} from './support/cluster.ts';

describe('an informer across an apiserver restart', () => {
  let client: KubeClient;
  let ns: string;
  let informer: Informer<PersistentVolumeClaim>;
  const errors: unknown[] = [];

  beforeAll(async () => {
    client = clientAs('admin');
    ns = await createNamespace(client, 'resume');
    informer = new Informer<PersistentVolumeClaim>(client, kinds.persistentVolumeClaim, {
      namespace: ns,
      onError: (e) => errors.push(e),
      maxBackoffMs: 1000,
    }).start();
    await informer.synced();
  });
  afterAll(async () => {
    await informer.stop();
    await deleteNamespace(client, ns);
    client.close();
  });

  it('sees every change made before, across and after the restart', async () => {
    const seen: string[] = [];
    informer.onChange((change) => seen.push(`${change.type} ${change.key}`));
    await createClaim(client, ns, 'before');
    await waitFor('the informer to see "before"', () => informer.get(`${ns}/before`) !== undefined);

    await restartApiserver(testEnv().dir);
    // Changes made the moment the server is back, while the informer is still reconnecting.
    await createClaim(client, ns, 'after');
    await client.mergePatch(
      kinds.persistentVolumeClaim,
      { namespace: ns, name: 'before' },
      { metadata: { labels: { touched: 'yes' } } },
    );
    await client.delete(kinds.persistentVolumeClaim, { namespace: ns, name: 'after' });
    await createClaim(client, ns, 'last');

    await waitFor(
      'the informer to catch up',
      () => {
        const before = informer.get(`${ns}/before`);
        return (
          before?.metadata?.labels?.touched === 'yes' &&
          informer.get(`${ns}/last`) !== undefined &&
          informer.get(`${ns}/after`) === undefined
        );
      },
      { timeoutMs: 60_000 },
    );
    expect(errors.length).toBeGreaterThan(0); // the watch really was cut
    expect(
      informer
        .list()
        .map((c) => c.metadata?.name)
        .sort(),
    ).toEqual(['before', 'last']);
    expect(seen).toContain(`added ${ns}/last`);
  });

  it('leaves the test environment working: a Job still runs to completion', async () => {
    const run = await runJob(client, ns, 'still-works', { command: ['sh', '-c', 'echo fine > /dev/termination-log'] });
    expect(terminated(run.pods[0])?.message).toBe('fine\n');
  });
});
