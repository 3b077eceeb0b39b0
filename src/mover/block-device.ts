// The size of the block device (or image file) a block mover reads or writes.
// stat reports 0 bytes for a block device, so its size comes from the kernel
// (`blockdev --getsize64`, util-linux, in the mover image).
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Failure, FailureCode } from './failure.ts';

const run = promisify(execFile);

export async function deviceSize(path: string, missing: FailureCode = 'SourceMissing'): Promise<number | Failure> {
  const fail = (message: string): Failure => ({ type: 'error', code: missing, message });
  let kind;
  try {
    kind = await stat(path);
  } catch (error) {
    return fail(
      `no block device at ${path}: ${error instanceof Error ? error.message : String(error)} (the Job mounts the volume there)`,
    );
  }
  if (kind.isFile()) return kind.size;
  if (!kind.isBlockDevice())
    return fail(`${path} is neither a block device nor a file: is the PVC's volumeMode Block?`);
  try {
    const { stdout } = await run('blockdev', ['--getsize64', path], { timeout: 30_000 });
    const size = Number(stdout.trim());
    if (!Number.isSafeInteger(size)) return fail(`blockdev --getsize64 ${path} printed "${stdout.trim()}", not a size`);
    return size;
  } catch (error) {
    return fail(`cannot read the size of ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
