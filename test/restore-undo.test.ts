// A restore into an existing PVC can be undone: before the mover writes,
// Safehold takes a VolumeSnapshot of the volume, names it in the restore's
// status, and keeps it for the time the spec says after the restore ends. A
// PVC made from it holds the volume as it was before the restore; once its
// time has passed it is deleted. Without one (turned off, here with the
// CLI), the status says so plainly; a keep time that keeps nothing is refused, naming the field.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeRestore } from '../src/api/index.ts';
import { isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import type { VolumeSnapshot } from '../testenv/storage/snapshot-types.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import {
  backUpNow,
  installWithRepository,
  runOperatorHere,
  safehold,
  waitForRun,
  type OperatorHere,
} from './support/safehold.ts';

const system = 'safehold-system';

describe('undoing a restore into an existing PVC', () => {
  let client: KubeClient;
  let alice: KubeClient;
  const id = uniqueName('ru');
  const repoName = `repo-${id}`;
  const policyName = `policy-${id}`;
  let operator: OperatorHere | undefined;
  let ns = '';
  let volume = '';

  beforeAll(async () => {
    client = clientAs('admin');
    alice = clientAs('alice');
    await installWithRepository(client, {
      system,
      id,
      bucket: `safehold-${id}`,
      repository: repoName,
      passwordInSecret: 'an explicit password',
    });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repoName },
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
        retry: { limit: 0, deadline: '10m' },
      },
    } as KubeObject);
    ns = await createNamespace(client, 'undo');
    await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
    await client.create(kinds.roleBinding, {
      metadata: { name: 'alice-admin', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as KubeObject);
    // A short sweep interval: an expired undo snapshot goes within a second, not within ten minutes.
    operator = await runOperatorHere(system, id, { sweepIntervalMs: 1000 });
    await createClaim(client, ns, 'data');
    volume = await boundVolumePath(client, ns, 'data');
    writeFileSync(join(volume, 'state.txt'), 'as backed up');
    await backUpNow(client, ns, 'data', 'monday');
    // After the backup, the volume changes: that is what the restore overwrites, and what undo brings back.
    writeFileSync(join(volume, 'state.txt'), 'changed after the backup');
    writeFileSync(join(volume, 'new.txt'), 'written after the backup');
  }, 600_000);

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policyName }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    if (ns !== '') await deleteNamespace(client, ns);
    alice.close();
    client.close();
  });

  const snapshotOf = (name: string) => client.get<VolumeSnapshot>(kinds.volumeSnapshot, { namespace: ns, name });

  it('takes a VolumeSnapshot first, names it in the status, keeps the bytes before the restore in it, and deletes it when its time has passed', async () => {
    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'back-to-monday', namespace: ns },
      spec: {
        source: { pvc: 'data' },
        backup: 'monday',
        target: { pvc: 'data', existing: true, keepUndoSnapshot: '40s' },
      },
    } as KubeObject);
    const done = await waitForRun<VolumeRestore>(alice, kinds.volumeRestore, ns, 'back-to-monday');
    const undo = done.status?.undoSnapshot;
    expect(undo?.name, JSON.stringify(done.status)).toMatch(/^back-to-monday-undo-/);
    expect(undo?.none).toBeUndefined();
    // Kept for its time after the restore ended.
    const expiresAt = Date.parse(undo?.expiresAt ?? '');
    const completion = Date.parse(done.status?.completionTime ?? '');
    expect(expiresAt - completion).toBe(40_000);
    expect(done.status?.message).toContain(`VolumeSnapshot ${undo?.name ?? ''}`);
    expect(done.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'UndoSnapshot', status: 'True', reason: 'UndoSnapshotTaken' }),
    );
    // The target holds the backup's bytes (a whole-volume restore also removed what the backup lacks)...
    expect(readFileSync(join(volume, 'state.txt'), 'utf8')).toBe('as backed up');
    expect(() => readFileSync(join(volume, 'new.txt'))).toThrow();
    // ...and the snapshot, ready, holds the volume as it was just before the restore.
    const snapshot = await snapshotOf(undo?.name ?? '');
    expect(snapshot.status?.readyToUse).toBe(true);
    expect(snapshot.spec.source.persistentVolumeClaimName).toBe('data');
    expect(snapshot.metadata.ownerReferences ?? []).toEqual([]);
    await createClaim(client, ns, 'data-before', { fromSnapshot: undo?.name ?? '' });
    const before = await boundVolumePath(client, ns, 'data-before');
    expect(readFileSync(join(before, 'state.txt'), 'utf8')).toBe('changed after the backup');
    expect(readFileSync(join(before, 'new.txt'), 'utf8')).toBe('written after the backup');

    // Deleting the VolumeRestore leaves the undo snapshot to its time...
    await alice.delete(kinds.volumeRestore, { namespace: ns, name: 'back-to-monday' });
    await waitFor('the VolumeRestore is gone', async () =>
      alice.get(kinds.volumeRestore, { namespace: ns, name: 'back-to-monday' }).then(
        () => false,
        (error: unknown) => isNotFound(error),
      ),
    );
    expect(Date.now()).toBeLessThan(expiresAt);
    expect((await snapshotOf(undo?.name ?? '')).metadata.deletionTimestamp).toBeUndefined();
    // ...and once that has passed, the sweep deletes it: an operator started since knows the time from the snapshot alone.
    await operator?.stop();
    operator = await runOperatorHere(system, `${id}-again`, { sweepIntervalMs: 1000 });
    await waitFor(
      'the undo snapshot is deleted after its time',
      async () =>
        snapshotOf(undo?.name ?? '').then(
          () => false,
          (error: unknown) => isNotFound(error),
        ),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    // The PVC made from it is the user's own and stays.
    expect(readFileSync(join(before, 'state.txt'), 'utf8')).toBe('changed after the backup');
  }, 300_000);

  it('says plainly when there is no undo snapshot, and refuses a keep time that keeps nothing, naming the field', async () => {
    const cli = await safehold(
      [
        'restore',
        `${ns}/data`,
        '--backup',
        'monday',
        '--to',
        'data',
        '--existing',
        '--keep-undo-snapshot',
        'none',
        '--wait',
      ],
      'alice',
    );
    expect(cli.code, `${cli.stdout}\n${cli.stderr}`).toBe(0);
    expect(cli.stdout).toContain('No undo snapshot: spec.target.keepUndoSnapshot is none');
    const name = /volumerestore \S+\/(\S+) created/.exec(cli.stdout)?.[1] ?? '';
    const done = await alice.get<VolumeRestore>(kinds.volumeRestore, { namespace: ns, name });
    expect(done.status?.undoSnapshot).toEqual({ none: 'spec.target.keepUndoSnapshot is none' });
    expect(done.status?.message).toContain('no undo snapshot: spec.target.keepUndoSnapshot is none');
    expect(done.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'UndoSnapshot', status: 'False', reason: 'NoUndoSnapshot' }),
    );
    const taken = (
      await client.list<VolumeSnapshot>(kinds.volumeSnapshot, {
        namespace: ns,
        query: { labelSelector: `safehold.io/restore=${name}` },
      })
    ).items;
    expect(taken).toEqual([]);

    await alice.create(kinds.volumeRestore, {
      metadata: { name: 'zero-keep', namespace: ns },
      spec: { source: { pvc: 'data' }, target: { pvc: 'data', existing: true, keepUndoSnapshot: '0s' } },
    } as KubeObject);
    const refused = await waitForRun<VolumeRestore>(alice, kinds.volumeRestore, ns, 'zero-keep', { outcome: 'Failed' });
    expect(refused.status?.reason).toBe('InvalidSpec');
    expect(refused.status?.message).toContain('spec.target.keepUndoSnapshot: 0s');
    await expect(
      alice.create(kinds.volumeRestore, {
        metadata: { name: 'soon', namespace: ns },
        spec: { source: { pvc: 'data' }, target: { pvc: 'data', existing: true, keepUndoSnapshot: 'soon' } },
      } as KubeObject),
    ).rejects.toThrow(/spec\.target\.keepUndoSnapshot/);
  }, 300_000);
});
