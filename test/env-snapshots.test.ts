// The storage driver's snapshots are real points in time: a PVC restored from
// a snapshot holds the bytes of that moment, not the volume's later ones.
import type { VolumeSnapshot } from '../testenv/storage/snapshot-types.ts';
import { readFileSync, writeFileSync } from 'node:fs';
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

describe('volume snapshots', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = clientAs('admin');
    ns = await createNamespace(client, 'snap');
  });
  afterAll(async () => {
    await deleteNamespace(client, ns);
    client.close();
  });

  it('restores a PVC from a snapshot with the bytes of the snapshot moment', async () => {
    await createClaim(client, ns, 'data');
    const source = await boundVolumePath(client, ns, 'data');
    writeFileSync(join(source, 'state.txt'), 'version 1');

    await client.create(kinds.volumeSnapshot, {
      metadata: { name: 'before', namespace: ns },
      spec: { source: { persistentVolumeClaimName: 'data' } },
    });
    let snapshot: VolumeSnapshot | undefined;
    await waitFor('snapshot readyToUse', async () => {
      snapshot = await client.get<VolumeSnapshot>(kinds.volumeSnapshot, { namespace: ns, name: 'before' });
      return snapshot.status?.readyToUse === true;
    });
    expect(snapshot?.spec.volumeSnapshotClassName).toBe('safehold-test-dir');
    expect(snapshot?.status?.boundVolumeSnapshotContentName).toMatch(/^snapcontent-/);

    writeFileSync(join(source, 'state.txt'), 'version 2');
    await createClaim(client, ns, 'restored', { fromSnapshot: 'before' });
    const restored = await boundVolumePath(client, ns, 'restored');
    expect(readFileSync(join(restored, 'state.txt'), 'utf8')).toBe('version 1');
    expect(readFileSync(join(source, 'state.txt'), 'utf8')).toBe('version 2');

    // A Pod mounting the restored claim sees the old bytes too.
    const run = await runJob(
      client,
      ns,
      'reader',
      {
        command: ['sh', '-c', 'cat /restored/state.txt > /dev/termination-log'],
        volumeMounts: [{ name: 'r', mountPath: '/restored', readOnly: true }],
      },
      [{ name: 'r', persistentVolumeClaim: { claimName: 'restored', readOnly: true } }],
    );
    expect(terminated(run.pods[0])?.message).toBe('version 1');
  });

  it('deletes the snapshot content and its copy when the snapshot is deleted', async () => {
    await createClaim(client, ns, 'short');
    await boundVolumePath(client, ns, 'short');
    await client.create(kinds.volumeSnapshot, {
      metadata: { name: 'gone', namespace: ns },
      spec: { source: { persistentVolumeClaimName: 'short' } },
    });
    let contentName = '';
    await waitFor('snapshot readyToUse', async () => {
      const s = await client.get<VolumeSnapshot>(kinds.volumeSnapshot, { namespace: ns, name: 'gone' });
      contentName = s.status?.boundVolumeSnapshotContentName ?? '';
      return s.status?.readyToUse === true;
    });
    await client.delete(kinds.volumeSnapshot, { namespace: ns, name: 'gone' });
    const absent = async (get: () => Promise<unknown>) =>
      get().then(
        () => false,
        (error: unknown) => isNotFound(error),
      );
    await waitFor(
      'snapshot and content deleted',
      async () =>
        (await absent(() => client.get(kinds.volumeSnapshot, { namespace: ns, name: 'gone' }))) &&
        (await absent(() => client.get(kinds.volumeSnapshotContent, { name: contentName }))),
    );
  });
});
