import { describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../api/index.ts';
import { backupHistory } from './backup-history.ts';
import type { LeaderView } from '../core/index.ts';
import { volumePage } from './volume-page.ts';

const now = new Date('2026-11-22T12:00:00Z');

const succeeded = (name: string, start: string, seconds: number, added: number, total: number): VolumeBackup => ({
  metadata: { namespace: 'shop', name },
  spec: { pvc: 'db', trigger: 'schedule' },
  status: {
    phase: 'Succeeded',
    method: 'snapshot',
    startTime: start,
    snapshotTime: start,
    completionTime: new Date(Date.parse(start) + seconds * 1000).toISOString(),
    bytes: { added, total },
    files: { new: 1, changed: 0, unmodified: 0, total: 3 },
    snapshotId: `${name}0123456789abcdef`,
  },
});

const failed: VolumeBackup = {
  metadata: { namespace: 'shop', name: 'db-3' },
  spec: { pvc: 'db', trigger: 'manual' },
  status: {
    phase: 'Failed',
    reason: 'MoverFailed',
    message: 'restic: <repository> is locked',
    startTime: '2026-11-22T03:00:00Z',
    completionTime: '2026-11-22T03:01:00Z',
  },
};

const state = (backups: VolumeBackup[]): LeaderView => ({
  role: 'leading',
  identity: 'operator-0',
  now,
  coverage: [
    {
      namespace: 'shop',
      name: 'db',
      size: '10Gi',
      storageClass: 'fast',
      volumeMode: 'Filesystem',
      phase: 'Bound',
      decision: { state: 'protected', policy: 'daily', rule: 'policy-selector', reason: 'policy daily selects it' },
      lastBackup: '2026-11-21T03:00:00Z',
      nextRun: undefined,
      problems: [],
    },
  ],
  backups,
  restores: [],
  repositories: [],
  state: [],
});

const history = [
  succeeded('db-1', '2026-11-20T03:00:00Z', 40, 5 * 2 ** 20, 8 * 2 ** 20),
  succeeded('db-2', '2026-11-21T03:00:00Z', 12, 2 ** 20, 9 * 2 ** 20),
  failed,
  { ...succeeded('other-1', '2026-11-21T04:00:00Z', 1, 1, 1), spec: { pvc: 'other', trigger: 'manual' as const } },
];

describe('backupHistory', () => {
  it("lists only this volume's runs, newest first, with how long each took", () => {
    expect(backupHistory(history, 'shop', 'db').map((e) => [e.name, e.phase, e.durationMs])).toEqual([
      ['db-3', 'Failed', 60_000],
      ['db-2', 'Succeeded', 12_000],
      ['db-1', 'Succeeded', 40_000],
    ]);
  });
});

describe('the volume page', () => {
  const page = volumePage(state(history), 'shop', 'db') ?? '';

  it('shows its decision, and each run with its sizes, duration and, for a failure, the message (escaped)', () => {
    expect(page).toContain('data-volume="shop/db"');
    const run = (name: string) => new RegExp(`data-backup="${name}">([\\s\\S]*?)</tr>`).exec(page)?.[1] ?? '';
    expect(run('db-2')).toMatch(/Succeeded[\s\S]*1 MiB[\s\S]*9 MiB[\s\S]*12s[\s\S]*db-20123/);
    expect(run('db-3')).toMatch(/Failed<\/span>\s*MoverFailed/);
    expect(run('db-3')).toContain('restic: &lt;repository&gt; is locked');
    expect(page).not.toContain('data-backup="other-1"');
  });

  it('charts the bytes and the durations of the successful runs', () => {
    const charts = [...page.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(charts).toHaveLength(2);
    expect(charts[0]).toContain('Bytes per backup');
    expect(charts[0]?.match(/<circle/g)).toHaveLength(4);
    expect(charts[1]).toContain('Duration per backup');
    expect(charts[1]).toContain('duration: 40s at 2026-11-20 03:00 UTC');
  });

  it('still shows the backups of a PVC that is gone, and nothing for one never known', () => {
    expect(volumePage({ ...state(history), coverage: [] }, 'shop', 'db')).toContain('The PVC no longer exists');
    expect(volumePage(state(history), 'shop', 'nothing')).toBeUndefined();
  });
});
