import { describe, expect, it } from 'vitest';
import type { CoverageRow } from '../core/index.ts';
import { renderStatus } from './status-table.ts';

const now = new Date('2026-11-22T12:00:00Z');
const unbound: CoverageRow = {
  namespace: 'team',
  name: 'new-data',
  size: '1Gi',
  storageClass: 'gone',
  volumeMode: 'Filesystem',
  phase: 'Pending',
  decision: {
    state: 'unbound',
    policy: 'daily',
    rule: 'policy-selector',
    cause: 'StorageClassMissing',
    reason: 'Pending: StorageClass gone does not exist, so nothing provisions the PVC',
  },
  lastBackup: undefined,
  nextRun: undefined,
  problems: [],
};

describe('renderStatus', () => {
  it('shows an unbound volume as unbound, with its policy, no promised run and the case', () => {
    const row = renderStatus([unbound], 'table', now, false).split('\n')[1];
    expect(row).toMatch(
      /^team\s+new-data\s+1Gi\s+gone\s+Filesystem\s+daily\s+unbound\s+-\s+when bound\s+Pending: StorageClass gone does not exist/,
    );
  });

  it('gives programs the state and the cause', () => {
    expect(JSON.parse(renderStatus([unbound], 'json', now, false))).toEqual([
      expect.objectContaining({
        decision: 'unbound',
        policy: 'daily',
        cause: 'StorageClassMissing',
        rule: 'policy-selector',
      }),
    ]);
  });
});
