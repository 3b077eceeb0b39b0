import { describe, expect, it } from 'vitest';
import { drillPicks, mayOweRedrill, redrills, windowShortfall, type DrillCandidate } from './drill-plan.ts';

const day = 86_400_000;
const now = new Date('2026-12-01T03:00:00Z');
const daysAgo = (n: number) => new Date(now.getTime() - n * day).toISOString();

function volume(pvc: string, passedDaysAgo: number | undefined, extra: Partial<DrillCandidate> = {}): DrillCandidate {
  return {
    namespace: 'team',
    pvc,
    backedUp: true,
    latestBackup: `${pvc}-b2`,
    drilling: false,
    verification:
      passedDaysAgo === undefined
        ? undefined
        : {
            at: daysAgo(passedDaysAgo),
            verdict: 'Passed',
            backup: `${pvc}-b1`,
            message: undefined,
            reason: undefined,
            lastPassed: undefined,
          },
    ...extra,
  };
}

const failed = (pvc: string): DrillCandidate =>
  volume(pvc, 1, {
    verification: {
      at: daysAgo(1),
      verdict: 'Failed',
      backup: `${pvc}-b1`,
      message: 'Unverified: x',
      reason: 'Unverified',
      lastPassed: undefined,
    },
  });

describe('drillPicks', () => {
  const fleet = [
    volume('fresh', 1),
    volume('old', 29),
    volume('never', undefined),
    failed('broken'),
    volume('mid', 10),
  ];

  it('with a count, takes that many, never proven and failed first, then the longest unproven', () => {
    expect(drillPicks(fleet, { volumes: 3, windowMs: 30 * day }, now, undefined).map((c) => c.pvc)).toEqual([
      'broken',
      'never',
      'old',
    ]);
  });

  it('without a count, takes every volume whose proof would outlive the window before the next run', () => {
    const nextRun = now.getTime() + 7 * day;
    expect(drillPicks(fleet, { windowMs: 30 * day }, now, nextRun).map((c) => c.pvc)).toEqual([
      'broken',
      'never',
      'old',
    ]);
    expect(drillPicks(fleet, { windowMs: 30 * day }, now, now.getTime() + 21 * day).map((c) => c.pvc)).toEqual([
      'broken',
      'never',
      'old',
      'mid',
    ]);
  });

  it('skips volumes with no good backup and volumes being drilled', () => {
    const picks = drillPicks(
      [volume('empty', undefined, { backedUp: false }), volume('busy', undefined, { drilling: true })],
      { volumes: 5, windowMs: 30 * day },
      now,
      undefined,
    );
    expect(picks).toEqual([]);
  });
});

describe('windowShortfall', () => {
  it('says when the count per run cannot reach every volume within the window', () => {
    const drill = { volumes: 10, window: '30d', windowMs: 30 * day };
    expect(windowShortfall(300, drill, day)).toBeUndefined();
    expect(windowShortfall(301, drill, day)).toContain(
      'prove 300 of the 301 volumes: raise drill.volumes to at least 11',
    );
  });
  it('has nothing to say without a count', () => {
    expect(windowShortfall(10_000, { window: '30d', windowMs: 30 * day }, day)).toBeUndefined();
  });
});

describe('redrills', () => {
  it('drills a newer good backup of a volume whose last drill failed, once', () => {
    expect(redrills([failed('broken'), volume('fine', 1)]).map((c) => c.pvc)).toEqual(['broken']);
    const sameBackup = failed('stuck');
    sameBackup.latestBackup = 'stuck-b1';
    expect(redrills([sameBackup])).toEqual([]);
    expect(redrills([{ ...failed('busy'), drilling: true }])).toEqual([]);
  });
});

describe('mayOweRedrill', () => {
  const failedAt = (at: string) => ({
    at,
    verdict: 'Failed' as const,
    backup: 'b1',
    message: 'Unverified: x',
    reason: 'Unverified',
    lastPassed: undefined,
  });
  it('reads a red volume’s catalogue only once a backup finished after its verdict', () => {
    expect(mayOweRedrill(failedAt('2026-12-01T03:00:00Z'), '2026-12-01T04:00:00Z')).toBe(true);
    expect(mayOweRedrill(failedAt('2026-12-01T03:00:00Z'), '2026-12-01T02:00:00Z')).toBe(false);
    expect(mayOweRedrill(failedAt('2026-12-01T03:00:00Z'), undefined)).toBe(false);
    expect(mayOweRedrill({ ...failedAt('2026-12-01T03:00:00Z'), verdict: 'Passed' }, '2026-12-02T00:00:00Z')).toBe(
      false,
    );
  });
});
