// Block volumes as tests see them: random data written at scattered offsets
// of a device or image file, copies of it, and the independent judges of what
// Safehold stored: qemu-img check and compare, cmp, and restic dump.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { run } from '../../testenv/command.ts';
import { testEnv } from './cluster.ts';

export interface Write {
  offset: number;
  length: number;
}

/** `count` writes of 1 KiB to 4 MiB at offsets spread over `size` bytes, some not cluster-aligned; deterministic. */
export function scatteredWrites(size: number, count: number, seed: number): Write[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const writes: Write[] = [];
  for (let i = 0; i < count; i++) {
    const length = Math.max(1024, Math.floor(next() * 4 * 2 ** 20));
    const aligned = next() < 0.5;
    let offset = Math.floor(next() * (size - length));
    if (aligned) offset -= offset % 65536;
    writes.push({ offset, length });
  }
  return writes;
}

/** Writes random bytes (seeded) at each write's offset of a device or file; returns the bytes written. */
export async function writeRandom(path: string, writes: readonly Write[], seed: number): Promise<number> {
  const handle = await open(path, 'r+');
  let total = 0;
  try {
    for (const [index, write] of writes.entries()) {
      await handle.write(randomBytes(write.length, seed * 1000 + index), 0, write.length, write.offset);
      total += write.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return total;
}

/** Zeros at each write's place (a discard, as far as the bytes go). */
export async function writeZeros(path: string, writes: readonly Write[]): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    for (const write of writes) await handle.write(Buffer.alloc(write.length), 0, write.length, write.offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Deterministic pseudo-random bytes (SHA-256 in counter mode): fast enough for tens of MiB. */
export function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let at = 0, counter = 0; at < length; at += 32, counter++) {
    createHash('sha256').update(`${seed}:${counter}`).digest().copy(out, at);
  }
  return out;
}

/** A sparse copy of a device or file's first `size` bytes. */
export async function copySparse(source: string, target: string, size: number): Promise<void> {
  await run(
    'dd',
    [`if=${source}`, `of=${target}`, 'bs=4M', `count=${Math.ceil(size / (4 * 2 ** 20))}`, 'conv=sparse', 'status=none'],
    {
      timeoutMs: 600_000,
    },
  );
  await run('truncate', ['-s', String(size), target]);
}

/** cmp of the first `size` bytes; undefined when equal, else cmp's words. */
export async function differs(a: string, b: string, size: number): Promise<string | undefined> {
  try {
    await run('cmp', ['-n', String(size), a, b], { timeoutMs: 600_000 });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** `qemu-img check` of a QCOW2 file: its JSON report (throws unless the image is clean). */
export async function qemuCheck(
  path: string,
): Promise<{ 'check-errors': number; leaks?: number; corruptions?: number }> {
  const { stdout } = await run('qemu-img', ['check', '-f', 'qcow2', '--output=json', path]);
  return JSON.parse(stdout) as { 'check-errors': number; leaks?: number; corruptions?: number };
}

/** `qemu-img compare` (contents; a size difference must read as zeros); undefined when identical, else qemu-img's words. */
export async function qemuCompare(raw: string, image: string): Promise<string | undefined> {
  try {
    await run('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, image], { timeoutMs: 600_000 });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** `restic dump ID PATH > target` from a repository of the test S3. */
export async function resticDump(
  url: string,
  password: string,
  id: string,
  path: string,
  target: string,
): Promise<void> {
  const env = testEnv();
  await run(env.tools.restic, ['dump', '--target', target, id, path], {
    env: {
      ...process.env,
      RESTIC_REPOSITORY: url,
      RESTIC_PASSWORD: password,
      AWS_ACCESS_KEY_ID: env.ceph.s3.accessKey,
      AWS_SECRET_ACCESS_KEY: env.ceph.s3.secretKey,
    },
    timeoutMs: 600_000,
  });
}
