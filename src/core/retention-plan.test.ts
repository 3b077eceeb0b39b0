import { describe, expect, it } from 'vitest';
import { backupPolicySpec, type BackupPolicy, type VolumeBackup } from '../api/index.ts';
import { planRetention } from './retention-plan.ts';

const now = new Date('2026-09-10T12:00:00Z');
let counter = 0;
function backup(
  pvc: string,
  time: string,
  extra: Partial<VolumeBackup['status']> = {},
  orphanedAt?: string,
): VolumeBackup {
  counter++;
  return {
    metadata: {
      name: `${pvc}-${counter}`,
      namespace: 'team',
      ...(orphanedAt === undefined ? {} : { annotations: { 'safehold.io/orphaned-at': orphanedAt } }),
    },
    spec: { pvc, trigger: 'schedule' },
    status: {
      phase: 'Succeeded',
      snapshotId: counter.toString(16).padStart(8, '0'),
      snapshotTime: time,
      policy: 'daily',
      ...extra,
    },
  };
}
const policy = (name: string, retention: Record<string, unknown>): BackupPolicy => ({
  metadata: { name },
  spec: backupPolicySpec.parse({ default: true, retention }),
});
const days = (pvc: string, n: number, orphanedAt?: string) =>
  Array.from({ length: n }, (_, i) =>
    backup(pvc, new Date(now.getTime() - (n - i) * 86_400_000).toISOString(), {}, orphanedAt),
  );

describe('planRetention', () => {
  it("applies the protecting policy's rules per volume, newest first, and names the rule", () => {
    const [plan] = planRetention({
      backups: days('data', 5),
      policies: [policy('daily', { keepDaily: 3 })],
      protectingPolicy: () => 'daily',
      claimExists: () => true,
      now,
    });
    expect(plan?.verdicts.map((v) => v.keep)).toEqual([true, true, true, false, false]);
    expect(plan?.verdicts[0]?.reasons.join(' ')).toMatch(/daily/);
    expect(plan?.policy).toBe('daily');
  });

  it('ignores runs that did not succeed or have no snapshot', () => {
    const failed = backup('data', '2026-09-09T00:00:00Z', { phase: 'Failed' });
    const noSnapshot = backup('data', '2026-09-09T01:00:00Z', { snapshotId: undefined });
    const plans = planRetention({
      backups: [failed, noSnapshot],
      policies: [],
      protectingPolicy: () => undefined,
      claimExists: () => true,
      now,
    });
    expect(plans).toEqual([]);
  });

  it('keeps every backup of a deleted PVC through its grace period, then applies the rules', () => {
    const input = (orphanedAt: string) => ({
      backups: days('gone', 6, orphanedAt),
      policies: [policy('daily', { keepLast: 1, orphanGracePeriod: '30d' })],
      protectingPolicy: () => undefined,
      claimExists: () => false,
      now,
    });
    const [within] = planRetention(input('2026-09-01T00:00:00Z'));
    expect(within?.verdicts.every((v) => v.keep)).toBe(true);
    expect(within?.orphanGraceUntil?.toISOString()).toBe('2026-10-01T00:00:00.000Z');
    const [after] = planRetention(input('2026-08-01T00:00:00Z'));
    expect(after?.verdicts.filter((v) => v.keep)).toHaveLength(1);
    expect(after?.orphanGraceUntil).toBeUndefined();
  });

  it('keeps everything of a volume whose policy retention cannot be read, and says why', () => {
    const [plan] = planRetention({
      backups: days('data', 3),
      policies: [policy('daily', { forgetArgs: ['--keep-tag', 'x'] })],
      protectingPolicy: () => 'daily',
      claimExists: () => true,
      now,
    });
    expect(plan?.verdicts.every((v) => v.keep)).toBe(true);
    expect(plan?.error).toMatch(/BackupPolicy daily: .*keep-tag/);
  });

  it('falls back to the policy of the newest backup, then to the defaults (7 daily, 4 weekly, 3 monthly)', () => {
    const [byBackup] = planRetention({
      backups: days('data', 4),
      policies: [policy('daily', { keepLast: 2 })],
      protectingPolicy: () => undefined,
      claimExists: () => true,
      now,
    });
    expect(byBackup?.verdicts.filter((v) => v.keep)).toHaveLength(2);
    const [byDefault] = planRetention({
      backups: days('data', 10),
      policies: [],
      protectingPolicy: () => undefined,
      claimExists: () => true,
      now,
    });
    expect(byDefault?.policy).toBeUndefined();
    expect(byDefault?.verdicts.filter((v) => v.keep).length).toBeGreaterThanOrEqual(7);
  });
});
