// A volume's kept backups in one compact object (VolumeHistory), and the
// VolumeBackups they stand for. Each kept backup is one line of text:
//
//   <VolumeBackup name> <capture time> <restic snapshot id> key=value ...
//
// with only the fields that differ from nothing or from the history's own
// defaults (its newest backup's repository and policy). Readable with
// `kubectl get volumehistory -o yaml`, and about a twentieth of the
// VolumeBackup it replaces. The rest of Safehold reads kept backups as
// VolumeBackups (`keptBackups`), so retention, restore, coverage and the
// listings work the same over records and history.
import {
  snapshotIdOf,
  type CaptureMethod,
  type ChangeDetectionMode,
  type VolumeBackup,
  type VolumeBackupStatus,
  type VolumeHistory,
  type VolumeHistoryStatus,
} from '../api/index.ts';
import { annotations } from '../api/index.ts';
import { archivedEntry, escapeField as value, packArchive, unpackArchive } from './history-archive.ts';

/** On a VolumeBackup: its backup is in its volume's history (the run object is only a record now). */
export const recordedAnnotation = 'safehold.io/recorded';

type Block = NonNullable<VolumeBackupStatus['block']>;

/** One kept backup, as a history line holds it. */
export interface KeptEntry {
  name: string;
  /** When the data was captured (RFC 3339, seconds). */
  time: string;
  id: string;
  /** Seconds from capture to the run's completion, and from its start to completion. */
  done?: number;
  took?: number;
  trigger?: 'schedule' | 'catch-up' | 'manual';
  repository?: string;
  policy?: string;
  method?: CaptureMethod;
  changes?: ChangeDetectionMode;
  bytes?: number;
  added?: number;
  files?: { new: number; changed: number; unmodified: number; total: number };
  snapshotName?: string;
  snapshotPath?: string;
  block?: Block;
}

interface Defaults {
  repository?: string | undefined;
  policy?: string | undefined;
}

const seconds = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso) / 1000);
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** The history entry of a VolumeBackup: only a Succeeded run with a restic snapshot is a kept backup. */
export function entryOf(backup: VolumeBackup): KeptEntry | undefined {
  const s = backup.status;
  const id = snapshotIdOf(s);
  if (s?.phase !== 'Succeeded' || id === undefined) return undefined;
  const captured = seconds(s.snapshotTime ?? s.startTime ?? s.completionTime ?? backup.metadata.creationTimestamp);
  if (Number.isNaN(captured)) return undefined;
  const time = Math.floor(captured);
  const completed = seconds(s.completionTime);
  const started = seconds(s.startTime);
  return {
    name: backup.metadata.name,
    time: iso(time),
    id,
    ...(Number.isNaN(completed) ? {} : { done: Math.max(0, Math.round(completed - time)) }),
    ...(Number.isNaN(completed) || Number.isNaN(started) ? {} : { took: Math.max(0, Math.round(completed - started)) }),
    trigger: backup.spec.trigger,
    ...(s.repository === undefined ? {} : { repository: s.repository }),
    ...((s.policy ?? backup.spec.policy) === undefined ? {} : { policy: s.policy ?? backup.spec.policy }),
    ...(s.method === undefined ? {} : { method: s.method }),
    // Only the mode that can miss a change is worth a field; full is what a backup does unless asked.
    ...(s.changeDetection === undefined || s.changeDetection.mode === 'full'
      ? {}
      : { changes: s.changeDetection.mode }),
    ...(s.bytes === undefined ? {} : { bytes: s.bytes.total, added: s.bytes.added }),
    ...(s.files === undefined ? {} : { files: s.files }),
    ...(s.snapshotName === undefined ? {} : { snapshotName: s.snapshotName }),
    ...(s.snapshotPath === undefined ? {} : { snapshotPath: s.snapshotPath }),
    ...(s.block === undefined ? {} : { block: s.block }),
  };
}

const blockKeys = [
  ['image', 'file'],
  ['size', 'virtualSize'],
  ['data', 'dataBytes'],
  ['read', 'bytesRead'],
  ['from', 'extentsFrom'],
  ['rbd', 'rbdSnapshot'],
  ['parent', 'parent'],
  ['chain', 'chainLength'],
  ['full', 'fullBecause'],
  ['scan', 'scanBecause'],
] as const;
const numericBlockKeys = new Set(['virtualSize', 'dataBytes', 'bytesRead', 'chainLength']);

/** One history line. Fields equal to the history's defaults are left out. */
export function encodeEntry(entry: KeptEntry, defaults: Defaults): string {
  const fields: [string, string | number | undefined][] = [
    ['done', entry.done],
    ['took', entry.took],
    ['trigger', entry.trigger === 'schedule' ? undefined : (entry.trigger ?? 'none')],
    ['repo', entry.repository === defaults.repository ? undefined : (entry.repository ?? '')],
    ['policy', entry.policy === defaults.policy ? undefined : (entry.policy ?? '')],
    ['method', entry.method],
    ['changes', entry.changes],
    ['bytes', entry.bytes],
    ['added', entry.added],
    [
      'files',
      entry.files === undefined
        ? undefined
        : `${entry.files.new}/${entry.files.changed}/${entry.files.unmodified}/${entry.files.total}`,
    ],
    // A VolumeSnapshot named like its backup (as Safehold names them) is written as "*".
    ['vs', entry.snapshotName === entry.name ? '*' : entry.snapshotName],
    ['path', entry.snapshotPath],
    ...blockKeys.map(([key, field]): [string, string | number | undefined] => [key, entry.block?.[field]]),
  ];
  const parts = [value(entry.name), entry.time, value(entry.id)];
  for (const [key, v] of fields) if (v !== undefined) parts.push(`${key}=${value(v)}`);
  return parts.join(' ');
}

/** A history line back into its entry; undefined for a line that is not one (never written by Safehold). */
export function decodeEntry(line: string, defaults: Defaults): KeptEntry | undefined {
  const [name, time, id, ...rest] = line.split(' ');
  if (name === undefined || time === undefined || id === undefined || name === '' || id === '') return undefined;
  if (Number.isNaN(Date.parse(time))) return undefined;
  const entry: KeptEntry = { name: decodeURIComponent(name), time, id: decodeURIComponent(id), trigger: 'schedule' };
  if (defaults.repository !== undefined) entry.repository = defaults.repository;
  if (defaults.policy !== undefined) entry.policy = defaults.policy;
  const block: Record<string, string | number> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const key = part.slice(0, eq);
    const v = decodeURIComponent(part.slice(eq + 1));
    const number = Number(v);
    switch (key) {
      case 'done':
        entry.done = number;
        break;
      case 'took':
        entry.took = number;
        break;
      case 'trigger':
        if (v === 'none') delete entry.trigger;
        else entry.trigger = v as KeptEntry['trigger'];
        break;
      case 'repo':
        if (v === '') delete entry.repository;
        else entry.repository = v;
        break;
      case 'policy':
        if (v === '') delete entry.policy;
        else entry.policy = v;
        break;
      case 'method':
        entry.method = v as CaptureMethod;
        break;
      case 'changes':
        entry.changes = v as ChangeDetectionMode;
        break;
      case 'bytes':
        entry.bytes = number;
        break;
      case 'added':
        entry.added = number;
        break;
      case 'files': {
        const [n = 0, c = 0, u = 0, t = 0] = v.split('/').map(Number);
        entry.files = { new: n, changed: c, unmodified: u, total: t };
        break;
      }
      case 'vs':
        entry.snapshotName = v === '*' ? entry.name : v;
        break;
      case 'path':
        entry.snapshotPath = v;
        break;
      default: {
        const field = blockKeys.find(([k]) => k === key)?.[1];
        if (field === undefined) break; // a field a later Safehold added: ignored, not fatal
        block[field] = numericBlockKeys.has(field) ? number : v;
      }
    }
  }
  if (Object.keys(block).length > 0) entry.block = block as unknown as Block;
  return entry;
}

/** The VolumeBackup a kept entry stands for: Succeeded, with what the catalogue's readers use. */
export function backupOfEntry(history: VolumeHistory, entry: KeptEntry): VolumeBackup {
  const captured = Date.parse(entry.time) / 1000;
  const completed = entry.done === undefined ? undefined : captured + entry.done;
  const started = completed === undefined || entry.took === undefined ? undefined : completed - entry.took;
  const orphanedAt = history.metadata.annotations?.[annotations.orphanedAt];
  const status: VolumeBackupStatus = {
    phase: 'Succeeded',
    reason: 'Succeeded',
    ...(entry.policy === undefined ? {} : { policy: entry.policy }),
    ...(entry.repository === undefined ? {} : { repository: entry.repository }),
    ...(entry.method === undefined ? {} : { method: entry.method }),
    ...(started === undefined ? {} : { startTime: iso(started) }),
    ...(completed === undefined ? {} : { completionTime: iso(completed) }),
    snapshotTime: entry.time,
    ...(entry.changes === undefined ? {} : { changeDetection: { mode: entry.changes, reason: 'as recorded' } }),
    ...(entry.snapshotName === undefined ? {} : { snapshotName: entry.snapshotName }),
    ...(history.status?.volume === undefined ? {} : { volume: history.status.volume }),
    snapshotId: entry.id,
    ...(entry.snapshotPath === undefined ? {} : { snapshotPath: entry.snapshotPath }),
    ...(entry.files === undefined ? {} : { files: entry.files }),
    // An archived entry no longer knows the bytes its run added: left out, not zero.
    ...(entry.bytes === undefined
      ? {}
      : { bytes: { total: entry.bytes, ...(entry.added === undefined ? {} : { added: entry.added }) } }),
    ...(entry.block === undefined ? {} : { block: entry.block }),
  };
  return {
    metadata: {
      namespace: history.metadata.namespace,
      name: entry.name,
      creationTimestamp: iso(started ?? captured),
      ...(orphanedAt === undefined ? {} : { annotations: { [annotations.orphanedAt]: orphanedAt } }),
    },
    spec: {
      pvc: history.spec.pvc,
      trigger: entry.trigger ?? 'manual',
      ...(entry.policy === undefined ? {} : { policy: entry.policy }),
    },
    status,
  };
}

/** The entries of a history, newest first (lines that are not entries are left out). */
export function historyEntries(history: VolumeHistory | undefined): KeptEntry[] {
  const defaults = history?.status ?? {};
  const plain = (history?.status?.backups ?? []).flatMap((line) => decodeEntry(line, defaults) ?? []);
  const archive = history?.status?.archive;
  if (archive === undefined || plain.length === 0) return plain;
  // The archive holds the entries between the newest lines and the oldest one, the last line.
  const archived = unpackArchive(archive, (line) => decodeEntry(line, defaults));
  if (archived === undefined)
    throw new Error(
      `VolumeHistory ${history?.metadata.namespace ?? ''}/${history?.metadata.name ?? ''} status.archive is not an archive Safehold wrote`,
    );
  return [...plain.slice(0, -1), ...archived, ...plain.slice(-1)];
}

/** How many backups a history keeps, without opening its archive. */
export function historyLength(history: VolumeHistory | undefined): number {
  const lines = history?.status?.backups?.length ?? 0;
  return lines === 0 ? 0 : lines + (history?.status?.archived ?? 0);
}

/** The kept backups of a history, as VolumeBackups, newest first. */
export function keptBackups(history: VolumeHistory | undefined): VolumeBackup[] {
  if (history === undefined) return [];
  return historyEntries(history).map((entry) => backupOfEntry(history, entry));
}

/** Whether two restic snapshot ids, either perhaps shortened, are the same snapshot. */
export const sameSnapshot = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

/** A backup as the catalogue tells backups apart: by name and restic snapshot id. */
export interface BackupRef {
  name: string;
  id: string;
}

export const refOf = (backup: VolumeBackup): BackupRef => ({
  name: backup.metadata.name,
  id: snapshotIdOf(backup.status) ?? '',
});

/**
 * Whether a backup is among these: same name and same restic snapshot. A name alone is not enough
 * (once a run object is deleted, a new run may be given the same name), and an archived entry keeps
 * only the start of its id, so one id starting with the other is the same snapshot.
 */
export function backupSet(refs: Iterable<BackupRef>): { has(ref: BackupRef): boolean; add(ref: BackupRef): void } {
  const ids = new Map<string, string[]>();
  const add = ({ name, id }: BackupRef) => {
    const list = ids.get(name);
    if (list === undefined) ids.set(name, [id]);
    else list.push(id);
  };
  for (const ref of refs) add(ref);
  return {
    has: ({ name, id }) =>
      ids.get(name)?.some((other) => other === id || (id !== '' && other !== '' && sameSnapshot(id, other))) === true,
    add,
  };
}

/**
 * One volume's catalogue: its history's kept backups and its run objects. A run whose backup is
 * in the history is the same backup: the run object (richer, with its conditions) stands for it.
 */
export function volumeCatalogue(history: VolumeHistory | undefined, runs: readonly VolumeBackup[]): VolumeBackup[] {
  if (history === undefined || (history.status?.backups?.length ?? 0) === 0) return [...runs];
  const same = backupSet(runs.map(refOf));
  return [...runs, ...keptBackups(history).filter((b) => !same.has(refOf(b)))];
}

/** Lines kept plain at the head of a history: its newest backup (the oldest is the last line). */
export const plainNewest = 1;
/** A history is archived from this many entries on. */
export const archiveFrom = 6;

/**
 * The status a history holds for these entries: defaults from the newest, lines newest first. A
 * long history keeps its newest lines and its oldest plain and the ones between in its archive,
 * unless its backups are in several repositories (what coverage reads per repository stays plain).
 */
export function historyStatus(
  entries: readonly KeptEntry[],
  volume: VolumeHistoryStatus['volume'],
): VolumeHistoryStatus {
  const sorted = [...entries].sort((a, b) => b.time.localeCompare(a.time) || b.name.localeCompare(a.name));
  const newest = sorted[0];
  const defaults: Defaults = { repository: newest?.repository, policy: newest?.policy };
  const head = {
    ...(defaults.repository === undefined ? {} : { repository: defaults.repository }),
    ...(defaults.policy === undefined ? {} : { policy: defaults.policy }),
    ...(volume === undefined ? {} : { volume }),
  };
  const encode = (entry: KeptEntry) => encodeEntry(entry, defaults);
  if (sorted.length < archiveFrom || sorted.some((e) => e.repository !== defaults.repository))
    return { ...head, backups: sorted.map(encode) };
  const archived = sorted.slice(plainNewest, -1).map(archivedEntry);
  return {
    ...head,
    backups: [...sorted.slice(0, plainNewest), ...sorted.slice(-1)].map(encode),
    archived: archived.length,
    archive: packArchive(archived, encode),
  };
}

/**
 * Pure: the history after recording `runs` (Succeeded runs not yet in it, unless their snapshot is
 * `forgotten`) and dropping the entries whose restic snapshot is `forgotten`; undefined when that
 * changes nothing. The volume's shape follows its newest recorded run.
 */
export function nextHistory(
  history: VolumeHistory | undefined,
  runs: readonly VolumeBackup[],
  forgotten: readonly string[] = [],
): VolumeHistoryStatus | undefined {
  const gone = (id: string) => forgotten.some((f) => sameSnapshot(id, f));
  const entries = historyEntries(history);
  const names = backupSet(entries);
  const kept = entries.filter((e) => !gone(e.id));
  let volume = history?.status?.volume;
  let newestRun: KeptEntry | undefined;
  const added: KeptEntry[] = [];
  for (const run of runs) {
    const entry = entryOf(run);
    if (entry === undefined || names.has(entry) || gone(entry.id)) continue;
    added.push(entry);
    names.add(entry);
    if (newestRun === undefined || newestRun.time < entry.time) {
      newestRun = entry;
      if (run.status?.volume !== undefined) volume = run.status.volume;
    }
  }
  if (added.length === 0 && kept.length === entries.length) return undefined;
  const newestKept = kept.reduce<string>((t, e) => (e.time > t ? e.time : t), '');
  if (newestRun !== undefined && newestRun.time < newestKept) volume = history?.status?.volume ?? volume;
  return historyStatus([...kept, ...added], volume);
}

/** The repositories a history's backups are in (lines are decoded only when one names its own). */
export function historyRepositories(history: VolumeHistory): Set<string> {
  const lines = history.status?.backups ?? [];
  const repositories = new Set<string>();
  if (lines.length > 0 && history.status?.repository !== undefined) repositories.add(history.status.repository);
  if (lines.some((line) => line.includes(' repo=')))
    for (const entry of historyEntries(history)) if (entry.repository !== undefined) repositories.add(entry.repository);
  return repositories;
}

/** The catalogue of many volumes: each history's kept backups with its volume's runs, and the runs of volumes with none. */
export function catalogueOf(histories: readonly VolumeHistory[], runs: readonly VolumeBackup[]): VolumeBackup[] {
  const runsOf = new Map<string, VolumeBackup[]>();
  for (const run of runs) {
    const key = `${run.metadata.namespace}/${run.spec.pvc}`;
    const list = runsOf.get(key);
    if (list === undefined) runsOf.set(key, [run]);
    else list.push(run);
  }
  const all: VolumeBackup[] = [];
  for (const history of histories) {
    const key = `${history.metadata.namespace}/${history.spec.pvc}`;
    all.push(...volumeCatalogue(history, runsOf.get(key) ?? []));
    runsOf.delete(key);
  }
  for (const rest of runsOf.values()) all.push(...rest);
  return all;
}
