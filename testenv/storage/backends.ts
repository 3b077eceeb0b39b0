// The backends the test environment offers, by CSI driver name. The storage
// driver and the node agent each build the same table from the env directory.
import { join } from 'node:path';
import type { VolumeBackend } from './backend.ts';
import { CephfsBackend } from './cephfs-backend.ts';
import { cephConfPath, cephStorage } from './ceph-storage.ts';
import { DirBackend } from './dir-backend.ts';
import { RbdBackend } from './rbd-backend.ts';

export function storageBackends(envDir: string): Map<string, VolumeBackend> {
  const ceph = cephStorage(envDir);
  const confPath = cephConfPath(envDir);
  const backends: VolumeBackend[] = [
    new DirBackend(join(envDir, 'storage', 'dir')),
    new RbdBackend(ceph, confPath),
    new CephfsBackend(ceph, confPath),
  ];
  return new Map(backends.map((backend) => [backend.driver, backend]));
}
