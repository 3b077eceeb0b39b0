// Which kept backup a restore or a download reads, chosen from the catalogue
// (the Succeeded VolumeBackups of the source volume): the newest, one by restic
// id or VolumeBackup name, or the newest captured at or before a time. And
// whether a namespace may read another namespace's backups at all.
import { restoreToAnnotation, type ChosenBackup, type VolumeBackup, snapshotIdOf } from '../api/index.ts';

export interface BackupQuestion {
  namespace: string;
  pvc: string;
  /** "latest", a restic snapshot id (or prefix), or a VolumeBackup name. */
  backup: string;
  asOf?: string | undefined;
}

export type BackupAnswer = { ok: true; backup: ChosenBackup } | { ok: false; message: string };

/** The time a backup's data was captured (falls back to when it finished, for backups made before it was recorded). */
export function captureTime(backup: VolumeBackup): string | undefined {
  return backup.status?.snapshotTime ?? backup.status?.completionTime;
}

function captureMs(backup: VolumeBackup): number {
  const ms = Date.parse(captureTime(backup) ?? '');
  return Number.isNaN(ms) ? -Infinity : ms;
}

export function chooseBackup(catalogue: readonly VolumeBackup[], question: BackupQuestion): BackupAnswer {
  const volume = `${question.namespace}/${question.pvc}`;
  const kept = catalogue
    .filter(
      (b) =>
        b.metadata.namespace === question.namespace &&
        b.spec.pvc === question.pvc &&
        b.status?.phase === 'Succeeded' &&
        snapshotIdOf(b.status) !== undefined &&
        b.status.repository !== undefined,
    )
    .sort((a, b) => captureMs(b) - captureMs(a));
  if (kept.length === 0) return { ok: false, message: `${volume} has no successful backup` };
  let found: VolumeBackup | undefined;
  if (question.backup === 'latest') {
    if (question.asOf === undefined) found = kept[0];
    else {
      const limit = Date.parse(question.asOf);
      if (Number.isNaN(limit)) return { ok: false, message: `asOf ${question.asOf} is not an RFC 3339 time` };
      found = kept.find((b) => captureMs(b) <= limit);
      if (found === undefined) {
        const oldest = captureTime(kept.at(-1) as VolumeBackup) ?? 'of unknown time';
        return {
          ok: false,
          message: `${volume} has no backup captured at or before ${question.asOf} (the oldest is ${oldest})`,
        };
      }
    }
  } else {
    const byName = kept.find((b) => b.metadata.name === question.backup);
    const byId = /^[0-9a-f]{8,64}$/.test(question.backup)
      ? kept.filter((b) => {
          // An archived entry keeps the start of its id: a full id asked for still finds it.
          const id = snapshotIdOf(b.status) ?? '';
          return id !== '' && (id.startsWith(question.backup) || question.backup.startsWith(id));
        })
      : [];
    if (byName === undefined && byId.length > 1)
      return {
        ok: false,
        message: `snapshot id ${question.backup} is ambiguous: ${byId.length} backups of ${volume} start with it`,
      };
    found = byName ?? byId[0];
    if (found === undefined)
      return {
        ok: false,
        message: `${volume} has no kept backup "${question.backup}" (a restic snapshot id or VolumeBackup name; see safehold backups ${volume})`,
      };
  }
  if (found === undefined) return { ok: false, message: `${volume} has no successful backup` };
  const status = found.status ?? {};
  return {
    ok: true,
    backup: {
      name: found.metadata.name,
      namespace: found.metadata.namespace,
      pvc: found.spec.pvc,
      snapshotId: snapshotIdOf(status) ?? '',
      ...(captureTime(found) === undefined ? {} : { snapshotTime: captureTime(found) }),
      repository: status.repository ?? '',
      ...(status.snapshotPath === undefined ? {} : { snapshotPath: status.snapshotPath }),
      ...(status.block === undefined ? {} : { image: status.block.file }),
    },
  };
}

/**
 * Whether a run in `reader` may read the backups of `owner`'s volumes: always its own; another
 * namespace's only where that Namespace's annotation names it. undefined when allowed, else why not.
 */
export function readRefusal(
  owner: string,
  reader: string,
  ownerAnnotations: Record<string, string> | undefined,
): string | undefined {
  if (owner === reader) return undefined;
  const allowed = (ownerAnnotations?.[restoreToAnnotation] ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (allowed.includes('*') || allowed.includes(reader)) return undefined;
  return `namespace ${owner} does not allow ${reader} to read its backups (an admin can annotate namespace ${owner} with ${restoreToAnnotation}: "${reader}")`;
}
