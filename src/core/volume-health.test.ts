import { describe, expect, it } from 'vitest';
import { backupPolicySpec, type VolumeBackup, type VolumeBackupStatus } from '../api/index.ts';
import type { CoverageRow } from './coverage.ts';
import { latestOutcomes, policyIntervals, scheduleIntervalSeconds, volumeHealth } from './volume-health.ts';

// A Wednesday; Europe moves its clocks forward on the Sunday after (2026-03-29).
const now = new Date('2026-03-25T12:00:00Z');
const hour = 3600;
const day = 24 * hour;

const schedule = (cron: string, timeZone = 'UTC') => ({ cron, timeZone, spreadWindow: '1h' });

const run = (
  namespace: string,
  pvc: string,
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed',
  completionTime?: string,
  reason?: VolumeBackupStatus['reason'],
): VolumeBackup => ({
  metadata: { namespace, name: `${pvc}-${completionTime ?? phase}`, creationTimestamp: '2026-03-01T00:00:00Z' },
  spec: { pvc, trigger: 'manual' },
  status: {
    phase,
    ...(completionTime === undefined ? {} : { completionTime }),
    ...(reason === undefined ? {} : { reason }),
  },
});

const row = (
  namespace: string,
  name: string,
  state: 'protected' | 'unprotected',
  lastBackup?: string,
): CoverageRow => ({
  namespace,
  name,
  size: '1Gi',
  storageClass: 'fast',
  volumeMode: 'Filesystem',
  phase: 'Bound',
  decision:
    state === 'protected'
      ? { state, policy: 'daily', rule: 'policy-selector', reason: 'selected by policy daily' }
      : { state, cause: 'NoPolicy', reason: 'no BackupPolicy selects it and there is no default policy' },
  lastBackup,
  nextRun: undefined,
  problems: [],
});

describe('scheduleIntervalSeconds', () => {
  it.each([
    ['daily', '0 2 * * *', day],
    ['hourly', '0 * * * *', hour],
    ['every 15 minutes', '*/15 * * * *', 15 * 60],
    ['weekly', '0 3 * * 0', 7 * day],
    // Friday night to Monday night: a quiet weekend is not three missed runs.
    ['on weekdays', '0 2 * * 1-5', 3 * day],
    ['hourly on weekdays', '0 * * * 1-5', 2 * day + hour],
    ['monthly', '0 4 1 * *', 30 * day],
  ])('is the longest gap between runs of a %s schedule', (_name, cron, seconds) => {
    expect(scheduleIntervalSeconds(schedule(cron), now)).toBe(seconds);
  });

  it('counts the long day of a time zone leaving summer time (25 h); the short one of spring changes nothing', () => {
    // Europe/Zurich leaves summer time on 2026-10-25.
    expect(scheduleIntervalSeconds(schedule('0 2 * * *', 'Europe/Zurich'), new Date('2026-10-20T00:00:00Z'))).toBe(
      25 * hour,
    );
    expect(scheduleIntervalSeconds(schedule('0 2 * * *', 'Europe/Zurich'), now)).toBe(day);
  });

  it('reaches far for a schedule that runs once in four years', () => {
    expect(scheduleIntervalSeconds(schedule('0 0 29 2 *'), now)).toBe(1461 * day);
  });

  it('has no interval for an invalid schedule', () => {
    expect(scheduleIntervalSeconds(schedule('0 2 * * *', 'Nowhere/Land'), now)).toBeUndefined();
    expect(scheduleIntervalSeconds(schedule('0 2 31 2 *'), now)).toBeUndefined();
  });

  it('is given per policy, leaving out a policy whose schedule cannot run', () => {
    const policy = (name: string, cron: string) => ({
      metadata: { name },
      spec: backupPolicySpec.parse({ default: true, schedule: { cron } }),
    });
    expect(policyIntervals([policy('daily', '0 2 * * *'), policy('never', '0 2 31 2 *')], now)).toEqual(
      new Map([['daily', day]]),
    );
  });
});

describe('latestOutcomes', () => {
  it('keeps the most recently finished run of each volume, with its reason, and ignores runs still going', () => {
    const outcomes = latestOutcomes([
      run('team', 'data', 'Succeeded', '2026-03-20T02:10:00Z', 'Succeeded'),
      run('team', 'data', 'Failed', '2026-03-21T02:40:00Z', 'RetriesExhausted'),
      run('team', 'data', 'Running'),
      run('team', 'logs', 'Failed', '2026-03-20T02:10:00Z', 'SecretNotFound'),
      run('team', 'logs', 'Succeeded', '2026-03-21T02:10:00Z', 'Succeeded'),
      run('other', 'data', 'Pending'),
    ]);
    expect(outcomes).toEqual(
      new Map([
        ['team/data', { phase: 'Failed', reason: 'RetriesExhausted', finished: '2026-03-21T02:40:00Z' }],
        ['team/logs', { phase: 'Succeeded', reason: 'Succeeded', finished: '2026-03-21T02:10:00Z' }],
      ]),
    );
  });

  it('falls back to the phase without a reason and to the creation time without a completion time', () => {
    expect(latestOutcomes([run('team', 'data', 'Failed')]).get('team/data')).toEqual({
      phase: 'Failed',
      reason: 'Failed',
      finished: '2026-03-01T00:00:00Z',
    });
  });
});

describe('volumeHealth', () => {
  const created = new Map([
    ['team/fresh', '2026-03-24T08:00:00Z'],
    ['team/kept', '2026-01-01T00:00:00Z'],
    ['team/reborn', '2026-03-22T00:00:00Z'],
  ]);
  const outcomes = new Map([
    ['team/kept', { phase: 'Failed' as const, reason: 'MoverFailed', finished: '2026-03-25T02:30:00Z' }],
    ['team/reborn', { phase: 'Failed' as const, reason: 'MoverFailed', finished: '2026-03-21T02:30:00Z' }],
  ]);

  it('covers protected volumes only; the creation time only until a first good backup', () => {
    const health = volumeHealth(
      [
        row('team', 'fresh', 'protected'),
        row('team', 'kept', 'protected', '2026-03-24T02:20:00Z'),
        row('team', 'loose', 'unprotected'),
      ],
      outcomes,
      (key) => created.get(key),
    );
    expect(health).toEqual([
      {
        namespace: 'team',
        pvc: 'fresh',
        policy: 'daily',
        createdSeconds: Date.parse('2026-03-24T08:00:00Z') / 1000,
        lastRun: undefined,
      },
      {
        namespace: 'team',
        pvc: 'kept',
        policy: 'daily',
        createdSeconds: undefined,
        lastRun: outcomes.get('team/kept'),
      },
    ]);
  });

  it('does not pin a failure of an earlier claim of the same name on a new one', () => {
    const [reborn] = volumeHealth([row('team', 'reborn', 'protected')], outcomes, (key) => created.get(key));
    expect(reborn?.lastRun).toBeUndefined();
    expect(reborn?.createdSeconds).toBe(Date.parse('2026-03-22T00:00:00Z') / 1000);
  });
});
