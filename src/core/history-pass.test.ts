import { describe, expect, it } from 'vitest';
import type { VolumeBackup, VolumeHistory } from '../api/index.ts';
import { historyPass } from './history-pass.ts';
import { nextHistory, recordedAnnotation } from './volume-history.ts';

const hour = 3_600_000;
const now = new Date('2026-12-04T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString().replace('.000Z', 'Z');

const run = (name: string, finishedAgo: number, id: string, marked = false): VolumeBackup => ({
  metadata: {
    namespace: 'team',
    name,
    ...(marked ? { annotations: { [recordedAnnotation]: 'true' } } : {}),
  },
  spec: { pvc: 'data', trigger: 'schedule' },
  status: {
    phase: 'Succeeded',
    repository: 'main',
    snapshotTime: ago(finishedAgo + 60_000),
    startTime: ago(finishedAgo + 60_000),
    completionTime: ago(finishedAgo),
    snapshotId: id.repeat(64),
  },
});
const failed = (name: string): VolumeBackup => ({
  metadata: { namespace: 'team', name },
  spec: { pvc: 'data', trigger: 'schedule' },
  status: { phase: 'Failed', completionTime: ago(30 * 24 * hour) },
});
const historyOf = (runs: VolumeBackup[]): VolumeHistory => ({
  metadata: { namespace: 'team', name: 'data' },
  spec: { pvc: 'data' },
  status: nextHistory(undefined, runs) ?? {},
});
const pass = (history: VolumeHistory | undefined, runs: VolumeBackup[], forgotten: string[] = []) =>
  historyPass({ namespace: 'team', pvc: 'data', history, runs, forgotten, now, keepRunsForMs: 24 * hour });

describe('historyPass', () => {
  it('records new runs, marks the young ones and deletes the old ones, and looks again when the next expires', () => {
    const young = run('young', 2 * hour, 'a');
    const old = run('old', 48 * hour, 'b');
    const result = pass(undefined, [young, old, failed('broke')]);
    expect(result.write?.backups?.map((l) => l.split(' ')[0])).toEqual(['young', 'old']);
    expect(result.remove).toEqual(['old']);
    expect(result.mark).toEqual(['young']);
    expect(result.againAfterMs).toBe(22 * hour);
  });

  it('changes nothing for runs already recorded and marked, until they expire', () => {
    const young = run('young', 2 * hour, 'a', true);
    const result = pass(historyOf([young]), [young]);
    expect(result).toMatchObject({ write: undefined, remove: [], mark: [], againAfterMs: 22 * hour });
  });

  it('never deletes a run whose backup the history does not hold (a history an admin deleted)', () => {
    const marked = run('old', 48 * hour, 'b', true);
    expect(pass(undefined, [marked])).toMatchObject({ write: undefined, remove: [], mark: [] });
    expect(pass(historyOf([]), [marked]).remove).toEqual([]);
  });

  it('drops forgotten snapshots from the history and their runs, and keeps looking until no run has them', () => {
    const kept = run('kept', 2 * hour, 'a', true);
    const dropped = run('dropped', 3 * hour, 'b', true);
    const history = historyOf([kept, dropped]);
    const first = pass(history, [kept, dropped], ['bbbbbbbb']);
    expect(first.write?.backups?.map((l) => l.split(' ')[0])).toEqual(['kept']);
    expect(first.remove).toEqual(['dropped']);
    expect(first).toMatchObject({ forgettingDone: false, againAfterMs: 1000 });
    // The cache has not seen the deletion yet: the run is not recorded again.
    const after = { ...history, status: first.write ?? {} };
    const second = pass(
      after,
      [kept, { ...dropped, metadata: { ...dropped.metadata, annotations: {} } }],
      ['bbbbbbbb'],
    );
    expect(second.write).toBeUndefined();
    expect(second.remove).toEqual(['dropped']);
    expect(pass(after, [kept], ['bbbbbbbb'])).toMatchObject({ write: undefined, remove: [], forgettingDone: true });
  });
});
