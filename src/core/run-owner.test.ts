import { describe, expect, it } from 'vitest';
import { isLeftover, ownerRecord, parseOwnerRecord, runOwnerOf } from './run-owner.ts';

const run = { metadata: { namespace: 'team', name: 'nightly-1', uid: 'u-1' } };
const record = ownerRecord('VolumeBackup', run);
const exists = (uid: string | undefined) => () => uid;

describe('owner records', () => {
  it('round-trips a run', () => {
    expect(record).toEqual({ 'safehold.io/owner': 'VolumeBackup/team/nightly-1/u-1' });
    expect(parseOwnerRecord(record['safehold.io/owner'])).toEqual({
      kind: 'VolumeBackup',
      namespace: 'team',
      name: 'nightly-1',
      uid: 'u-1',
    });
  });

  it.each([undefined, '', 'VolumeBackup/team/nightly-1', 'Pod/team/p/u', 'VolumeBackup//n/u', 'VolumeBackup/a/b/'])(
    'refuses %j',
    (value) => expect(parseOwnerRecord(value)).toBeUndefined(),
  );

  it('reads an owner reference to a run in the same namespace', () => {
    const owned = {
      metadata: {
        namespace: 'safehold-system',
        ownerReferences: [{ apiVersion: 'safehold.io/v1alpha1', kind: 'RepositoryMaintenance', name: 'm', uid: 'u-9' }],
      },
    };
    expect(runOwnerOf(owned)).toEqual({
      kind: 'RepositoryMaintenance',
      namespace: 'safehold-system',
      name: 'm',
      uid: 'u-9',
    });
    const foreign = {
      metadata: {
        namespace: 'x',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'u' }],
      },
    };
    expect(runOwnerOf(foreign)).toBeUndefined();
  });
});

describe('isLeftover', () => {
  const labelled = { 'safehold.io/run': 'nightly-1' };

  it('is an object labelled as a run object whose owning run is gone', () => {
    expect(isLeftover({ metadata: { labels: labelled, annotations: record } }, exists(undefined))).toBe(true);
  });

  it('is an object whose owner was deleted and re-created under the same name', () => {
    expect(isLeftover({ metadata: { labels: labelled, annotations: record } }, exists('u-2'))).toBe(true);
  });

  it('is not an object whose run still exists', () => {
    expect(isLeftover({ metadata: { labels: labelled, annotations: record } }, exists('u-1'))).toBe(false);
  });

  it('is not an object a user labelled without an owner', () => {
    expect(isLeftover({ metadata: { labels: labelled } }, exists(undefined))).toBe(false);
  });

  it('is not an owned object without a run label', () => {
    expect(isLeftover({ metadata: { annotations: record } }, exists(undefined))).toBe(false);
  });

  it('is not a kept snapshot', () => {
    const kept = { metadata: { labels: { ...labelled, 'safehold.io/kept': 'true' }, annotations: record } };
    expect(isLeftover(kept, exists(undefined))).toBe(false);
  });
});
