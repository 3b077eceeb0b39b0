// The storage driver daemon: watches claims, volumes and snapshots and runs
// the provisioner and snapshotter for every backend in storageBackends().
//   node testenv/storage/main.ts --kubeconfig PATH --env-dir DIR
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { parseArgs } from 'node:util';
import { Informer, kinds, objectKey, WorkQueue } from '../../src/kube/index.ts';
import { connectTestClient } from '../client.ts';
import { storageBackends } from './backends.ts';
import { reconcileClaim, reconcileVolume } from './provisioner.ts';
import { reconcileGroupSnapshot } from './group-snapshotter.ts';
import { reconcileSnapshot } from './snapshotter.ts';
import type {
  VolumeGroupSnapshot,
  VolumeGroupSnapshotClass,
  VolumeGroupSnapshotContent,
  VolumeSnapshot,
  VolumeSnapshotClass,
  VolumeSnapshotContent,
} from './snapshot-types.ts';

const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, 'env-dir': { type: 'string' } } });
const envDir = values['env-dir'] ?? '';
const client = connectTestClient(values.kubeconfig ?? '');
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
const onError = (error: unknown) => log(`watch error: ${String(error)}`);

const claims = new Informer<PersistentVolumeClaim>(client, kinds.persistentVolumeClaim, { onError });
const volumes = new Informer<PersistentVolume>(client, kinds.persistentVolume, { onError });
const classes = new Informer<StorageClass>(client, kinds.storageClass, { onError });
const snapshots = new Informer<VolumeSnapshot>(client, kinds.volumeSnapshot, { onError });
const contents = new Informer<VolumeSnapshotContent>(client, kinds.volumeSnapshotContent, { onError });
const snapshotClasses = new Informer<VolumeSnapshotClass>(client, kinds.volumeSnapshotClass, { onError });
const groupSnapshots = new Informer<VolumeGroupSnapshot>(client, kinds.volumeGroupSnapshot, { onError });
const groupContents = new Informer<VolumeGroupSnapshotContent>(client, kinds.volumeGroupSnapshotContent, { onError });
const groupClasses = new Informer<VolumeGroupSnapshotClass>(client, kinds.volumeGroupSnapshotClass, { onError });
const backends = storageBackends(envDir);
const deps = {
  client,
  backends,
  claims,
  volumes,
  classes,
  snapshots,
  contents,
  snapshotClasses,
  groupSnapshots,
  groupContents,
  groupClasses,
  log,
};

const reportError = (key: string, error: unknown) =>
  log(`${key}: ${error instanceof Error ? error.message : String(error)}`);
const claimQueue = new WorkQueue((key) => reconcileClaim(deps, key), { onError: reportError });
const volumeQueue = new WorkQueue((key) => reconcileVolume(deps, key), { onError: reportError });
const snapshotQueue = new WorkQueue((key) => reconcileSnapshot(deps, key), { onError: reportError });
const groupQueue = new WorkQueue((key) => reconcileGroupSnapshot(deps, key), { onError: reportError });

claims.onChange((c) => claimQueue.add(c.key));
volumes.onChange((c) => volumeQueue.add(c.key));
snapshots.onChange((c) => snapshotQueue.add(c.key));
groupSnapshots.onChange((c) => groupQueue.add(c.key));
// A snapshot that becomes ready may unblock claims restored from it.
snapshots.onChange((c) => {
  if (c.type !== 'deleted' && c.object.status?.readyToUse === true) {
    for (const claim of claims.list()) {
      if (claim.metadata?.namespace === c.object.metadata.namespace) claimQueue.add(objectKey(claim));
    }
  }
});

const informers = [classes, snapshotClasses, contents, groupClasses, groupContents, volumes, claims, snapshots];
for (const informer of [...informers, groupSnapshots]) informer.start();
log(`storage driver up for ${[...backends.keys()].join(', ')}`);

const shutdown = () => {
  log('stopping');
  for (const q of [claimQueue, volumeQueue, snapshotQueue, groupQueue]) q.stop();
  void Promise.all([...informers, groupSnapshots].map((i) => i.stop())).then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
