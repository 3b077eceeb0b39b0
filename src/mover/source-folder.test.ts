import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSourceFolder } from './source-folder.ts';

describe('checkSourceFolder', () => {
  const root = mkdtempSync(join(tmpdir(), 'source-folder-'));
  mkdirSync(join(root, 'volume'));
  writeFileSync(join(root, 'file'), 'not a folder');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('accepts a readable folder', async () => {
    expect(await checkSourceFolder(join(root, 'volume'))).toBeUndefined();
  });

  it.each([
    ['missing', 'does not exist'],
    ['file', 'is not a folder'],
  ])('turns down a %s path, naming it', async (name, why) => {
    const error = await checkSourceFolder(join(root, name));
    expect(error?.code).toBe('SourceMissing');
    expect(error?.message).toContain(`${join(root, name)} ${why}`);
  });
});
