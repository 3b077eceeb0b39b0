// Two operators, one Lease: exactly one leads; when it stops, the other takes
// over and starts deciding, so volumes are never without a watcher for long.
// A leader paused past its Lease (SIGSTOP) writes nothing once it runs again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlreadyExists, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import { auditSince, markAudit, writeVerbs } from './support/audit.ts';
import { clientAs, createNamespace, deleteNamespace, uniqueName, waitFor } from './support/cluster.ts';
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

  it('a leader paused past its Lease writes nothing once it runs again, and exits', async () => {
    const pausedLease = uniqueName('lease');
    const ns = await createNamespace(client, 'paused');
    interface Lease {
      spec?: { holderIdentity?: string; acquireTime?: string };
    }
    interface Event extends KubeObject {
      reason?: string;
      source?: { component?: string };
      involvedObject?: { name?: string };
    }
    // A malformed annotation makes the leader write: a Warning Event on the PVC.
    const malformed = (name: string) =>
      client.create(kinds.persistentVolumeClaim, {
        metadata: { name, namespace: ns, annotations: { 'safehold.io/backup': 'yes' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
    const eventsAbout = async (name: string) =>
      (
        await client.list<Event>(kinds.event, {
          namespace: ns,
          query: { fieldSelector: `involvedObject.name=${name}` },
        })
      ).items.filter((e) => e.reason === 'MalformedAnnotation');
    const mark = markAudit();
    try {
      const paused = await startOperator('safehold-system', 'paused', pausedLease);
      operators.push(paused);
      await malformed('before');
      await waitFor('the first replica to lead and report the malformed PVC', async () => {
        const text = await paused.metrics();
        return metricValue(text, 'safehold_leader', {}) === 1 && (await eventsAbout('before')).length > 0;
      });
      const successor = await startOperator('safehold-system', 'successor', pausedLease);
      operators.push(successor);
      const exited = new Promise<number | null>((resolve) => paused.process.once('exit', resolve));

      paused.process.kill('SIGSTOP');
      try {
        const leaseNow = () => client.get<Lease>(kinds.lease, { namespace: 'safehold-system', name: pausedLease });
        await waitFor(
          'the successor to take the Lease from the paused leader',
          async () => (await leaseNow()).spec?.holderIdentity === 'successor',
          { timeoutMs: 60_000 },
        );
        const taken = await leaseNow();
        // Work for a leader that arrives while the paused one cannot see it: its watch delivers it on waking.
        await malformed('during');
        await waitFor(
          'the successor to report the new malformed PVC',
          async () => (await eventsAbout('during')).length > 0,
        );
        const takenAt = Date.parse(taken.spec?.acquireTime ?? '');
        expect(takenAt).toBeGreaterThan(0);
        paused.process.kill('SIGCONT');
        const code = await exited;
        expect(code, paused.output()).toBe(1);
        expect(paused.output()).toContain('lost leadership');

        const byPaused = auditSince(mark).filter((e) => e.userAgent === 'safehold (paused)' && writeVerbs.has(e.verb));
        // It did write while it led (so the count below could fail)...
        expect(byPaused.filter((e) => e.at.getTime() < takenAt).length).toBeGreaterThan(0);
        // ...and sent not one write, not even a renewal, once the successor held the Lease.
        const after = byPaused.filter((e) => e.at.getTime() >= takenAt);
        expect(after.map((e) => `${e.verb} ${e.ref.resource}/${e.ref.name ?? ''} -> ${e.code}`)).toEqual([]);
      } finally {
        paused.process.kill('SIGCONT');
      }
    } finally {
      await deleteNamespace(client, ns);
    }
  });
});
