import { describe, expect, it } from 'vitest';
import type { ApplicationDump } from '../api/index.ts';
import { etcdRow } from './etcd-coverage.ts';
import { objectsCoverage } from './objects-coverage.ts';

const now = new Date('2026-12-05T12:00:00Z');
const etcdDump = (status: ApplicationDump['status'] = {}, spec: object = {}): ApplicationDump => ({
  metadata: { name: 'safehold-etcd', namespace: 'safehold' },
  spec: { etcd: {}, schedule: { cron: '0 3 * * *' }, ...spec },
  status,
});

describe('the etcd row', () => {
  it('is UNPROTECTED without an etcd dump, saying how to get one', () => {
    expect(etcdRow([], now)).toMatchObject({
      scope: 'Etcd',
      name: 'etcd',
      state: 'unprotected',
      reason:
        "no etcd dump: no BackupPolicy has spec.etcd (nor is there an ApplicationDump with spec.etcd in Safehold's namespace)",
    });
  });

  it('is protected by the etcd dump, with its last snapshot and next run', () => {
    const row = etcdRow(
      [
        etcdDump({
          lastSuccess: { name: 'r1', time: '2026-12-05T03:00:05Z' },
          lastRun: { name: 'r1', phase: 'Succeeded', time: '2026-12-05T03:00:09Z' },
        }),
      ],
      now,
    );
    expect(row.nextRun).toMatch(/^2026-12-06T03:/);
    expect({ ...row, nextRun: undefined }).toEqual({
      scope: 'Etcd',
      name: 'etcd',
      namespace: 'safehold',
      url: 'https://127.0.0.1:2379',
      state: 'protected',
      dump: 'safehold/safehold-etcd',
      lastBackup: '2026-12-05T03:00:05Z',
      nextRun: undefined,
      reason: 'snapshotted by ApplicationDump safehold/safehold-etcd (on its schedule)',
    });
  });

  it('is UNPROTECTED when the last run failed, with what the run said and the last good snapshot', () => {
    const failed = etcdDump({
      lastSuccess: { name: 'r1', time: '2026-12-04T03:00:05Z' },
      lastRun: { name: 'r2', phase: 'Failed', time: '2026-12-05T03:00:09Z' },
    });
    const said = (ns: string, run: string) =>
      ns === 'safehold' && run === 'r2'
        ? 'no etcd snapshot, nothing stored: etcd at https://127.0.0.1:2379: connection refused'
        : undefined;
    expect(etcdRow([failed], now, said)).toMatchObject({
      state: 'unprotected',
      dump: 'safehold/safehold-etcd',
      lastBackup: '2026-12-04T03:00:05Z',
      reason:
        'the last etcd snapshot failed (DumpRun safehold/r2: no etcd snapshot, nothing stored: etcd at https://127.0.0.1:2379: connection refused); the last good snapshot is of 2026-12-04T03:00:05Z',
    });
    const never = etcdDump({ lastRun: { name: 'r1', phase: 'Failed', time: '2026-12-05T03:00:09Z' } });
    expect(etcdRow([never], now).reason).toBe(
      'the last etcd snapshot failed (DumpRun safehold/r1); no snapshot stored yet',
    );
  });

  it('prefers a dump on a schedule, and tells one run only when asked', () => {
    const manual = { ...etcdDump({}, { schedule: undefined }), metadata: { name: 'by-hand', namespace: 'safehold' } };
    expect(etcdRow([manual, etcdDump()], now).dump).toBe('safehold/safehold-etcd');
    expect(etcdRow([manual], now).reason).toBe(
      'snapshotted by ApplicationDump safehold/by-hand (no schedule: only when asked)',
    );
  });

  it("is one of the cluster's rows, not a namespace's", () => {
    const base = { namespaces: [], dumps: [etcdDump()], now };
    expect(objectsCoverage({ ...base, cluster: true }).filter((r) => r.scope === 'Etcd')).toHaveLength(1);
    expect(objectsCoverage({ ...base, cluster: false }).filter((r) => r.scope === 'Etcd')).toHaveLength(0);
  });
});
