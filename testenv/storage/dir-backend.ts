// Volumes as directories (Filesystem) or sparse files (Block) on a real local
// filesystem; snapshots as full copies taken at one moment (reflinked where
// the filesystem can). Block volumes are published as loop devices.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../command.ts';
import type {
  CreatedSnapshot,
  CreatedVolume,
  CreateVolumeRequest,
  Published,
  SnapshotRef,
  VolumeBackend,
  VolumeMode,
  VolumeRef,
} from './backend.ts';

export const dirDriver = 'dir.csi.safehold.test';

export class DirBackend implements VolumeBackend {
  readonly driver = dirDriver;
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    mkdirSync(join(root, 'volumes'), { recursive: true });
    mkdirSync(join(root, 'snapshots'), { recursive: true });
  }

  /** Where a volume's bytes are on disk: tests read them there. */
  volumePath(volumeHandle: string): string {
    return join(this.root, 'volumes', volumeHandle);
  }

  snapshotPath(snapshotHandle: string): string {
    return join(this.root, 'snapshots', snapshotHandle);
  }

  async createVolume(request: CreateVolumeRequest): Promise<CreatedVolume> {
    const handle = request.name;
    const path = this.volumePath(handle);
    if (existsSync(path)) return { volumeHandle: handle };
    const partial = `${path}.partial`;
    await rm(partial, { recursive: true, force: true });
    if (request.fromSnapshot !== undefined) {
      const source = this.snapshotPath(request.fromSnapshot.snapshotHandle);
      if (!existsSync(source)) throw new Error(`snapshot ${request.fromSnapshot.snapshotHandle} does not exist`);
      await copyTree(source, partial);
      if (request.mode === 'Block') await run('truncate', ['--no-create', '-s', `>${request.sizeBytes}`, partial]);
    } else if (request.mode === 'Block') {
      await run('truncate', ['-s', String(request.sizeBytes), partial]);
    } else {
      mkdirSync(partial, { mode: 0o777 });
    }
    await run('mv', ['-T', partial, path]);
    return { volumeHandle: handle };
  }

  async deleteVolume(volume: VolumeRef): Promise<void> {
    await rm(this.volumePath(volume.volumeHandle), { recursive: true, force: true });
  }

  async createSnapshot(name: string, { volumeHandle }: VolumeRef): Promise<CreatedSnapshot> {
    const path = this.snapshotPath(name);
    if (!existsSync(path)) {
      const source = this.volumePath(volumeHandle);
      if (!existsSync(source)) throw new Error(`volume ${volumeHandle} does not exist`);
      const partial = `${path}.partial`;
      await rm(partial, { recursive: true, force: true });
      await copyTree(source, partial);
      await run('mv', ['-T', partial, path]);
    }
    const st = statSync(path);
    // cp -a keeps the volume's own times; when the snapshot was taken is kept beside it.
    const stamp = `${path}.created`;
    if (!existsSync(stamp)) writeFileSync(stamp, new Date().toISOString());
    return {
      snapshotHandle: name,
      sizeBytes: st.isFile() ? st.size : treeSize(path),
      creationTime: new Date(readFileSync(stamp, 'utf8')),
    };
  }

  async deleteSnapshot({ snapshotHandle }: SnapshotRef): Promise<void> {
    await rm(this.snapshotPath(snapshotHandle), { recursive: true, force: true });
    await rm(`${this.snapshotPath(snapshotHandle)}.created`, { force: true });
  }

  async publish({ volumeHandle }: VolumeRef, mode: VolumeMode, readOnly: boolean): Promise<Published> {
    const path = this.volumePath(volumeHandle);
    if (!existsSync(path)) throw new Error(`volume ${volumeHandle} does not exist at ${path}`);
    if (mode === 'Filesystem') return { kind: 'directory', path, release: () => Promise.resolve() };
    const { stdout } = await run('losetup', ['--find', '--show', ...(readOnly ? ['--read-only'] : []), path]);
    const device = stdout.trim();
    return {
      kind: 'device',
      path: device,
      release: async () => {
        await run('losetup', ['-d', device]);
      },
    };
  }
}

// cp -a keeps owners, modes, times, links and sparseness; reflink when it can.
async function copyTree(source: string, target: string): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', '--sparse=always', '-T', source, target], { timeoutMs: 30 * 60_000 });
}

function treeSize(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}
