import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VolumeBackup, VolumeHistory } from '../api/index.ts';
import { chooseBackup } from './backup-choice.ts';
import { chainOf } from './block-chain.ts';
import { scheduledBackupName } from './due-runs.ts';
import { archivedEntry, archivedIdDigits } from './history-archive.ts';
import { historyPass } from './history-pass.ts';
import {
  archiveFrom,
  entryOf,
  historyEntries,
  historyLength,
  historyStatus,
  keptBackups,
  plainNewest,
  volumeCatalogue,
  type KeptEntry,
} from './volume-history.ts';

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const name = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,40}$/),
  fc.stringMatching(/^[a-z0-9][a-z:*% =.-]{0,12}$/),
);

const fileEntry: fc.Arbitrary<KeptEntry> = fc
  .record(
    {
      name,
      time: fc.integer({ min: 1.7e9, max: 1.9e9 }).map(iso),
      id: hex,
      done: fc.nat({ max: 10 ** 6 }),
      took: fc.nat({ max: 10 ** 6 }),
      trigger: fc.constantFrom('schedule', 'catch-up', 'manual'),
      repository: fc.constant('main'),
      policy: fc.constantFrom('hourly', 'daily'),
      method: fc.constantFrom('snapshot', 'live', 'cephfs-snapshot'),
      changes: fc.constant('mtime-size'),
      bytes: fc.nat({ max: 2 ** 40 }),
      added: fc.nat({ max: 2 ** 40 }),
      files: fc.record({ new: fc.nat(), changed: fc.nat(), unmodified: fc.nat(), total: fc.nat() }),
      snapshotName: fc.option(fc.constantFrom('*name*', 'other-snapshot'), { nil: undefined }),
      snapshotPath: fc.constantFrom('/data', '/data/.snap/x'),
    },
    { requiredKeys: ['name', 'time', 'id', 'repository'] },
  )
  .map((e) => (e.snapshotName === '*name*' ? { ...e, snapshotName: e.name } : e));

const history = (entries: KeptEntry[]): VolumeHistory => ({
  metadata: { namespace: 'team', name: 'data' },
  spec: { pvc: 'data' },
  status: historyStatus(entries, undefined),
});

const byAge = (entries: readonly KeptEntry[]) =>
  [...entries].sort((a, b) => b.time.localeCompare(a.time) || b.name.localeCompare(a.name));

describe('a long history', () => {
  it('gives back its newest and oldest entries whole and the ones between as archived, in order', () => {
    fc.assert(
      fc.property(fc.array(fileEntry, { minLength: 1, maxLength: 40 }), (entries) => {
        const h = history(entries);
        const sorted = byAge(entries);
        const back = historyEntries(h);
        expect(historyLength(h)).toBe(entries.length);
        if (entries.length < archiveFrom) {
          expect(h.status?.archive).toBeUndefined();
          expect(back).toEqual(JSON.parse(JSON.stringify(sorted)));
          return;
        }
        expect(h.status?.backups).toHaveLength(plainNewest + 1);
        const expected = [
          ...sorted.slice(0, plainNewest),
          ...sorted.slice(plainNewest, -1).map(archivedEntry),
          ...sorted.slice(-1),
        ];
        expect(back).toEqual(JSON.parse(JSON.stringify(expected)));
        // Written again (the next backup, or a forget), nothing more is lost.
        expect(historyEntries(history(back))).toEqual(back);
      }),
    );
  });

  it('keeps backups in several repositories plain: coverage reads each repository’s oldest', () => {
    const entries = Array.from({ length: 12 }, (_, i) => ({
      name: `b${i}`,
      time: iso(1.8e9 - i * 3600),
      id: randomBytes(32).toString('hex'),
      repository: i === 11 ? 'old' : 'main',
    }));
    const h = history(entries);
    expect(h.status?.archive).toBeUndefined();
    expect(h.status?.backups).toHaveLength(12);
  });

  it('holds a hundred hourly backups, with their statistics, in under 4 KiB', () => {
    const runs = hourlyRuns(100);
    const h = history(runs.flatMap((r) => entryOf(r) ?? []));
    const size = JSON.stringify(h.status).length;
    expect(size).toBeLessThan(4096);
    // The plain lines alone (what it was) take five times that.
    const plain = JSON.stringify(runs.flatMap((r) => entryOf(r) ?? []).map((e) => JSON.stringify(e))).length;
    expect(plain).toBeGreaterThan(5 * size);
  });

  it('says which object and field it cannot read', () => {
    const h = history(hourlyRuns(10).flatMap((r) => entryOf(r) ?? []));
    const broken = { ...h, status: { ...h.status, archive: 'bm90IGRlZmxhdGVk' } };
    expect(() => historyEntries(broken)).toThrow('VolumeHistory team/data status.archive');
  });
});

describe('an archived backup', () => {
  const runs = hourlyRuns(30);
  const h = history(runs.flatMap((r) => entryOf(r) ?? []));
  const old = runs[20] as VolumeBackup;
  const fullId = old.status?.snapshotId ?? '';

  it('keeps 16 digits of a file backup’s id, and is found by its full id and by its name', () => {
    const archived = keptBackups(h).find((b) => b.metadata.name === old.metadata.name);
    expect(archived?.status?.snapshotId).toBe(fullId.slice(0, archivedIdDigits));
    expect(archived?.status?.bytes).toEqual({ total: old.status?.bytes?.total });
    for (const backup of [fullId, fullId.slice(0, 8), old.metadata.name])
      expect(chooseBackup(volumeCatalogue(h, []), { namespace: 'team', pvc: 'data', backup })).toMatchObject({
        ok: true,
        backup: { name: old.metadata.name },
      });
  });

  it('is the same backup as its run object: listed once, and the run deleted once its record expires', () => {
    const catalogue = volumeCatalogue(h, [old]);
    expect(catalogue.filter((b) => b.metadata.name === old.metadata.name)).toEqual([old]);
    expect(catalogue).toHaveLength(30);
    const recorded = { ...old, metadata: { ...old.metadata, annotations: { 'safehold.io/recorded': 'x' } } };
    const pass = historyPass({
      namespace: 'team',
      pvc: 'data',
      history: h,
      runs: [recorded],
      forgotten: [],
      now: new Date(Date.parse(old.status?.completionTime ?? '') + 2 * 86_400_000),
      keepRunsForMs: 86_400_000,
    });
    expect(pass).toMatchObject({ write: undefined, remove: [old.metadata.name] });
  });

  it('is forgotten by its full id, and a block backup keeps its full id and its chain', () => {
    const after = historyPass({
      namespace: 'team',
      pvc: 'data',
      history: h,
      runs: [],
      forgotten: [fullId],
      now: new Date(),
      keepRunsForMs: 0,
    }).write;
    expect(after?.archived).toBe((h.status?.archived ?? 0) - 1);
    const blocks = blockRuns(12);
    const bh = history(blocks.flatMap((r) => entryOf(r) ?? []));
    expect(bh.status?.archive).toBeDefined();
    const newest = blocks[0]?.status?.snapshotId ?? '';
    const { chain, missing } = chainOf(keptBackups(bh), newest);
    expect(missing).toBeUndefined();
    expect(chain.map((b) => b.status?.snapshotId)).toEqual([...blocks].reverse().map((b) => b.status?.snapshotId));
  });
});

/** Runs as the operator leaves them: hourly, names from their slot, statistics that vary. */
function hourlyRuns(count: number): VolumeBackup[] {
  let total = 3_328_599_654;
  return Array.from({ length: count }, (_, n) => {
    const slot = new Date(Date.UTC(2026, 11, 3, 4) - n * 3_600_000);
    const start = iso(slot.getTime() / 1000 + ((n * 7) % 20));
    const added = (n * 7_919_993) % 50_000_000;
    total -= added;
    const name = scheduledBackupName('data', slot);
    return {
      metadata: { namespace: 'team', name, creationTimestamp: start },
      spec: { pvc: 'data', trigger: 'schedule', scheduledFor: slot.toISOString() },
      status: {
        phase: 'Succeeded',
        repository: 'main',
        policy: 'hourly',
        method: 'snapshot',
        startTime: start,
        snapshotTime: start,
        completionTime: iso(Date.parse(start) / 1000 + 30 + (n % 50)),
        snapshotName: name,
        snapshotId: randomBytes(32).toString('hex'),
        bytes: { total, added },
        files: { new: n % 40, changed: n % 30, unmodified: 1204 - (n % 40) - (n % 30), total: 1204 },
      },
    };
  });
}

/** A chain of block backups, newest first: a full image and its overlays. */
function blockRuns(count: number): VolumeBackup[] {
  const runs = hourlyRuns(count);
  return runs.map((run, n) => {
    const parent = runs[n + 1]?.status?.snapshotId;
    return {
      ...run,
      status: {
        ...run.status,
        method: 'snapshot',
        block: {
          file: 'data.qcow2',
          virtualSize: 1 << 30,
          dataBytes: 4096,
          bytesRead: 4096,
          extentsFrom: 'rbd-diff',
          rbdSnapshot: `rbd/img@${run.metadata.name}`,
          ...(parent === undefined ? {} : { parent }),
          chainLength: count - n,
        },
      },
    };
  });
}
