// The two streams an application dump takes through the operator (ADR 0026),
// on the real node's containers: a command's stdout taken as it comes through
// pods/exec (the consumer slower than the producer, so the stream must wait
// for it), and bytes written to a container's stdin through pods/attach.
// Both arrive whole: counted and hashed at either end.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { createHash, randomBytes } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds, type KubeClient } from '../src/kube/index.ts';
import { realNodeName, realNodeTaint } from '../testenv/real-node/kubelet.ts';
import { clientAs, createNamespace, deleteNamespace, testEnv, waitFor } from './support/cluster.ts';

describe('streams in and out of containers', () => {
  let client: KubeClient;
  let ns = '';

  const image = () => {
    const built = testEnv().realNode?.image;
    if (built === undefined) throw new Error("the test environment's real node has no Safehold image (build-image.sh)");
    return built;
  };
  const pod = (name: string, container: object) => ({
    metadata: { name, namespace: ns },
    spec: {
      restartPolicy: 'Never',
      nodeSelector: { 'kubernetes.io/hostname': realNodeName },
      tolerations: [{ key: realNodeTaint.key, operator: 'Exists', effect: realNodeTaint.effect }],
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: image(), imagePullPolicy: 'Never', ...container }],
    },
  });
  const phase = async (name: string) => (await client.get<Pod>(kinds.pod, { namespace: ns, name })).status?.phase;

  beforeAll(async () => {
    client = clientAs('admin');
    ns = await createNamespace(client, 'streams');
  });
  afterAll(async () => {
    if (ns !== '') await deleteNamespace(client, ns);
    client.close();
  });

  it("takes a command's stdout as it comes, waiting for a slow consumer, every byte in order", async () => {
    await client.create(kinds.pod, pod('source', { command: ['sleep', '3600'] }));
    await waitFor('Pod source running', async () => (await phase('source')) === 'Running');
    const received = createHash('sha256');
    let bytes = 0;
    const result = await client.exec({
      namespace: ns,
      pod: 'source',
      container: 'main',
      // 30 MB of random bytes, their digest on stderr.
      command: ['sh', '-c', 'head -c 30000000 /dev/urandom > /tmp/blob && sha256sum /tmp/blob >&2 && cat /tmp/blob'],
      timeoutMs: 120_000,
      onStdout: async (chunk) => {
        received.update(chunk);
        bytes += chunk.length;
        await turn();
      },
    });
    expect(result.exitCode, result.error ?? result.stderr).toBe(0);
    expect(bytes).toBe(30_000_000);
    expect(result.stderr.split(' ')[0]).toBe(received.digest('hex'));
    expect(result.stdout).toBe(''); // taken by the consumer, not kept
  });

  it("writes to a container's stdin, and closing it ends the container's input", async () => {
    await client.create(
      kinds.pod,
      pod('sink', {
        command: ['sha256sum'],
        stdin: true,
        stdinOnce: true,
      }),
    );
    await waitFor('Pod sink running', async () => (await phase('sink')) === 'Running');
    const data = randomBytes(20 * 2 ** 20);
    const stdin = await client.attach({ namespace: ns, pod: 'sink', container: 'main', timeoutMs: 30_000 });
    for (let at = 0; at < data.length; at += 64 * 1024) await stdin.write(data.subarray(at, at + 64 * 1024));
    await stdin.end();
    await waitFor('Pod sink to finish', async () => (await phase('sink')) === 'Succeeded', { timeoutMs: 60_000 });
    const log = await client.podLog(ns, 'sink', { container: 'main' });
    expect(log.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
