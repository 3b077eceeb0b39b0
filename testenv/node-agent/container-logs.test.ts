import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lastLines, parseLogOptions, readContainerLog } from './container-logs.ts';

const text = (data: Buffer) => data.toString('utf8');

describe('lastLines', () => {
  it.each([
    ['a\nb\nc\n', 2, 'b\nc\n'],
    ['a\nb\nc', 2, 'b\nc'],
    ['a\nb\nc\n', 1, 'c\n'],
    ['a\nb\nc\n', 3, 'a\nb\nc\n'],
    ['a\nb\nc\n', 10, 'a\nb\nc\n'],
    ['a\n\nb\n', 2, '\nb\n'],
    ['a\nb\n', 0, ''],
    ['', 2, ''],
    ['\n', 1, '\n'],
    ['only', 1, 'only'],
  ])('%j, last %i: %j', (input, count, expected) => {
    expect(text(lastLines(Buffer.from(input), count))).toBe(expected);
  });
});

describe('parseLogOptions', () => {
  it('reads tailLines and limitBytes and ignores what it does not serve', () => {
    expect(parseLogOptions(new URLSearchParams('tailLines=2&limitBytes=10&sinceSeconds=5&follow=true'))).toEqual({
      ok: true,
      options: { tailLines: 2, limitBytes: 10 },
    });
    expect(parseLogOptions(new URLSearchParams(''))).toEqual({ ok: true, options: {} });
  });

  it.each(['-1', '1.5', 'x', ''])('refuses tailLines=%j', (value) => {
    expect(parseLogOptions(new URLSearchParams({ tailLines: value })).ok).toBe(false);
  });
});

describe('readContainerLog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safehold-logs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const long = join(dir, 'long.log');
  // Longer than one read chunk, so the tail is found across chunk boundaries.
  const lines = Array.from({ length: 20_000 }, (_, i) => `progress ${i}`);
  writeFileSync(long, `${lines.join('\n')}\n`);

  it('gives the last lines of a log longer than one read', async () => {
    expect(text(await readContainerLog(long, { tailLines: 2 }))).toBe('progress 19998\nprogress 19999\n');
    expect(text(await readContainerLog(long, { tailLines: 15_000 })).split('\n')[0]).toBe('progress 5000');
  });

  it('cuts to limitBytes from the start of what tailLines chose', async () => {
    expect(text(await readContainerLog(long, { limitBytes: 12 }))).toBe('progress 0\np');
    expect(text(await readContainerLog(long, { tailLines: 2, limitBytes: 9 }))).toBe('progress ');
  });

  it('gives the whole log without options', async () => {
    expect(text(await readContainerLog(long, {}))).toBe(`${lines.join('\n')}\n`);
  });

  it('rejects with ENOENT for a container that never wrote a log', async () => {
    await expect(readContainerLog(join(dir, 'absent.log'), {})).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
