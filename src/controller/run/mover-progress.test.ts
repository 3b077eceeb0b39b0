import { describe, expect, it } from 'vitest';
import { lastProgress } from './mover-progress.ts';

const progress = (bytesDone: number) =>
  JSON.stringify({
    type: 'progress',
    percentDone: bytesDone / 10,
    filesDone: 1,
    totalFiles: 2,
    bytesDone,
    totalBytes: 1000,
    secondsElapsed: 3,
  });

describe('lastProgress', () => {
  it('takes the newest progress line among restic text, results and a line the tail cut', () => {
    const log = [
      progress(100),
      'restic: restoring 2 files',
      progress(400),
      '{"type":"error","code":"ResticFailed","message":"x"}',
      'essDone":900,',
    ].join('\n');
    expect(lastProgress(log)?.bytesDone).toBe(400);
  });

  it('gives nothing when the mover has printed no progress yet', () => {
    expect(lastProgress('')).toBeUndefined();
    expect(lastProgress('restic: opening the repository\n{"type":"progress"}')).toBeUndefined();
  });
});
