import { describe, expect, it } from 'vitest';
import type { MoverProgress } from '../api/index.ts';
import { progressThrottle } from './progress-throttle.ts';

const at = (filesDone: number): MoverProgress => ({
  type: 'progress',
  percentDone: filesDone,
  filesDone,
  totalFiles: 100,
  bytesDone: filesDone,
  totalBytes: 100,
  secondsElapsed: 0,
});

describe('progressThrottle', () => {
  it.each([
    ['prints the first status at once', [0], [0], undefined],
    ['holds back statuses less than a second after the last printed', [0, 200, 999], [0], 999],
    ['prints again a second after the last printed', [0, 500, 1000, 1500, 2100], [0, 1000, 2100], undefined],
    ['measures from the last printed, not the last offered', [0, 900, 1800, 1900], [0, 1800], 1900],
    ['ends on the last status held back', [0, 60, 120, 180], [0], 180],
  ])('%s', (_, offeredAt, printedAt, flushedAt) => {
    const throttle = progressThrottle(1000);
    const printed = offeredAt.flatMap((t) => {
      const shown = throttle.offer(at(t), t);
      return shown === undefined ? [] : [shown.filesDone];
    });
    expect(printed).toEqual(printedAt);
    expect(throttle.flush()?.filesDone).toBe(flushedAt);
    expect(throttle.flush()).toBeUndefined();
  });
});
