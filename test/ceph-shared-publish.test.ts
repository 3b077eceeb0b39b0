// One RBD image published twice at once, as Safehold does when it binds a
// second PV with the same volumeHandle while the workload's Pod has the volume:
// both Pods see one ext4 through one loop device, never two mounts of it.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound, kinds, type KubeClient } from '../src/kube/index.ts';
import { loopDevices, mounts } from '../testenv/storage/fuse-mounts.ts';
import { persistentVolumeOf, rbdImageFile, rbdImageName, rbdPoolImages } from './support/ceph-volumes.ts';
import {
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  runJob,
  terminated,
  testEnv,
  waitFor,
  bindStaticVolume,
} from './support/cluster.ts';

describe('an RBD volume published twice at once', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = clientAs('admin');
    ns = await createNamespace(client, 'ceph-alias');
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
    client.close();
  });

  const gone = (get: () => Promise<unknown>) => () =>
    get().then(
      () => false,
      (error: unknown) => isNotFound(error),
    );

  it('shares one device and one ext4 mount, read-only for the alias, and is deleted once both let go', async () => {
    const { rbd } = testEnv().cephStorage;
    await createClaim(client, ns, 'shared', { storageClass: rbd.storageClass, size: '128Mi' });
    const pv = await persistentVolumeOf(client, ns, 'shared');
    const image = rbdImageName(pv);
    await client.create<Pod>(kinds.pod, {
      metadata: { name: 'workload', namespace: ns },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'main',
            image: 'safehold',
            command: ['sh', '-c', 'echo from-workload > /data/a.txt && sleep 600'],
            volumeMounts: [{ name: 'v', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'shared' } }],
      },
    });
    await waitFor('the workload wrote its file', () => existsSync(join(rbd.mountDir, image, 'a.txt')));

    const aliasName = `alias-${ns}`;
    const csi = pv.spec?.csi;
    if (csi === undefined) throw new Error(`PV ${pv.metadata?.name ?? ''} has no CSI source`);
    await bindStaticVolume(
      client,
      ns,
      { name: 'alias' },
      { name: aliasName, csi, accessModes: ['ReadWriteOnce'], size: '128Mi' },
    );
    const run = await runJob(
      client,
      ns,
      'alias-reader',
      {
        command: [
          'sh',
          '-c',
          'printf "%s|%s" "$(cat /data/a.txt)" "$(touch /data/b.txt 2>/dev/null && echo writable || echo read-only)" > /dev/termination-log',
        ],
        volumeMounts: [{ name: 'v', mountPath: '/data', readOnly: true }],
      },
      [{ name: 'v', persistentVolumeClaim: { claimName: 'alias', readOnly: true } }],
    );
    expect(terminated(run.pods[0])?.message).toBe('from-workload|read-only');
    const devices = (await loopDevices()).filter((loop) => loop.file === rbdImageFile(pv));
    expect(devices.filter((loop) => !loop.autoclear)).toHaveLength(1);
    expect(mounts().filter((m) => m.source === devices[0]?.name)).toHaveLength(1);

    // Everything lets go; the image is deleted only then (as ceph-csi refuses images with watchers).
    await client.delete(kinds.job, { namespace: ns, name: 'alias-reader' }, { propagationPolicy: 'Background' });
    await client.delete(kinds.pod, { namespace: ns, name: 'workload' });
    await client.delete(kinds.persistentVolumeClaim, { namespace: ns, name: 'alias' });
    await waitFor(
      'alias claim gone',
      gone(() => client.get(kinds.persistentVolumeClaim, { namespace: ns, name: 'alias' })),
    );
    await client.delete(kinds.persistentVolume, { name: aliasName });
    await client.delete(kinds.persistentVolumeClaim, { namespace: ns, name: 'shared' });
    await waitFor('the image deleted', async () => !(await rbdPoolImages()).images.includes(image));
    expect((await loopDevices()).filter((loop) => loop.file === rbdImageFile(pv))).toEqual([]);
  });
});
