// The backends the test environment offers, by CSI driver name. The storage
// driver and the node agent each build the same table from the env directory.
import { join } from 'node:path';
import type { VolumeBackend } from './backend.ts';
import { DirBackend } from './dir-backend.ts';

export function storageBackends(envDir: string): Map<string, VolumeBackend> {
  const dir = new DirBackend(join(envDir, 'storage', 'dir'));
  return new Map<string, VolumeBackend>([[dir.driver, dir]]);
}
