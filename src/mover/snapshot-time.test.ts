import { describe, expect, it } from 'vitest';
import { utcSnapshotTime } from './snapshot-time.ts';

describe('utcSnapshotTime', () => {
  it.each([
    ['2024-01-01T12:00:00Z', '2024-01-01 12:00:00'],
    ['2024-03-31T01:30:00+02:00', '2024-03-30 23:30:00'],
    ['2023-12-31T23:59:59-05:30', '2024-01-01 05:29:59'],
    ['2024-02-29T00:00:00.123456789+01:00', '2024-02-28 23:00:00.123456789'],
  ])('gives %s to an engine as %s', (instant, expected) => {
    expect(utcSnapshotTime(instant)).toBe(expected);
  });

  it.each(['2024-01-01 12:00:00Z', '2024-01-01T12:00:00', '2024-13-01T12:00:00Z', 'yesterday'])(
    'turns down %s',
    (instant) => {
      expect(utcSnapshotTime(instant)).toBeUndefined();
    },
  );
});
