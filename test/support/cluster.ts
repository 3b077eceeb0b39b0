// What journeys share: the running environment, API clients as admin or as an
// ordinary user, a fresh namespace per test, and waiting for outcomes.
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Container, PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import { isNotFound, kinds, type KubeClient } from '../../src/kube/index.ts';
import { connectTestClient } from '../../testenv/client.ts';
import { waitFor } from '../../testenv/daemons.ts';
import { readEnvironment, type TestEnvironment } from '../../testenv/environment.ts';

export { waitFor };

export function testEnv(): TestEnvironment {
  const env = readEnvironment(inject('testenvDir'));
  if (env === undefined) throw new Error('the test environment is not running');
  return env;
}

export function clientAs(user: 'admin' | 'alice' | 'bob' = 'admin'): KubeClient {
  return connectTestClient(testEnv().kubeconfig, user);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await client.create(kinds.namespace, { metadata: { name } });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.delete(kinds.namespace, { name });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export async function createClaim(
  client: KubeClient,
  namespace: string,
  name: string,
  options: { size?: string; mode?: 'Filesystem' | 'Block'; fromSnapshot?: string; storageClass?: string } = {},
): Promise<PersistentVolumeClaim> {
  const claim: PersistentVolumeClaim = {
    metadata: { name, namespace },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(options.storageClass === undefined ? {} : { storageClassName: options.storageClass }),
      resources: { requests: { storage: options.size ?? '1Gi' } },
      volumeMode: options.mode ?? 'Filesystem',
      ...(options.fromSnapshot === undefined
        ? {}
        : { dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: options.fromSnapshot } }),
    },
  };
  return client.create(kinds.persistentVolumeClaim, claim);
}

/** Waits for the claim to bind; returns the folder (or file, for Block) that holds its bytes. */
export async function boundVolumePath(client: KubeClient, namespace: string, name: string): Promise<string> {
  let volumeName = '';
  await waitFor(`PVC ${namespace}/${name} bound`, async () => {
    const claim = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace, name });
    volumeName = claim.spec?.volumeName ?? '';
    return claim.status?.phase === 'Bound';
  });
  return join(testEnv().storage.root, 'volumes', volumeName);
}

export interface JobRun {
  job: Job;
  pods: Pod[];
}

/** Runs a one-container Job of the `safehold` image and waits until it completes or fails. */
export async function runJob(
  client: KubeClient,
  namespace: string,
  name: string,
  container: Omit<Container, 'name' | 'image'> & { image?: string },
  volumes: Volume[] = [],
): Promise<JobRun> {
  const job: Job = {
    metadata: { name, namespace },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [{ name: 'main', image: 'safehold', ...container }],
          volumes,
        },
      },
    },
  };
  await client.create(kinds.job, job);
  let finished: Job | undefined;
  await waitFor(
    `Job ${namespace}/${name} to finish`,
    async () => {
      const current = await client.get<Job>(kinds.job, { namespace, name });
      const done =
        current.status?.conditions?.some(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        ) === true;
      if (done) finished = current;
      return done;
    },
    { timeoutMs: 120_000 },
  );
  const pods = await client.list<Pod>(kinds.pod, {
    namespace,
    query: { labelSelector: `batch.kubernetes.io/job-name=${name}` },
  });
  return { job: finished as Job, pods: pods.items };
}

export function terminated(pod: Pod | undefined) {
  return pod?.status?.containerStatuses?.[0]?.state?.terminated;
}
