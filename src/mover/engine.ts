// The repository engine: what stores backups in a repository and reads them
// back. restic is the engine today (src/mover/restic). The mover's tasks use a
// repository through this interface alone, and only src/mover/engines.ts loads
// an engine (lint enforces both). An engine speaks the protocol's terms:
// progress as MoverProgress, results as the protocol's summaries, failures as
// a Failure that says what to fix. How it learns them (restic's --json lines,
// its exit codes and words) stays in its folder.
import type { Readable } from 'node:stream';
import type {
  BackupSummary,
  MaintenanceSummary,
  MoverProgress,
  RepositoryTarget,
  RestoreSummary,
  RestoreTask,
} from '../api/index.ts';
import type { CompressionLevel } from './compression-choice.ts';
import type { ProbeResult } from './endpoint-probe.ts';
import type { Failure, Outcome } from './failure.ts';

export interface RepositoryEngine {
  readonly name: string;
  /** The repository a task names; nothing runs until a method is called, prepare first. */
  open(settings: EngineSettings): Repository;
}

export interface EngineSettings {
  repository: RepositoryTarget;
  /** The engine's cache, on a volume that outlives the mover. */
  cacheDir: string;
  /** The repository's password. */
  password: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** The engine's program. */
  binary: string;
  /** What the program may take from the mover's environment (inheritedEnvNames). */
  inheritedEnv: Readonly<Record<string, string>>;
  /** Aborts when the Pod is asked to stop; the engine stops its program cleanly. */
  signal?: AbortSignal | undefined;
  /** A quick look at an endpoint, before a program spends minutes retrying it. */
  probe: (endpoint: string) => Promise<ProbeResult>;
  /** The most opening the repository may take, retries included. */
  openTimeoutMs: number;
  now: () => Date;
  /** A line for people reading the mover's log (the engine's own words among them). */
  log: (text: string) => void;
  warn: (text: string) => void;
}

/** Where an engine reports how far a command is, and that it has ended (what was held back is then printed). */
export interface ProgressReporter {
  report(progress: MoverProgress): void;
  done(): void;
}

/** A backup as the task names it: an id or a unique prefix, and the folder in it that held the volume. */
export type SnapshotSource = RestoreTask['source'];

/** One entry of a snapshot: its path in the snapshot, what it is (as the engine names it), its metadata. */
export interface SnapshotEntry {
  path: string;
  type: string;
  size?: number | undefined;
  /** Permission bits as chmod takes them (setuid, setgid and sticky included). */
  mode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
  mtime?: string | undefined;
  atime?: string | undefined;
}

export interface Listing {
  /** The snapshot's full id. */
  snapshotId: string;
  /** Each path asked for, then what is in it, in the engine's order (those `keep` kept). */
  entries: SnapshotEntry[];
}

export interface SnapshotInfo {
  id: string;
  paths: string[];
  tags: string[];
}

interface NewSnapshot {
  host: string;
  tags: readonly string[];
  /** How the engine compresses what it stores. */
  compression: CompressionLevel;
  /** Whether the engine checks each piece against its hash before it uploads it. */
  verifyBeforeUpload: boolean;
  /** The time the data was captured, in UTC: "YYYY-MM-DD HH:MM:SS" and the fraction as the task wrote it (snapshot-time.ts). */
  time?: string | undefined;
}

export interface FolderBackup extends NewSnapshot {
  path: string;
  changeDetection: 'inode' | 'mtime-size';
  /**
   * The snapshot whose unchanged files are taken without reading them: absent, the engine's own choice
   * (restic: the latest of the same host and path); 'none': every file read.
   */
  parent?: { kind: 'snapshot'; id: string } | { kind: 'none' } | undefined;
}

/** One file, the stdout of a command the engine runs (a block volume's QCOW2 image). */
export interface StreamBackup extends NewSnapshot {
  fileName: string;
  command: readonly string[];
}

export interface FolderRestore {
  source: SnapshotSource;
  targetPath: string;
  /** Volume paths, normalized, none under another ([] for the whole volume). */
  paths: readonly string[];
  /** Delete what the target has and the snapshot does not, within the paths. */
  deleteExtra: boolean;
  /**
   * Read each restored file back and compare it with the backup's hashes; the counts then carry
   * `verified`, and a difference, or data the engine cannot read, fails the restore as Unverified.
   */
  verify: boolean;
}

/** The RestoreSummary without the snapshot id and the duration, which the mover knows. */
export type RestoreCounts = Omit<RestoreSummary, 'snapshotId' | 'durationSeconds'>;
export type Pruned = NonNullable<MaintenanceSummary['prune']>;
export type Checked = NonNullable<MaintenanceSummary['check']>;

export interface Repository {
  /**
   * Ready for the task: reachable, created when `create` allows, stale locks gone; undefined when
   * ready. notCreated says why a missing repository is not created, in every failure that finds none.
   * onFirstUse: only reachable here; the task's first command creates a missing repository (when
   * `create` allows) or clears stale locks only when it finds it must, and runs again. For tasks
   * whose commands read nothing before they open the repository (a folder's backup, a restore):
   * an engine's separate opening costs it a start each (restic: a key derivation, about 0.6 s).
   */
  prepare(options: {
    create: boolean;
    notCreated?: string | undefined;
    onFirstUse?: boolean | undefined;
  }): Promise<Failure | undefined>;
  backupFolder(backup: FolderBackup, progress: ProgressReporter): Promise<Outcome<BackupSummary>>;
  backupStream(backup: StreamBackup, progress: ProgressReporter): Promise<Outcome<BackupSummary>>;
  restore(restore: FolderRestore, progress: ProgressReporter): Promise<Outcome<RestoreCounts>>;
  /**
   * Whether restore gives the target folder the owner, mode and times of the snapshot's folder
   * itself (else the mover sets them from a listing). A question about the arguments alone.
   */
  restoresFolderItself(restore: FolderRestore): boolean;
  /** The volume paths' entries and what is in them (all below, when recursive); keep says which to hold on to. */
  ls(
    source: SnapshotSource,
    paths: readonly string[],
    options?: { recursive?: boolean; keep?: (entry: SnapshotEntry) => boolean },
  ): Promise<Outcome<Listing>>;
  /** Where the symlinks in one volume folder point, by name. */
  linkTargets(source: SnapshotSource, folder: string): Promise<Outcome<Map<string, string>>>;
  /** One file's bytes into `file`; snapshotId is the full id a listing of source found. */
  dumpFile(dump: { source: SnapshotSource; snapshotId: string; path: string; file: string }): Promise<Outcome<void>>;
  /** One file's bytes, streamed to consume; a failure's message is the engine's own words, for the caller to place. */
  dumpStream<T>(snapshotId: string, path: string, consume: (bytes: Readable) => Promise<T>): Promise<Outcome<T>>;
  /** undefined when there is none; `named`: the task names it, so a failure says it is not there. */
  findSnapshot(id: string, options: { named: boolean }): Promise<Outcome<SnapshotInfo | undefined>>;
  /** The latest snapshot of this host holding this path; undefined when there is none. */
  latestSnapshot(filter: { host: string; path: string }): Promise<Outcome<SnapshotInfo | undefined>>;
  /** The full ids of every snapshot. */
  snapshotIds(): Promise<Outcome<string[]>>;
  /** Forgets snapshots by full id (their data stays until prune). */
  forget(ids: readonly string[]): Promise<Outcome<void>>;
  prune(): Promise<Outcome<Pruned>>;
  /** Damage found is a Checked that is not ok; a check that could not run is a failure. */
  check(readDataSubset: string | undefined): Promise<Outcome<Checked>>;
  /** The stored size of the data snapshots use; undefined (with a warning) when the engine cannot tell. */
  size(): Promise<number | undefined>;
}
