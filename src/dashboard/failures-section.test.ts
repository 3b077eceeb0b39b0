import { describe, expect, it } from 'vitest';
import type { VolumeBackup, VolumeRestore } from '../api/index.ts';
import { failuresSection, recentFailures } from './failures-section.ts';

const backup = (name: string, phase: 'Failed' | 'Succeeded', completionTime: string): VolumeBackup => ({
  metadata: { namespace: 'shop', name },
  spec: { pvc: 'db', trigger: 'schedule' },
  status: { phase, reason: 'MoverFailed', message: `${name}: <exit 1>`, completionTime },
});

const restore: VolumeRestore = {
  metadata: { namespace: 'web', name: 'back' },
  spec: { source: { pvc: 'db', namespace: 'shop' }, target: { pvc: 'db-copy' } },
  status: { phase: 'Failed', reason: 'BackupNotFound', message: 'no backup', completionTime: '2026-11-22T10:30:00Z' },
};

describe('recent failures', () => {
  const failures = recentFailures(
    [
      backup('old', 'Failed', '2026-11-22T08:00:00Z'),
      backup('ok', 'Succeeded', '2026-11-22T11:00:00Z'),
      backup('new', 'Failed', '2026-11-22T11:30:00Z'),
    ],
    [restore],
    10,
  );

  it('lists failed backups and restores only, newest first', () => {
    expect(failures.map((f) => `${f.kind} ${f.namespace}/${f.name}`)).toEqual([
      'VolumeBackup shop/new',
      'VolumeRestore web/back',
      'VolumeBackup shop/old',
    ]);
    expect(failures[1]?.volume).toEqual({ namespace: 'shop', pvc: 'db' });
  });

  it('keeps the newest when there are more than the limit', () => {
    expect(
      recentFailures(
        [backup('old', 'Failed', '2026-11-22T08:00:00Z'), backup('new', 'Failed', '2026-11-22T11:30:00Z')],
        [],
        1,
      ).map((f) => f.name),
    ).toEqual(['new']);
  });

  it('shows each with its reason, its escaped message and a link to its volume', () => {
    const section = failuresSection(failures, new Date('2026-11-22T12:00:00Z')).html;
    expect(section).toContain('new: &lt;exit 1&gt;');
    expect(section).toContain('href="/volumes/shop/db"');
    expect(section).toMatch(/30m ago[\s\S]*MoverFailed/);
    expect(failuresSection([], new Date()).html).toContain('No failed backups or restores.');
  });
});
