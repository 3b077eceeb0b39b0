import { describe, expect, it } from 'vitest';
import type { VolumeHistory } from '../../api/index.ts';
import { keptCount, packHistory, unpackHistory } from './packed-history.ts';

const historyWith = (lines: string[]): VolumeHistory => ({
  metadata: { namespace: 'team', name: 'data', resourceVersion: '7' },
  spec: { pvc: 'data' },
  status: { repository: 'main', backups: lines },
});
const lines = (n: number, extra = '') =>
  Array.from({ length: n }, (_, i) => `data-${i} 2026-12-0${1 + (i % 9)}T02:00:00Z ${'a'.repeat(63)}${i % 10}${extra}`);

describe('packed histories', () => {
  it('keep a long history whole, behind its newest and oldest line', () => {
    const history = historyWith(lines(100));
    const small = packHistory(history);
    expect(small.status?.backups).toEqual([history.status?.backups?.[0], history.status?.backups?.[99]]);
    expect(keptCount(small)).toBe(100);
    expect(unpackHistory(small)).toEqual(history);
  });

  it('leave short histories, and those whose lines name their own repository, as they are', () => {
    for (const history of [historyWith(lines(3)), historyWith(lines(40, ' repo=old'))]) {
      expect(packHistory(history)).toBe(history);
      expect(unpackHistory(history)).toBe(history);
      expect(keptCount(history)).toBe(history.status?.backups?.length);
    }
    expect(keptCount(undefined)).toBe(0);
  });
});
