import { describe, expect, it } from 'vitest';
import { backupRepositorySpec, type VolumeBackup } from '../api/index.ts';
import { maintenanceIntervals, maintenanceOwed } from './maintenance-health.ts';

const now = new Date('2026-11-22T12:00:00Z');
const repository = (name: string, prefix: string, maintenance?: unknown) => ({
  metadata: { name, creationTimestamp: '2026-11-01T00:00:00Z' },
  spec: backupRepositorySpec.parse({
    s3: {
      endpoint: 'http://s3:7480',
      bucket: 'bucket',
      prefix,
      accessKeyId: { namespace: 's', name: 'k' },
      secretAccessKey: { namespace: 's', name: 'k' },
    },
    ...(maintenance === undefined ? {} : { maintenance }),
  }),
});
const backup = (namespace: string, repo: string, phase: 'Succeeded' | 'Failed', completionTime: string) =>
  ({
    metadata: { name: `b-${completionTime}`, namespace },
    spec: { pvc: 'data' },
    status: { phase, repository: repo, completionTime },
  }) as VolumeBackup;

describe('maintenanceIntervals', () => {
  it("is the longest gap of each repository's prune and check schedules", () => {
    expect(
      maintenanceIntervals(
        [
          repository('weekly', 'p'),
          repository('daily-prune', 'p', { prune: { cron: '0 3 * * *' }, check: { cron: '0 5 1 * *' } }),
        ],
        now,
      ),
    ).toEqual([
      { repository: 'weekly', operation: 'prune', seconds: 7 * 86_400 },
      { repository: 'weekly', operation: 'check', seconds: 7 * 86_400 },
      { repository: 'daily-prune', operation: 'prune', seconds: 86_400 },
      // A monthly check runs at most once more in the eight days looked at: the gap to the one after.
      { repository: 'daily-prune', operation: 'check', seconds: 31 * 86_400 },
    ]);
  });
});

describe('maintenanceOwed', () => {
  const repos = new Map([
    ['shared', repository('shared', 'all')],
    ['tenants', repository('tenants', 'tenants/{namespace}')],
  ]);
  const seconds = (iso: string) => Date.parse(iso) / 1000;

  it("counts from each restic repository's first good backup: one per namespace, or one shared", () => {
    expect(
      maintenanceOwed(
        [
          backup('a', 'shared', 'Succeeded', '2026-11-10T00:00:00Z'),
          backup('b', 'shared', 'Succeeded', '2026-11-05T00:00:00Z'),
          backup('a', 'tenants', 'Succeeded', '2026-11-12T00:00:00Z'),
          backup('a', 'tenants', 'Failed', '2026-11-02T00:00:00Z'),
          backup('b', 'tenants', 'Succeeded', '2026-11-20T00:00:00Z'),
          backup('c', 'gone', 'Succeeded', '2026-11-02T00:00:00Z'),
        ],
        (name) => repos.get(name),
      ),
    ).toEqual([
      { repository: 'shared', tenant: '', sinceSeconds: seconds('2026-11-05T00:00:00Z') },
      { repository: 'tenants', tenant: 'a', sinceSeconds: seconds('2026-11-12T00:00:00Z') },
      { repository: 'tenants', tenant: 'b', sinceSeconds: seconds('2026-11-20T00:00:00Z') },
    ]);
  });

  it('owes nothing before the repository existed (backups moved from elsewhere keep their times)', () => {
    expect(
      maintenanceOwed([backup('a', 'shared', 'Succeeded', '2026-10-01T00:00:00Z')], (name) => repos.get(name)),
    ).toEqual([{ repository: 'shared', tenant: '', sinceSeconds: seconds('2026-11-01T00:00:00Z') }]);
  });
});
