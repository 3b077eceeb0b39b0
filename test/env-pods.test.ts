// The node agent runs Pods for real: processes, volumes, env, exit codes,
// termination messages, logs through the API, deletion, and a clear failure
// for images it lacks.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound, kinds, type KubeClient } from '../src/kube/index.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  runJob,
  terminated,
  waitFor,
} from './support/cluster.ts';

describe('pods on the test node', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = clientAs('admin');
    ns = await createNamespace(client, 'pods');
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
    client.close();
  });

  it('runs a Job whose process writes into a PVC, and the bytes are on disk', async () => {
    await createClaim(client, ns, 'data');
    const volume = await boundVolumePath(client, ns, 'data');
    const run = await runJob(
      client,
      ns,
      'writer',
      {
        command: [
          'sh',
          '-c',
          'printf "written by %s in %s" "$POD_NAME" "$(pwd)" > /data/hello.txt && echo ok > /dev/termination-log',
        ],
        workingDir: '/data',
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      },
      [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    );
    const pod = run.pods[0];
    expect(run.job.status?.succeeded).toBe(1);
    expect(terminated(pod)).toMatchObject({ exitCode: 0, reason: 'Completed', message: 'ok\n' });
    expect(readFileSync(join(volume, 'hello.txt'), 'utf8')).toBe(`written by ${pod?.metadata?.name ?? ''} in /data`);
  });

  it('reports a failing exit code and the logs as the message when asked to', async () => {
    const run = await runJob(client, ns, 'failer', {
      command: ['sh', '-c', 'echo "cannot reach the repository" >&2; exit 3'],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
    expect(run.job.status?.failed).toBe(1);
    expect(run.pods[0]?.status?.phase).toBe('Failed');
    expect(terminated(run.pods[0])).toMatchObject({
      exitCode: 3,
      reason: 'Error',
      message: 'cannot reach the repository\n',
    });
  });

  it('serves a container log through kube-apiserver, cut to the last lines asked for', async () => {
    const run = await runJob(client, ns, 'printer', {
      command: ['sh', '-c', 'for i in 1 2 3 4; do echo "progress $i"; done; echo "progress 5 (stderr)" >&2'],
    });
    const name = run.pods[0]?.metadata?.name ?? '';
    expect(await client.podLog(ns, name, { container: 'main', tailLines: 2 })).toBe(
      'progress 4\nprogress 5 (stderr)\n',
    );
    expect(await client.podLog(ns, name, { limitBytes: 10 })).toBe('progress 1');
    await expect(client.podLog(ns, name, { container: 'sidecar' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('container sidecar is not valid') as unknown,
    });
  });

  it('gives a container its Secret and ConfigMap values as env and files', async () => {
    await client.create(kinds.secret, {
      metadata: { name: 's3', namespace: ns },
      stringData: { AWS_ACCESS_KEY_ID: 'AKIA-TEST', password: 'p4ss' },
    } as never);
    await client.create(kinds.configMap, {
      metadata: { name: 'settings', namespace: ns },
      data: { REPO: 's3:http://x/bucket' },
    } as never);
    const run = await runJob(
      client,
      ns,
      'env-reader',
      {
        command: [
          'sh',
          '-c',
          'printf "%s|%s|%s" "$AWS_ACCESS_KEY_ID" "$REPO" "$(cat /secret/password)" > /dev/termination-log',
        ],
        envFrom: [{ secretRef: { name: 's3' } }],
        env: [{ name: 'REPO', valueFrom: { configMapKeyRef: { name: 'settings', key: 'REPO' } } }],
        volumeMounts: [{ name: 'secret', mountPath: '/secret', readOnly: true }],
      },
      [{ name: 'secret', secret: { secretName: 's3' } }],
    );
    expect(terminated(run.pods[0])?.message).toBe('AKIA-TEST|s3:http://x/bucket|p4ss');
  });

  it('shows a block volume at its devicePath, and writes reach the backing file', async () => {
    await createClaim(client, ns, 'disk', { mode: 'Block', size: '64Mi' });
    const backing = await boundVolumePath(client, ns, 'disk');
    const run = await runJob(
      client,
      ns,
      'block-writer',
      {
        command: [
          'sh',
          '-c',
          'test -b /dev/xvda && printf safehold-block | dd of=/dev/xvda bs=1 seek=1048576 conv=notrunc 2>/dev/null && printf %s "$(blockdev --getsize64 /dev/xvda)" > /dev/termination-log',
        ],
        volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }],
      },
      [{ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
    );
    expect(terminated(run.pods[0])).toMatchObject({ exitCode: 0, message: String(64 * 1024 * 1024) });
    expect(
      readFileSync(backing)
        .subarray(1048576, 1048576 + 14)
        .toString(),
    ).toBe('safehold-block');
  });

  it('fails a Pod whose image the node does not have, with a reason that says so', async () => {
    const run = await runJob(client, ns, 'busybox', { image: 'busybox:1.36', command: ['true'] });
    const pod = run.pods[0];
    expect(pod?.status?.phase).toBe('Failed');
    expect(pod?.status?.reason).toBe('ErrImagePull');
    expect(pod?.status?.message).toContain('image "busybox:1.36" of container "main" is not on the test node');
  });

  it('stops a running Pod when it is deleted', async () => {
    const pod: Pod = {
      metadata: { name: 'sleeper', namespace: ns },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 5,
        containers: [{ name: 'main', image: 'safehold', command: ['sleep', '3600'] }],
      },
    };
    await client.create(kinds.pod, pod);
    await waitFor(
      'sleeper running',
      async () => (await client.get<Pod>(kinds.pod, { namespace: ns, name: 'sleeper' })).status?.phase === 'Running',
    );
    await client.delete(kinds.pod, { namespace: ns, name: 'sleeper' });
    await waitFor(
      'sleeper gone',
      async () => {
        try {
          await client.get(kinds.pod, { namespace: ns, name: 'sleeper' });
          return false;
        } catch (error) {
          return isNotFound(error);
        }
      },
      { timeoutMs: 20_000 },
    );
  });
});
