// One block restore: the device is there and big enough, the repository
// opens, the chain of images is read from the snapshots' parent tags (the
// repository is the catalogue: no API object is needed), then each image is
// streamed out of `restic dump`, decoded and written onto the device, the
// full image first (zeroing what it does not list when the device may hold
// old data), then each overlay in order.
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { parentTagPrefix, type BlockRestoreTask, type MoverError, type MoverResult } from '../api/index.ts';
import { deviceSize } from './block-device.ts';
import { backingFileName } from './block-backup.ts';
import { applyQcow2, type ApplyResult } from './qcow2-apply.ts';
import { readQcow2, type Qcow2Event } from './qcow2-reader.ts';
import { prepareRepository, repositoryNames, type RepositorySteps } from './restic/repository.ts';
import { resticError, retryCannotHelp } from './restic/failure.ts';
import { snapshotError } from './restic/snapshot-lookup.ts';

export interface BlockRestoreSteps extends RepositorySteps {
  nowMs: () => number;
  log: (text: string) => void;
}

interface Image {
  id: string;
  file: string;
  parent: string | undefined;
}

const maxChain = 100;

export async function runBlockRestore(task: BlockRestoreTask, steps: BlockRestoreSteps): Promise<MoverResult> {
  const started = steps.nowMs();
  const size = await deviceSize(task.devicePath, 'TargetMissing');
  if (typeof size !== 'number') return size;
  const notReady = await prepareRepository(task.repository, steps);
  if (notReady !== undefined) return notReady;
  const chain = await chainOf(task, steps);
  if (!Array.isArray(chain)) return chain;

  const handle = await open(task.devicePath, 'r+');
  let written = 0;
  let virtualSize = 0;
  try {
    for (const [index, image] of chain.entries()) {
      const below = chain[index - 1];
      let applied: ApplyResult | undefined;
      let tooSmall: string | undefined;
      const exit = await steps.restic(['dump', image.id, `/${image.file}`], {
        onStdout: async (stdout) => {
          const events = fitting(readQcow2(stdout), size, task.devicePath, (why) => (tooSmall = why));
          applied = await applyQcow2(events, handle, { zeroUnlisted: index === 0 && task.zeroUnlisted });
        },
      });
      if (tooSmall !== undefined) return { type: 'error', code: 'TargetTooSmall', message: tooSmall };
      if (exit.exitCode !== 0 || applied === undefined)
        return {
          type: 'error',
          code: 'ResticFailed',
          message: `image ${image.file} of snapshot ${image.id.slice(0, 8)}: ${exit.messages.slice(-3).join('; ') || `restic dump exited ${String(exit.exitCode)}`}`,
        };
      const expected = below === undefined ? undefined : backingFileName(below.file, below.id);
      if (applied.backingFile !== expected)
        return {
          type: 'error',
          code: 'ResticFailed',
          message: `image ${image.file} of snapshot ${image.id.slice(0, 8)} names backing file ${applied.backingFile ?? '(none)'}, not ${expected ?? '(none)'}: the chain is not what its tags say`,
        };
      written += applied.bytesWritten;
      virtualSize = applied.virtualSize;
      steps.log(
        `applied ${image.file} of snapshot ${image.id.slice(0, 8)} (${index + 1} of ${chain.length}): ${applied.bytesWritten} bytes written`,
      );
    }
    await handle.sync();
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
async function chainOf(task: BlockRestoreTask, steps: BlockRestoreSteps): Promise<Image[] | MoverError> {
  const names = repositoryNames(task.repository);
  const images: Image[] = [];
  let next: string | undefined = task.snapshotId;
  while (next !== undefined) {
    if (images.length >= maxChain || images.some((image) => image.id.startsWith(next ?? '')))
      return {
        type: 'error',
        code: 'ResticFailed',
        message: `the chain of snapshot ${task.snapshotId.slice(0, 8)} loops or is longer than ${maxChain} images`,
      };
    let answer = '';
    const exit = await steps.restic(['snapshots', '--json', next], {
      stopWhen: retryCannotHelp,
      onAnswer: (line) => {
        answer += line;
      },
    });
    const source = { snapshotId: next, snapshotPath: '/' };
    if (exit.exitCode !== 0) return images.length === 0 ? snapshotError(exit, names, source) : resticError(exit, names);
    const found = (JSON.parse(answer || '[]') as { id?: string; paths?: string[]; tags?: string[] }[])[0];
    if (found?.id === undefined)
      return {
        type: 'error',
        code: 'SnapshotNotFound',
        message: `there is no snapshot ${next} in ${names.url}${images.length === 0 ? '' : ` (the parent of ${images.at(-1)?.id.slice(0, 8) ?? ''})`}: retention may have forgotten it`,
      };
    const file = posix.basename(found.paths?.[0] ?? '');
    if (!file.endsWith('.qcow2'))
      return {
        type: 'error',
        code: 'InvalidTask',
        message: `snapshot ${found.id.slice(0, 8)} holds ${found.paths?.join(', ') ?? 'nothing'}, not a block volume's image`,
      };
    const parent = found.tags?.find((tag) => tag.startsWith(parentTagPrefix))?.slice(parentTagPrefix.length);
    images.push({ id: found.id, file, parent });
    next = parent;
  }
  return images.reverse();
}
