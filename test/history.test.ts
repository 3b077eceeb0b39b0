// The catalogue grows with volumes, not with history: each backup is recorded
// in its volume's VolumeHistory (one object per volume), and its VolumeBackup
// is only a run record that goes after a while. An upgrade from a Safehold
// that kept VolumeBackups as its catalogue records them and deletes them; the
// backups stay listable, restorable by name and under retention, as before,
// also when their snapshot id is in the field earlier versions wrote.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeBackup, VolumeHistory } from '../src/api/index.ts';
import { archivedIdDigits, historyEntries, recordedAnnotation } from '../src/core/index.ts';
import { isForbidden, isNotFound, kinds, type KubeClient, type KubeObject } from '../src/kube/index.ts';
import {
  boundVolumePath,
  clientAs,
  createClaim,
  createNamespace,
  deleteNamespace,
  uniqueName,
  waitFor,
} from './support/cluster.ts';
import { backUpNow, installWithRepository, runOperatorHere, safehold, type OperatorHere } from './support/safehold.ts';

const system = 'safehold-system';

describe('the volume history', () => {
  let client: KubeClient;
  const id = uniqueName('hi');
  const bucket = `safehold-${id}`;
  const repoName = `repo-${id}`;
  const policyName = `policy-${id}`;
  let operator: OperatorHere | undefined;
  let ns = '';
  let one: VolumeBackup | undefined;
  let two: VolumeBackup | undefined;

  const history = () => client.get<VolumeHistory>(kinds.volumeHistory, { namespace: ns, name: 'data' });
  const runsOfData = async () =>
    (await client.list<VolumeBackup>(kinds.volumeBackup, { namespace: ns })).items.filter((b) => b.spec.pvc === 'data');
  const idsIn = (h: VolumeHistory) => (h.status?.backups ?? []).map((line) => line.split(' ')[2]);

  beforeAll(async () => {
    client = clientAs('admin');
    await installWithRepository(client, { system, id, bucket, repository: repoName });
    await client.create(kinds.backupPolicy, {
      metadata: { name: policyName },
      spec: {
        priority: 900,
        selector: { namespaceSelector: { matchLabels: { 'safehold.test/suite': id } } },
        repository: { name: repoName },
        schedule: { cron: '0 0 29 2 *', timeZone: 'UTC' },
        retention: { keepLast: 5 },
        retry: { limit: 0, deadline: '10m' },
      },
    } as KubeObject);
    ns = await createNamespace(client, 'history');
    await client.mergePatch(kinds.namespace, { name: ns }, { metadata: { labels: { 'safehold.test/suite': id } } });
    operator = await runOperatorHere(system, id);
    await createClaim(client, ns, 'data');
    const volume = await boundVolumePath(client, ns, 'data');
    writeFileSync(join(volume, 'note.txt'), 'the first version');
    one = await backUpNow(client, ns, 'data', 'one');
    writeFileSync(join(volume, 'note.txt'), 'the second version, longer');
    two = await backUpNow(client, ns, 'data', 'two');
  }, 600_000);

  afterAll(async () => {
    await operator?.stop();
    await client.delete(kinds.backupPolicy, { name: policyName }).catch(() => undefined);
    await client.delete(kinds.backupRepository, { name: repoName }).catch(() => undefined);
    if (ns !== '') await deleteNamespace(client, ns);
    client.close();
  });

  it("records each backup in its volume's history, newest first, and marks its run as recorded", async () => {
    await waitFor('both backups recorded', async () => idsIn(await history()).length === 2);
    const recorded = await history();
    expect(idsIn(recorded)).toEqual([two?.status?.snapshotId, one?.status?.snapshotId]);
    expect(recorded.spec.pvc).toBe('data');
    expect(recorded.status?.repository).toBe(repoName);
    expect(recorded.status?.volume?.capacity).toBe(two?.status?.volume?.capacity);
    await waitFor('both runs marked recorded', async () =>
      (await runsOfData()).every((b) => b.metadata.annotations?.[recordedAnnotation] === 'true'),
    );
    // A tenant reads it (the view role, by aggregation, which takes a moment) and cannot change it.
    await client.create(kinds.roleBinding, {
      metadata: { name: 'alice-view', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    } as KubeObject);
    const alice = clientAs('alice');
    try {
      await waitFor('alice may read the history', async () => {
        try {
          return (
            idsIn(await alice.get<VolumeHistory>(kinds.volumeHistory, { namespace: ns, name: 'data' })).length === 2
          );
        } catch (error) {
          if (isForbidden(error)) return false;
          throw error;
        }
      });
      await expect(
        alice.mergePatch(kinds.volumeHistory, { namespace: ns, name: 'data' }, { spec: { pvc: 'other' } }),
      ).rejects.toSatisfy(isForbidden);
    } finally {
      alice.close();
    }
  });

  it('upgrades VolumeBackups kept as the catalogue: records them, deletes them, and the backups list, restore by name and plan retention as before', async () => {
    // The API as a Safehold that kept VolumeBackups as its catalogue leaves it: no history, runs not recorded,
    // and each snapshot id in the field that version wrote (resticSnapshotId, before snapshotId).
    await operator?.stop();
    operator = undefined;
    await client.delete(kinds.volumeHistory, { namespace: ns, name: 'data' });
    for (const [name, backup] of [
      ['one', one],
      ['two', two],
    ] as const) {
      await client.mergePatch(
        kinds.volumeBackup,
        { namespace: ns, name },
        { metadata: { annotations: { [recordedAnnotation]: null } } },
      );
      await client.mergePatch(
        kinds.volumeBackup,
        { namespace: ns, name },
        { status: { snapshotId: null, resticSnapshotId: backup?.status?.snapshotId } },
        'status',
      );
    }
    await waitFor('the history is gone', async () => {
      try {
        await history();
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    });
    const before = (await safehold(['backups', `${ns}/data`, '-o', 'json'])).stdout;

    operator = await runOperatorHere(system, `${id}-2`, { keepRunsForMs: 1000 });
    await waitFor('the runs are recorded, then deleted', async () => (await runsOfData()).length === 0, {
      timeoutMs: 120_000,
    });
    expect(idsIn(await history())).toEqual([two?.status?.snapshotId, one?.status?.snapshotId]);

    // The listing reads the same from the history as it read from the runs.
    const after = await safehold(['backups', `${ns}/data`, '-o', 'json']);
    expect(after.code, after.stderr).toBe(0);
    const strip = (text: string) =>
      (JSON.parse(text) as Record<string, unknown>[]).map((row) => ({ ...row, age: undefined }));
    expect(strip(after.stdout)).toEqual(strip(before));
    expect(strip(after.stdout)).toHaveLength(2);

    // A restore by the VolumeBackup's name reads the backup its history keeps.
    const restored = await safehold([
      'restore',
      `${ns}/data`,
      '--backup',
      'one',
      '--no-snapshot',
      '--to',
      'back',
      '--wait',
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(await boundVolumePath(client, ns, 'back'), 'note.txt'), 'utf8')).toBe('the first version');

    // Retention plans the recorded backups: both kept by keepLast 5.
    const preview = await safehold(['retention', 'preview', `${ns}/data`]);
    expect(preview.code, preview.stderr).toBe(0);
    for (const backup of [one, two]) expect(preview.stdout).toContain(backup?.status?.snapshotId?.slice(0, 8));
    expect(preview.stdout).not.toMatch(/\bdrop\b/);
  });

  it('archives the backups between the newest and the oldest in the object, and an archived backup still lists, browses and restores by name', async () => {
    // Run records kept a day again, so each run is seen Succeeded before it goes.
    await operator?.stop();
    operator = await runOperatorHere(system, `${id}-3`);
    const volume = await boundVolumePath(client, ns, 'data');
    for (const name of ['three', 'four', 'five', 'six']) {
      writeFileSync(join(volume, 'note.txt'), `version ${name}`);
      await backUpNow(client, ns, 'data', name);
    }
    await waitFor('six backups recorded, four of them archived', async () => {
      const h = await history();
      return h.status?.archived === 4 && historyEntries(h).length === 6;
    });
    const h = await history();
    // Plain: the newest and the oldest; archived: two to five, with a shortened id.
    expect((h.status?.backups ?? []).map((line) => line.split(' ')[0])).toEqual(['six', 'one']);
    const twoId = two?.status?.snapshotId ?? '';
    expect(historyEntries(h).find((e) => e.name === 'two')?.id).toBe(twoId.slice(0, archivedIdDigits));

    const listed = await safehold(['backups', `${ns}/data`, '-o', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((row) => row.name).sort()).toEqual(
      ['five', 'four', 'one', 'six', 'three', 'two'].sort(),
    );
    // Asked for by its full id (as `restic snapshots` shows it), the archived backup is found.
    const ls = await safehold(['ls', `${ns}/data`, '--backup', twoId]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/ \/note\.txt$/m);
    const restored = await safehold([
      'restore',
      `${ns}/data`,
      '--backup',
      'two',
      '--no-snapshot',
      '--to',
      'back-two',
      '--wait',
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(await boundVolumePath(client, ns, 'back-two'), 'note.txt'), 'utf8')).toBe(
      'the second version, longer',
    );
  });
});
