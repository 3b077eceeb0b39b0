import { describe, expect, it } from 'vitest';
import { backupRepositorySpec, type VolumeBackup } from '../api/index.ts';
import { lastScheduledSlots } from './due-runs.ts';
import { maintenanceOwed } from './maintenance-health.ts';
import { latestOutcomes } from './volume-health.ts';
import { firstGoodBackups, volumeRuns } from './volume-runs.ts';

/** A small deterministic generator, so a failing catalogue can be reproduced from its seed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const phases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;

function catalogue(seed: number): VolumeBackup[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const time = () => new Date(Date.UTC(2026, 10, 1 + Math.floor(next() * 28), Math.floor(next() * 24))).toISOString();
  return Array.from({ length: 200 }, (_, i) => {
    const phase = pick(phases);
    const finished = phase === 'Succeeded' || phase === 'Failed';
    return {
      metadata: { namespace: pick(['a', 'b', 'c']), name: `run-${i}`, creationTimestamp: time() },
      spec: {
        pvc: pick(['data', 'logs', 'db']),
        trigger: 'schedule',
        ...(next() < 0.7 ? { scheduledFor: pick([time(), 'not a time']) } : {}),
      },
      status: {
        phase,
        ...(finished && next() < 0.9 ? { completionTime: time() } : {}),
        ...(phase === 'Succeeded' && next() < 0.9 ? { repository: pick(['shared', 'tenants', 'gone']) } : {}),
        ...(phase === 'Failed' ? { reason: 'RetriesExhausted' as const } : {}),
      },
    };
  });
}

function byVolume(backups: readonly VolumeBackup[]) {
  return [...Map.groupBy(backups, (b) => `${b.metadata.namespace}/${b.spec.pvc}`)].map(([key, runs]) => {
    const [namespace = '', pvc = ''] = key.split('/');
    return volumeRuns(namespace, pvc, runs);
  });
}

const repository = (name: string, prefix: string) => ({
  metadata: { name, creationTimestamp: '2026-11-03T00:00:00Z' },
  spec: backupRepositorySpec.parse({
    s3: {
      endpoint: 'http://s3:7480',
      bucket: 'bucket',
      prefix,
      accessKeyId: { namespace: 's', name: 'k' },
      secretAccessKey: { namespace: 's', name: 'k' },
    },
  }),
});
const repositories = new Map([
  ['shared', repository('shared', 'all')],
  ['tenants', repository('tenants', 'tenants/{namespace}')],
]);

describe('volumeRuns', () => {
  // Whatever the catalogue, per-volume summaries answer what the passes over the whole catalogue answered.
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`answers as the whole catalogue does (seed ${seed})`, () => {
      const backups = catalogue(seed);
      const runs = byVolume(backups);
      expect(
        new Map(runs.flatMap((r) => (r.lastRun === undefined ? [] : [[`${r.namespace}/${r.pvc}`, r.lastRun]]))),
      ).toEqual(latestOutcomes(backups));
      const slots = runs.map((r) => ({
        metadata: { namespace: r.namespace },
        spec: { pvc: r.pvc, scheduledFor: r.lastSlot },
      }));
      expect(lastScheduledSlots(slots, [])).toEqual(lastScheduledSlots(backups, []));
      expect(maintenanceOwed(firstGoodBackups(runs), (name) => repositories.get(name))).toEqual(
        maintenanceOwed(backups, (name) => repositories.get(name)),
      );
    });
  }

  it('is empty for a volume whose runs have not finished', () => {
    expect(
      volumeRuns('a', 'data', [{ metadata: { namespace: 'a', name: 'r' }, spec: { pvc: 'data', trigger: 'manual' } }]),
    ).toEqual({
      namespace: 'a',
      pvc: 'data',
      lastRun: undefined,
      lastSlot: undefined,
      firstGood: [],
    });
  });

  it("owes maintenance from a history whose oldest line was archived (no finish): from that backup's capture", () => {
    // As the history holds it after a prune brought archived lines back: the oldest keeps no done=.
    const history = {
      metadata: { namespace: 'a', name: 'data' },
      spec: { pvc: 'data' },
      status: {
        repository: 'main',
        backups: [
          'today 2026-12-05T10:24:45Z 979ec8067cd703711f7c32356435b44da54ebcca8c6c2ed8a064842a7d1a0910 done=1 took=1 trigger=manual method=live bytes=2621440 path=/data',
          'history-9 2026-09-09T12:00:00Z a5a232c11dba6b50 trigger=manual method=live bytes=2621440 path=/data',
        ],
      },
    };
    const runs = volumeRuns('a', 'data', [], history);
    expect(runs.firstGood).toEqual([{ repository: 'main', completionTime: '2026-09-09T12:00:00Z' }]);
    expect(runs.lastRun).toMatchObject({ phase: 'Succeeded', finished: '2026-12-05T10:24:46Z' });
  });
});
