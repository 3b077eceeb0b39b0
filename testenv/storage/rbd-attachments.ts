// How an RBD image reaches a Pod on the test node: its rbd-fuse file as a loop
// device (Block), or that device's ext4 mounted at <mountDir>/<image>
// (Filesystem). Safehold may publish one volume twice at once (a second PV with
// the same volumeHandle, while the workload's Pod has it), so publications are
// counted per image in this process (the node agent is the only publisher) and
// all get the same device or mount; the last release unmounts and detaches.
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../command.ts';
import type { Published, VolumeMode } from './backend.ts';
import { loopDevices } from './fuse-mounts.ts';

interface Attachment {
  device: string;
  /** False for a device found attached already: whoever attached it detaches it. */
  ownDevice: boolean;
  mountPoint: string | undefined;
  readOnly: boolean;
  users: number;
}

export class RbdAttachments {
  readonly #mountDir: string;
  readonly #byImage = new Map<string, Attachment>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(mountDir: string) {
    this.#mountDir = mountDir;
  }

  acquire(image: string, file: string, mode: VolumeMode, readOnly: boolean): Promise<Published> {
    return this.#locked(image, async () => {
      let attachment = this.#byImage.get(image);
      if (attachment === undefined) {
        attachment = await this.#attach(image, file, mode, readOnly);
        this.#byImage.set(image, attachment);
      } else if (attachment.readOnly && !readOnly) {
        await this.#makeWritable(attachment);
      }
      attachment.users++;
      let released = false;
      const release = () => {
        if (released) return Promise.resolve();
        released = true;
        return this.#locked(image, () => this.#release(image));
      };
      return attachment.mountPoint === undefined
        ? { kind: 'device', path: attachment.device, release }
        : { kind: 'directory', path: attachment.mountPoint, release };
    });
  }

  async #attach(image: string, file: string, mode: VolumeMode, readOnly: boolean): Promise<Attachment> {
    // A device left attached to this file (busy in some Pod's mount namespace, say) is
    // taken again: a second device would let the kernel mount a second ext4 on the same bytes.
    const existing = await loopDeviceOf(file);
    const device = existing ?? (await attachLoop(file));
    try {
      if (mode === 'Block') {
        // Attached read-write and marked read-only instead of `losetup --read-only`, so that
        // a read-write publication arriving later can share this device (blockdev --setrw).
        // A device found attached keeps its flag for a read-only one: someone may write to it.
        if (!readOnly || existing === undefined) await run('blockdev', [readOnly ? '--setro' : '--setrw', device]);
        return { device, ownDevice: existing === undefined, mountPoint: undefined, readOnly, users: 0 };
      }
      await run('blockdev', ['--setrw', device]);
      const mountPoint = join(this.#mountDir, image);
      mkdirSync(mountPoint, { recursive: true });
      // The device stays writable even for a read-only publication: an ext4 snapshotted
      // while mounted needs its journal replayed, which `mount -o ro` does on a writable
      // device (into this volume, a clone for restores). `noload` would skip the journal
      // and show the file system without its last transactions, files half there.
      // noinit_itable: no zeroing of inode tables in the background (mkfs left that lazy), whose
      // writes would show in `rbd diff` between snapshots; a new RBD image reads as zeros anyway.
      await run('mount', ['-t', 'ext4', '-o', readOnly ? 'ro,noinit_itable' : 'noinit_itable', device, mountPoint]);
      return { device, ownDevice: existing === undefined, mountPoint, readOnly, users: 0 };
    } catch (error) {
      if (existing === undefined) await run('losetup', ['-d', device]).catch(() => undefined);
      throw new Error(`RBD image ${image}: could not publish ${file} as ${mode}`, { cause: error });
    }
  }

  async #makeWritable(attachment: Attachment): Promise<void> {
    if (attachment.mountPoint === undefined) {
      await run('blockdev', ['--setrw', attachment.device]);
    } else {
      await run('mount', ['-o', 'remount,rw', attachment.mountPoint]);
    }
    attachment.readOnly = false;
  }

  async #release(image: string): Promise<void> {
    const attachment = this.#byImage.get(image);
    if (attachment === undefined || --attachment.users > 0) return;
    this.#byImage.delete(image);
    if (attachment.mountPoint !== undefined) {
      // Lazily when busy: a Pod's mount namespace may still pin it; the ext4 then lives on
      // until that namespace goes, and the next publication finds its loop device again.
      await run('umount', [attachment.mountPoint]).catch(() => run('umount', ['-l', attachment.mountPoint ?? '']));
      rmdirSync(attachment.mountPoint);
    }
    // A device still open elsewhere is only marked to detach itself when closed (autoclear).
    if (attachment.ownDevice) await run('losetup', ['-d', attachment.device]);
  }

  /** Runs fn after every earlier call for the same image has settled. */
  #locked<T>(image: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.#locks.get(image) ?? Promise.resolve()).then(fn, fn);
    const settled = result.catch(() => undefined);
    this.#locks.set(image, settled);
    void settled.then(() => {
      if (this.#locks.get(image) === settled) this.#locks.delete(image);
    });
    return result;
  }
}

/** The loop device on `file`, if one is attached (in use, or waiting to detach itself). */
export async function loopDeviceOf(file: string): Promise<string | undefined> {
  return (await loopDevices()).find((loop) => loop.file === file)?.name;
}

async function attachLoop(file: string): Promise<string> {
  const { stdout } = await run('losetup', ['--find', '--show', file]);
  return stdout.trim();
}
