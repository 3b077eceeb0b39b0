import { describe, expect, it } from 'vitest';
import type { VolumeRestore } from '../api/index.ts';
import { snapshotClassFor, undoExpiry, undoKeep, undoSnapshotExpired, undoSnapshotName } from './undo-snapshot.ts';

const restore = (keepUndoSnapshot?: string): VolumeRestore => ({
  metadata: { name: 'back-to-monday', namespace: 'team', uid: '0a1b2c3d-4e5f-6789-abcd-ef0123456789' },
  spec: {
    source: { pvc: 'data' },
    target: { pvc: 'data', existing: true, ...(keepUndoSnapshot === undefined ? {} : { keepUndoSnapshot }) },
  },
});

describe('undo snapshots', () => {
  it('are kept 24 h by default, as long as the spec says, or not taken with none', () => {
    expect(undoKeep(restore())).toEqual({ kind: 'keep', ms: 86_400_000, text: '24h' });
    expect(undoKeep(restore('1h30m'))).toEqual({ kind: 'keep', ms: 5_400_000, text: '1h30m' });
    expect(undoKeep(restore('none'))).toEqual({ kind: 'none' });
  });

  it('are named after the restore and its uid, so a later restore of that name has its own', () => {
    expect(undoSnapshotName(restore())).toBe('back-to-monday-undo-0a1b2c3d');
    const long = { ...restore(), metadata: { name: `${'a'.repeat(240)}-`, namespace: 'team', uid: 'u' } };
    expect(undoSnapshotName(long).length).toBeLessThanOrEqual(253);
  });

  it('expire their keep time after a moment', () => {
    const keep = { kind: 'keep' as const, ms: 86_400_000, text: '24h' };
    expect(undoExpiry(keep, new Date('2026-12-03T17:00:00.500Z'))).toBe('2026-12-04T17:00:00Z');
  });

  it('are deleted by the sweep only when marked as undo snapshots and past their expiry', () => {
    const now = new Date('2026-12-04T17:00:00Z');
    const snap = (labels: Record<string, string>, expires: string | undefined) => {
      const annotations: Record<string, string> = expires === undefined ? {} : { 'safehold.io/expires': expires };
      return { metadata: { labels, annotations } };
    };
    const undo = { 'safehold.io/undo': 'true' };
    expect(undoSnapshotExpired(snap(undo, '2026-12-04T17:00:00Z'), now)).toBe(true);
    expect(undoSnapshotExpired(snap(undo, '2026-12-04T16:00:00Z'), now)).toBe(true);
    expect(undoSnapshotExpired(snap(undo, '2026-12-04T17:00:01Z'), now)).toBe(false);
    expect(undoSnapshotExpired(snap(undo, 'tomorrow'), now)).toBe(false);
    expect(undoSnapshotExpired(snap(undo, undefined), now)).toBe(false);
    // A backup's kept snapshot, or anything else, is never taken for one.
    expect(undoSnapshotExpired(snap({ 'safehold.io/kept': 'true' }, '2026-12-01T00:00:00Z'), now)).toBe(false);
  });

  it("are taken with the driver's default VolumeSnapshotClass, else its first; none for a driver without", () => {
    const cls = (name: string, driver: string, isDefault = false) => {
      const annotations: Record<string, string> = isDefault
        ? { 'snapshot.storage.kubernetes.io/is-default-class': 'true' }
        : {};
      return { metadata: { name, annotations }, driver };
    };
    const classes = [cls('rbd-a', 'rbd.csi.ceph.com'), cls('rbd-b', 'rbd.csi.ceph.com', true), cls('fs', 'cephfs')];
    expect(snapshotClassFor(classes, 'rbd.csi.ceph.com')?.metadata.name).toBe('rbd-b');
    expect(snapshotClassFor(classes, 'cephfs')?.metadata.name).toBe('fs');
    expect(snapshotClassFor(classes, 'hostpath.csi.k8s.io')).toBeUndefined();
    expect(snapshotClassFor(classes, undefined)).toBeUndefined();
  });
});
