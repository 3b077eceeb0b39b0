// One block restore: the device is there and big enough, the repository
// opens, the chain of images is read from the snapshots' parent tags (the
// repository is the catalogue: no API object is needed), then each image is
// streamed out of the engine's dump, decoded and written onto the device, the
// full image first (zeroing what it does not list when the device may hold
// old data), then each overlay in order. A drill (verify) then reads the
// device back and compares it with the chain (block-verify.ts).
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { parentTagPrefix, type BlockRestoreTask, type RestoreSummary } from '../api/index.ts';
import { deviceSize } from './block-device.ts';
import { backingFileName } from './block-backup.ts';
import { verifyDevice } from './block-verify.ts';
import type { Repository } from './engine.ts';
import type { Failure } from './failure.ts';
import { applyQcow2 } from './qcow2-apply.ts';
import { readQcow2, type Qcow2Event } from './qcow2-reader.ts';

export interface BlockRestoreSteps {
  repository: Repository;
  nowMs: () => number;
  log: (text: string) => void;
}

interface Image {
  id: string;
  file: string;
  parent: string | undefined;
}

const maxChain = 100;

export async function runBlockRestore(
  task: BlockRestoreTask,
  steps: BlockRestoreSteps,
): Promise<RestoreSummary | Failure> {
  const started = steps.nowMs();
  const size = await deviceSize(task.devicePath, 'TargetMissing');
  if (typeof size !== 'number') return size;
  const notReady = await steps.repository.prepare({ create: task.repository.initialize });
  if (notReady !== undefined) return notReady;
  const chain = await chainOf(task, steps);
  if (!Array.isArray(chain)) return chain;

  const handle = await open(task.devicePath, 'r+');
  let written = 0;
  let virtualSize = 0;
  let verified: number | undefined;
  try {
    for (const [index, image] of chain.entries()) {
      const below = chain[index - 1];
      let tooSmall: string | undefined;
      const dumped = await steps.repository.dumpStream(image.id, `/${image.file}`, (stdout) => {
        const events = fitting(readQcow2(stdout), size, task.devicePath, (why) => (tooSmall = why));
        return applyQcow2(events, handle, { zeroUnlisted: index === 0 && task.zeroUnlisted });
      });
      if (tooSmall !== undefined) return { type: 'error', code: 'TargetTooSmall', message: tooSmall };
      // In a drill, data that fails its checks, or a chain other than its tags say, is the verdict.
      if (!dumped.ok)
        return {
          type: 'error',
          code: task.verify && dumped.error.code === 'Unverified' ? 'Unverified' : 'EngineFailed',
          message: `image ${image.file} of snapshot ${image.id.slice(0, 8)}: ${dumped.error.message}`,
        };
      const applied = dumped.value;
      const expected = below === undefined ? undefined : backingFileName(below.file, below.id);
      if (applied.backingFile !== expected)
        return {
          type: 'error',
          code: task.verify ? 'Unverified' : 'EngineFailed',
          message: `image ${image.file} of snapshot ${image.id.slice(0, 8)} names backing file ${applied.backingFile ?? '(none)'}, not ${expected ?? '(none)'}: the chain is not what its tags say`,
        };
      written += applied.bytesWritten;
      virtualSize = applied.virtualSize;
      steps.log(
        `applied ${image.file} of snapshot ${image.id.slice(0, 8)} (${index + 1} of ${chain.length}): ${applied.bytesWritten} bytes written`,
      );
    }
    await handle.sync();
    if (task.verify) {
      steps.log(`reading ${task.devicePath} back to compare it with the ${chain.length} images`);
      const compared = await verifyDevice({ handle, path: task.devicePath }, chain, steps.repository);
      if (!compared.ok) return compared.error;
      verified = compared.value;
      steps.log(`${task.devicePath} holds what the chain holds: ${verified} bytes compared`);
    }
  } finally {
    await handle.close();
  }
  return {
    type: 'restored',
    snapshotId: chain.at(-1)?.id ?? task.snapshotId,
    filesRestored: chain.length,
    filesSkipped: 0,
    totalFiles: chain.length,
    bytesRestored: written,
    bytesSkipped: 0,
    totalBytes: virtualSize,
    durationSeconds: (steps.nowMs() - started) / 1000,
    block: { chain: chain.map((image) => image.id), virtualSize, bytesWritten: written },
    ...(verified === undefined ? {} : { verified: { bytes: verified, method: 'device-compare' as const } }),
  };
}

/** The image's events, refused before anything is written when it is larger than the device. */
async function* fitting(
  events: AsyncIterable<Qcow2Event>,
  size: number,
  device: string,
  refuse: (why: string) => void,
): AsyncGenerator<Qcow2Event> {
  for await (const event of events) {
    if (event.type === 'header' && event.virtualSize > size) {
      const why = `the image holds ${event.virtualSize} bytes, more than the ${size} bytes of ${device}: restore to a PVC at least that large`;
      refuse(why);
      throw new Error(why);
    }
    yield event;
  }
}

/** The images a restore of the task's snapshot applies, full image first, from `parent=` tags. */
async function chainOf(task: BlockRestoreTask, steps: BlockRestoreSteps): Promise<Image[] | Failure> {
  const images: Image[] = [];
  let next: string | undefined = task.snapshotId;
  while (next !== undefined) {
    if (images.length >= maxChain || images.some((image) => image.id.startsWith(next ?? '')))
      return {
        type: 'error',
        code: 'EngineFailed',
        message: `the chain of snapshot ${task.snapshotId.slice(0, 8)} loops or is longer than ${maxChain} images`,
      };
    const lookup = await steps.repository.findSnapshot(next, { named: images.length === 0 });
    if (!lookup.ok) return lookup.error;
    const found = lookup.value;
    if (found === undefined)
      return {
        type: 'error',
        code: 'SnapshotNotFound',
        message: `there is no snapshot ${next} in ${task.repository.url}${images.length === 0 ? '' : ` (the parent of ${images.at(-1)?.id.slice(0, 8) ?? ''})`}: retention may have forgotten it`,
      };
    const file = posix.basename(found.paths[0] ?? '');
    if (!file.endsWith('.qcow2'))
      return {
        type: 'error',
        code: 'InvalidTask',
        message: `snapshot ${found.id.slice(0, 8)} holds ${found.paths.join(', ') || 'nothing'}, not a block volume's image`,
      };
    const parent = found.tags.find((tag) => tag.startsWith(parentTagPrefix))?.slice(parentTagPrefix.length);
    images.push({ id: found.id, file, parent });
    next = parent;
  }
  return images.reverse();
}
