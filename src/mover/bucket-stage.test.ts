// The staged files' mtimes as the file system keeps them: what a bucket backup
// compares with the previous snapshot's files must be what utimes wrote.
import {
  closeSync,
  fstatSync,
  futimesSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { objectTime } from '../core/index.ts';

describe('a staged file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bucket-stage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the mtime objectTime says, to the nanosecond', () => {
    const file = join(dir, 'object');
    writeFileSync(file, '');
    for (let i = 0; i < 200; i++) {
      const time = objectTime(new Date(1_700_000_000_000 + i * 7_919_000).toISOString(), `etag-${i}`);
      if (time === undefined) throw new Error('no time');
      utimesSync(file, time.seconds, time.seconds);
      expect(statSync(file, { bigint: true }).mtimeNs).toBe(time.ns);
      const fd = openSync(file, 'r+');
      futimesSync(fd, time.seconds + 1, time.seconds + 1);
      expect(fstatSync(fd, { bigint: true }).mtimeNs).toBe(time.ns + 1_000_000_000n);
      closeSync(fd);
    }
  });
});
