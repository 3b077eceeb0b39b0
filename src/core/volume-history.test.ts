import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VolumeBackup, VolumeHistory } from '../api/index.ts';
import { planRetention } from './retention-plan.ts';
import { chooseBackup } from './backup-choice.ts';
import { volumeRuns } from './volume-runs.ts';
import {
  decodeEntry,
  encodeEntry,
  entryOf,
  keptBackups,
  nextHistory,
  volumeCatalogue,
  type KeptEntry,
} from './volume-history.ts';

const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const word = fc.stringMatching(/^[a-z0-9][a-z0-9 ./=%-]{0,20}$/);
const count = fc.nat({ max: 2 ** 40 });

const entry: fc.Arbitrary<KeptEntry> = fc.record(
  {
    name: word,
    time: fc.integer({ min: 1.7e9, max: 1.9e9 }).map((s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z')),
    id: hex,
    done: fc.nat({ max: 10 ** 6 }),
    took: fc.nat({ max: 10 ** 6 }),
    trigger: fc.constantFrom('schedule', 'catch-up', 'manual'),
    repository: word,
    policy: word,
    method: fc.constantFrom('snapshot', 'live', 'cephfs-snapshot'),
    changes: fc.constantFrom('full', 'mtime-size'),
    bytes: count,
    added: count,
    files: fc.record({ new: fc.nat(), changed: fc.nat(), unmodified: fc.nat(), total: fc.nat() }),
    snapshotName: word,
    snapshotPath: word,
    block: fc.record(
      {
        file: word,
        virtualSize: count,
        dataBytes: count,
        bytesRead: count,
        extentsFrom: fc.constantFrom('rbd-diff', 'zero-scan'),
        rbdSnapshot: word,
        parent: hex,
        chainLength: fc.integer({ min: 1, max: 50 }),
        fullBecause: word,
        scanBecause: word,
      },
      { requiredKeys: ['file', 'virtualSize', 'dataBytes', 'bytesRead', 'extentsFrom'] },
    ),
  },
  { requiredKeys: ['name', 'time', 'id'] },
);

describe('history lines', () => {
  it('give back every field of the entry they were written from, whatever the defaults', () => {
    fc.assert(
      fc.property(
        entry,
        fc.option(word, { nil: undefined }),
        fc.option(word, { nil: undefined }),
        (e, repository, policy) => {
          const defaults = { repository, policy };
          const line = encodeEntry(e, defaults);
          expect(line.split(' ').length).toBeGreaterThanOrEqual(3);
          const expected = { trigger: 'schedule', ...defaults, ...e };
          if (e.repository === undefined) delete expected.repository;
          if (e.policy === undefined) delete expected.policy;
          if (e.trigger === undefined) delete (expected as Partial<KeptEntry>).trigger;
          expect(decodeEntry(line, defaults)).toEqual(JSON.parse(JSON.stringify(expected)));
        },
      ),
    );
  });

  it('are short: a daily file backup in the default repository is under 150 characters', () => {
    const line = encodeEntry(
      {
        name: 'data-1a2b3c-20261204t0217',
        time: '2026-12-04T02:17:03Z',
        id: 'f'.repeat(64),
        done: 41,
        took: 44,
        trigger: 'schedule',
        repository: 'main',
        policy: 'nightly',
        method: 'snapshot',
        bytes: 1_073_741_824,
        added: 12_345_678,
        files: { new: 3, changed: 2, unmodified: 20_475, total: 20_480 },
      },
      { repository: 'main', policy: 'nightly' },
    );
    expect(line).toBe(
      `data-1a2b3c-20261204t0217 2026-12-04T02:17:03Z ${'f'.repeat(64)} done=41 took=44 method=snapshot bytes=1073741824 added=12345678 files=3/2/20475/20480`,
    );
  });

  it('that are not entries are left out, and fields a later version adds are ignored', () => {
    expect(decodeEntry('', {})).toBeUndefined();
    expect(decodeEntry('name not-a-time abc', {})).toBeUndefined();
    expect(decodeEntry('name 2026-12-04T02:17:03Z abc colour=blue', {})?.id).toBe('abc');
  });
});

const run = (name: string, time: string, id: string, extra: Partial<VolumeBackup['status']> = {}): VolumeBackup => ({
  metadata: { namespace: 'team', name, creationTimestamp: time },
  spec: { pvc: 'data', trigger: 'schedule', scheduledFor: time },
  status: {
    phase: 'Succeeded',
    reason: 'Succeeded',
    repository: 'main',
    policy: 'nightly',
    method: 'snapshot',
    startTime: time,
    snapshotTime: time,
    completionTime: new Date(Date.parse(time) + 60_000).toISOString().replace('.000Z', 'Z'),
    snapshotId: id,
    volume: { capacity: '1Gi', storageClassName: 'rbd', accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' },
    bytes: { total: 100, added: 10 },
    files: { new: 1, changed: 0, unmodified: 9, total: 10 },
    ...extra,
  },
});

const historyOf = (runs: VolumeBackup[]): VolumeHistory => ({
  metadata: { namespace: 'team', name: 'data' },
  spec: { pvc: 'data' },
  status: nextHistory(undefined, runs) ?? {},
});

describe('nextHistory', () => {
  const runs = [
    run('a', '2026-12-01T02:00:00Z', 'a'.repeat(64)),
    run('b', '2026-12-02T02:00:00Z', 'b'.repeat(64), { repository: 'old' }),
    run('c', '2026-12-03T02:00:00Z', 'c'.repeat(64)),
    { ...run('failed', '2026-12-04T02:00:00Z', 'd'.repeat(64)), status: { phase: 'Failed' as const } },
  ];

  it('records the Succeeded runs, newest first, and their kept backups read as the runs did', () => {
    const history = historyOf(runs);
    expect(history.status?.backups?.map((l) => l.split(' ')[0])).toEqual(['c', 'b', 'a']);
    expect(history.status?.repository).toBe('main');
    const kept = keptBackups(history);
    for (const original of runs.slice(0, 3)) {
      const back = kept.find((b) => b.metadata.name === original.metadata.name);
      expect(back?.status).toEqual({ ...original.status, changeDetection: undefined });
      expect(back?.spec.pvc).toBe('data');
    }
  });

  it('changes nothing when every run is recorded already, and drops what maintenance forgot', () => {
    const history = historyOf(runs);
    expect(nextHistory(history, runs)).toBeUndefined();
    const after = nextHistory(history, runs, ['bbbbbbbb']);
    expect(after?.backups?.map((l) => l.split(' ')[0])).toEqual(['c', 'a']);
    // A run whose snapshot was forgotten is not recorded again.
    expect(nextHistory({ ...history, status: after ?? {} }, runs, ['bbbbbbbb'])).toBeUndefined();
  });

  it('gives retention, restore and the catalogue the same answers as the runs themselves', () => {
    const history = historyOf(runs);
    const fromRuns = planRetention({
      backups: runs,
      policies: [],
      protectingPolicy: () => undefined,
      claimExists: () => true,
      now: new Date('2026-12-05T00:00:00Z'),
    });
    const fromHistory = planRetention({
      backups: volumeCatalogue(history, runs.slice(3)),
      policies: [],
      protectingPolicy: () => undefined,
      claimExists: () => true,
      now: new Date('2026-12-05T00:00:00Z'),
    });
    expect(fromHistory.map((p) => p.verdicts.map((v) => [v.entry.id, v.keep]))).toEqual(
      fromRuns.map((p) => p.verdicts.map((v) => [v.entry.id, v.keep])),
    );
    for (const choice of [
      { backup: 'latest' },
      { backup: 'b' },
      { backup: 'aaaaaaaa' },
      { backup: 'latest', asOf: '2026-12-02T12:00:00Z' },
    ]) {
      const question = { namespace: 'team', pvc: 'data', ...choice };
      expect(chooseBackup(runs, question).ok).toBe(true);
      expect(chooseBackup(volumeCatalogue(history, []), question)).toEqual(chooseBackup(runs, question));
    }
  });

  it('lets a run object stand for its own backup in the catalogue', () => {
    const history = historyOf(runs);
    const catalogue = volumeCatalogue(history, [runs[2] as VolumeBackup]);
    expect(catalogue.filter((b) => b.metadata.name === 'c')).toEqual([runs[2]]);
    expect(catalogue).toHaveLength(3);
  });

  it('a block backup keeps its image and chain', () => {
    const block = run('blk', '2026-12-03T02:00:00Z', 'e'.repeat(64), {
      block: {
        file: 'data.qcow2',
        virtualSize: 1 << 30,
        dataBytes: 5,
        bytesRead: 6,
        extentsFrom: 'rbd-diff',
        rbdSnapshot: 'p/i@s',
        parent: 'a'.repeat(64),
        chainLength: 2,
      },
    });
    expect(entryOf(block)).toMatchObject({ block: block.status?.block });
    expect(keptBackups(historyOf([block]))[0]?.status?.block).toEqual(block.status?.block);
  });
});

describe('volumeRuns over a history', () => {
  it("says what it says over the same backups as runs: the last outcome and each repository's first good backup", () => {
    const backup = fc.record({
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.integer({ min: 0, max: 23 }),
      took: fc.integer({ min: 1, max: 7200 }),
      repository: fc.constantFrom('main', 'main', 'old', 'offsite'),
      recorded: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(backup, { minLength: 1, maxLength: 30 }), fc.boolean(), (items, lastFailed) => {
        const starts = items.map((b, i) => Date.UTC(2026, 10, b.day, b.hour, i));
        const text = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
        const runs = items.map((b, i) => {
          const start = starts[i] ?? 0;
          // One run per volume at a time (mover-job.ts): each ends before the next one starts.
          const next = Math.min(...starts.filter((other) => other > start));
          const done = Math.min(start + b.took * 1000, next - 1000);
          return run(`r${i}`, text(start), i.toString(16).padStart(64, '0'), {
            repository: b.repository,
            completionTime: text(done),
          });
        });
        const failed = {
          ...run('failed', '2026-11-20T00:00:00Z', 'f'.repeat(64)),
          status: { phase: 'Failed' as const, completionTime: '2026-11-20T00:30:00Z' },
        };
        const all = lastFailed ? [...runs, failed] : runs;
        const recorded = runs.filter((_, i) => items[i]?.recorded === true);
        const history: VolumeHistory = { ...historyOf(recorded), metadata: { namespace: 'team', name: 'data' } };
        const rest = all.filter((r) => !recorded.includes(r) || r === runs[0]);
        const summary = (s: ReturnType<typeof volumeRuns>) => ({
          lastRun: s.lastRun,
          firstGood: [...s.firstGood].sort((a, b) => a.repository.localeCompare(b.repository)),
        });
        expect(summary(volumeRuns('team', 'data', rest, history))).toEqual(summary(volumeRuns('team', 'data', all)));
      }),
    );
  });
});

describe('a name given again', () => {
  it('records a new backup under a name an earlier, recorded run had, and keeps both', () => {
    const first = run('nightly', '2026-12-01T02:00:00Z', 'a'.repeat(64));
    const history: VolumeHistory = { ...historyOf([first]), metadata: { namespace: 'team', name: 'data' } };
    const again = run('nightly', '2026-12-02T02:00:00Z', 'b'.repeat(64));
    const running = { ...again, status: { phase: 'Running' as const } };
    // While the new run writes, the earlier backup of that name stays in the catalogue.
    expect(volumeCatalogue(history, [running]).map((b) => b.status?.snapshotId)).toEqual([undefined, 'a'.repeat(64)]);
    const next = nextHistory(history, [again]);
    expect(next?.backups?.map((l) => l.split(' ')[2])).toEqual(['b'.repeat(64), 'a'.repeat(64)]);
    const both: VolumeHistory = { ...history, status: next ?? {} };
    expect(
      chooseBackup(volumeCatalogue(both, []), { namespace: 'team', pvc: 'data', backup: 'nightly' }),
    ).toMatchObject({
      ok: true,
      backup: { snapshotId: 'b'.repeat(64) },
    });
  });
});
