import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compressionFor } from './compression-choice.ts';
import { sampleData } from './data-sample.ts';

const root = mkdtempSync(join(tmpdir(), 'data-sample-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: Record<string, Buffer | string>): string {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const text = (bytes: number) => 'INSERT INTO events VALUES (42, "login", "2026-12-04");\n'.repeat(bytes / 55);

describe('sampleData', () => {
  it('finds random data incompressible, and the backup stores it as it is', async () => {
    const dir = tree('random', { 'a.bin': randomBytes(200_000), 'sub/b.bin': randomBytes(30_000) });
    const sample = await sampleData(dir);
    expect(sample.files).toBe(2);
    // A large file gives its start and its middle: 64 KiB in all.
    expect(sample.bytes).toBe(64 * 1024 + 30_000);
    expect(sample.compressedBytes).toBeGreaterThan(sample.bytes * 0.99);
    expect(compressionFor('auto', sample)).toBe('off');
  });

  it('finds text compressible, and the backup compresses it', async () => {
    const dir = tree('text', { 'dump.sql': text(500_000), 'logs/app.log': text(10_000) });
    const sample = await sampleData(dir);
    expect(sample.compressedBytes).toBeLessThan(sample.bytes * 0.2);
    expect(compressionFor('auto', sample)).toBe('fast');
  });

  it('reads the files nearest the root first, and no more than the limits', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 10; i++) files[`deep/er/f${i}`] = randomBytes(1000);
    for (let i = 0; i < 5; i++) files[`top${i}`] = Buffer.from(text(1100));
    const dir = tree('limits', files);
    const sample = await sampleData(dir, { files: 5, bytesPerFile: 1024, entries: 100 });
    expect(sample.files).toBe(5);
    expect(sample.bytes).toBe(5 * 1024);
    expect(compressionFor('auto', sample)).toBe('fast');
    const few = await sampleData(dir, { files: 64, bytesPerFile: 1024, entries: 3 });
    expect(few.files).toBeLessThanOrEqual(3);
  });

  it('leaves a folder it cannot open to the backup, which will say why', async () => {
    const dir = tree('not-a-folder', { 'file.sql': text(5_000) });
    await expect(sampleData(join(dir, 'file.sql'))).resolves.toEqual({ files: 0, bytes: 0, compressedBytes: 0 });
    await expect(sampleData(join(dir, 'missing'))).resolves.toEqual({ files: 0, bytes: 0, compressedBytes: 0 });
  });

  it('is empty for an empty volume, which then compresses as the engine would', async () => {
    const sample = await sampleData(tree('empty', {}));
    expect(sample).toEqual({ files: 0, bytes: 0, compressedBytes: 0 });
    expect(compressionFor('auto', sample)).toBe('fast');
  });
});
