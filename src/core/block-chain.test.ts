import { describe, expect, it } from 'vitest';
import type { VolumeBackup } from '../api/index.ts';
import { chainOf, chooseIncremental, keepChainParents, splitRbdSnapshot } from './block-chain.ts';

const id = (n: number) => String(n).repeat(8).padEnd(64, 'a');

function backup(n: number, parent?: number, extra: Partial<NonNullable<VolumeBackup['status']>> = {}): VolumeBackup {
  return {
    metadata: { namespace: 'ns', name: `b${n}` },
    spec: { pvc: 'disk', trigger: 'manual' },
    status: {
      phase: 'Succeeded',
      snapshotId: id(n),
      snapshotTime: `2026-11-0${n}T00:00:00Z`,
      block: {
        file: 'disk.qcow2',
        virtualSize: 1,
        dataBytes: 1,
        bytesRead: 1,
        extentsFrom: 'rbd-diff',
        rbdSnapshot: `rbd/csi-vol-1@snap-${n}`,
        ...(parent === undefined ? {} : { parent: id(parent) }),
      },
      ...extra,
    },
  };
}

describe('chainOf', () => {
  it('walks parents to the full image, full first', () => {
    const all = [backup(1), backup(2, 1), backup(3, 2), backup(4)];
    expect(chainOf(all, id(3)).chain.map((b) => b.metadata.name)).toEqual(['b1', 'b2', 'b3']);
    expect(chainOf(all, id(4)).chain.map((b) => b.metadata.name)).toEqual(['b4']);
  });
  it('names a parent the catalogue lacks', () => {
    expect(chainOf([backup(2, 1), backup(3, 2)], id(3)).missing).toBe(id(1));
  });
});

describe('keepChainParents', () => {
  it('keeps every parent of a kept overlay, and only those', () => {
    const all = [backup(1), backup(2, 1), backup(3, 2), backup(4), backup(5, 4)];
    const verdicts = all.map((b) => ({
      entry: { id: b.status?.snapshotId ?? '', backup: b },
      keep: b.metadata.name === 'b3',
      reasons: b.metadata.name === 'b3' ? ['last'] : [],
    }));
    const kept = keepChainParents(verdicts).map((v) => [v.entry.backup.metadata.name, v.keep, v.reasons.join()]);
    expect(kept).toEqual([
      ['b1', true, `parent of ${id(3).slice(0, 8)}`],
      ['b2', true, `parent of ${id(3).slice(0, 8)}`],
      ['b3', true, 'last'],
      ['b4', false, ''],
      ['b5', false, ''],
    ]);
  });
});

describe('chooseIncremental', () => {
  const base = {
    image: 'rbd/csi-vol-1',
    snapshotsKept: new Set(['b1', 'b2', 'b3']),
    maxChainLength: 3,
    droppedByRetention: new Set<string>(),
  };
  it('overlays the newest backup whose snapshot is kept', () => {
    expect(chooseIncremental({ ...base, backups: [backup(1), backup(2, 1)] })).toEqual({
      kind: 'incremental',
      parent: id(2),
      fromSnapshot: 'snap-2',
      chainLength: 3,
    });
  });
  it.each([
    ['no backup yet', [], {}, undefined],
    ['the snapshot is gone', [backup(1)], { snapshotsKept: new Set<string>() }, 'VolumeSnapshot'],
    ['another image', [backup(1)], { image: 'rbd/csi-vol-2' }, 'another image'],
    ['the chain is full', [backup(1), backup(2, 1), backup(3, 2)], {}, 'maxChainLength 3'],
    ['retention drops the base', [backup(1), backup(2, 1)], { droppedByRetention: new Set([id(1)]) }, 'retention'],
    ['a parent is missing', [backup(2, 1)], { snapshotsKept: new Set(['b2']) }, 'misses snapshot'],
  ])('writes a full image when %s', (_, backups, overrides, because) => {
    const choice = chooseIncremental({ ...base, ...overrides, backups });
    expect(choice.kind).toBe('full');
    if (because === undefined) expect(choice).toEqual({ kind: 'full', because: undefined });
    else expect(choice.kind === 'full' ? choice.because : '').toContain(because);
  });
});

describe('splitRbdSnapshot', () => {
  it.each([
    ['rbd/img@s', { image: 'rbd/img', snapshot: 's' }],
    ['rbd/ns/img@csi-snap-1', { image: 'rbd/ns/img', snapshot: 'csi-snap-1' }],
    ['rbd/img', undefined],
    ['rbd/img@', undefined],
  ])('%s', (ref, expected) => expect(splitRbdSnapshot(ref)).toEqual(expected));
});
