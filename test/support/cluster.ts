// What journeys share: the running environment, API clients as admin or as an
// ordinary user, a fresh namespace per test, and waiting for outcomes.
import type { Job } from 'kubernetes-types/batch/v1.js';
import type {
  Container,
  CSIPersistentVolumeSource,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Volume,
} from 'kubernetes-types/core/v1.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import { isNotFound, kinds, type KubeClient } from '../../src/kube/index.ts';
import { connectTestClient } from '../../testenv/client.ts';
import { GiveUp, waitFor } from '../../testenv/daemons.ts';
import { readEnvironment, type TestEnvironment } from '../../testenv/environment.ts';

export { GiveUp, waitFor };

export function testEnv(): TestEnvironment {
  const env = readEnvironment(inject('testenvDir'));
  if (env === undefined) throw new Error('the test environment is not running');
  return env;
}

/** The environment's real node, with Safehold's image built from these sources (build-image.sh, then env up). */
export function realNodeWithImage() {
  const node = testEnv().realNode;
  if (node?.image === undefined)
    throw new Error("the test environment's real node has no Safehold image for these sources (build-image.sh)");
  return { ...node, image: node.image };
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

/**
 * A PV written by hand (reclaim Retain, no class) and a claim bound to it by name; returns the PV
 * once both are bound. The claim waits until the PV controller has seen the PV: a claim naming a
 * PV it has not seen yet waits for its resync (15 s).
 */
export async function bindStaticVolume(
  client: KubeClient,
  namespace: string,
  claim: { name: string; labels?: Record<string, string> },
  pv: { name: string; csi: CSIPersistentVolumeSource; accessModes: string[]; size: string },
): Promise<PersistentVolume> {
  await client.create<PersistentVolume>(kinds.persistentVolume, {
    metadata: { name: pv.name },
    spec: {
      capacity: { storage: pv.size },
      accessModes: pv.accessModes,
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: '',
      csi: pv.csi,
    },
  });
  await waitFor(
    `PV ${pv.name} Available`,
    async () =>
      (await client.get<PersistentVolume>(kinds.persistentVolume, { name: pv.name })).status?.phase === 'Available',
  );
  await client.create<PersistentVolumeClaim>(kinds.persistentVolumeClaim, {
    metadata: { name: claim.name, namespace, ...(claim.labels === undefined ? {} : { labels: claim.labels }) },
    spec: {
      accessModes: pv.accessModes,
      storageClassName: '',
      volumeName: pv.name,
      resources: { requests: { storage: pv.size } },
    },
  });
  await waitFor(`PVC ${namespace}/${claim.name} bound`, async () => {
    const bound = await client.get<PersistentVolumeClaim>(kinds.persistentVolumeClaim, { namespace, name: claim.name });
    return bound.status?.phase === 'Bound';
  });
  return client.get<PersistentVolume>(kinds.persistentVolume, { name: pv.name });
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
