import { link, mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countTree } from './tree-count.ts';

describe('countTree', () => {
  let root = '';
  afterEach(async () => {
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  it('counts each regular file path once, hardlinks under each name, sparse files at their length', async () => {
    root = await mkdtemp(join(tmpdir(), 'tree-count-'));
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await writeFile(join(root, 'one'), 'hello');
    await writeFile(join(root, 'a', 'b', 'two'), 'world!');
    await link(join(root, 'one'), join(root, 'a', 'hard'));
    await symlink('one', join(root, 'link'));
    const sparse = await open(join(root, 'sparse'), 'w');
    await sparse.truncate(1 << 20);
    await sparse.close();
    expect(await countTree(root)).toEqual({ files: 4, bytes: 5 + 6 + 5 + (1 << 20) });
  });

  it('counts an empty folder as nothing', async () => {
    root = await mkdtemp(join(tmpdir(), 'tree-count-'));
    expect(await countTree(root)).toEqual({ files: 0, bytes: 0 });
  });
});
