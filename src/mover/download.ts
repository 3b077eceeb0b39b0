// One download task: read one path of a backup for someone outside the
// cluster and upload it with a single PUT to the presigned URL the Job's
// Secret carries. A listing is the engine's listing of the path (recursive
// when the task asks for more than one level) as JSON lines of ListingEntry; a
// file is the engine's dump of it. Both are written to a temporary file first,
// since a presigned PUT needs the length up front; the file is always removed.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { moverEnv, type DownloadSummary, type DownloadTask, type ListingEntry } from '../api/index.ts';
import type { Repository, SnapshotEntry, SnapshotSource } from './engine.ts';
import type { Failure, Outcome } from './failure.ts';
import { entryAt, listingEntryOf } from './snapshot-entries.ts';
import { depthBelow, inSnapshot, normalVolumePath } from './snapshot-paths.ts';
import { uploadFile, withoutQuery } from './upload.ts';

export interface DownloadSteps {
  repository: Repository;
  /** The presigned PUT URL ($SAFEHOLD_UPLOAD_URL). */
  uploadUrl: string | undefined;
  /** Where the listing or file waits for its upload (the Job's emptyDir). */
  tempDir: string;
  /** $SSL_CERT_FILE: the CAs the engine trusts for the repository's endpoint, which the upload goes to too. */
  caFile?: string | undefined;
  log: (text: string) => void;
  warn: (text: string) => void;
  nowMs: () => number;
  signal?: AbortSignal | undefined;
  uploadIdleTimeoutMs: number;
}

/** Folders whose symlink targets a listing looks up, one engine command each. */
const linkFoldersLimit = 10;

export async function runDownload(task: DownloadTask, steps: DownloadSteps): Promise<DownloadSummary | Failure> {
  const started = steps.nowMs();
  const url = steps.uploadUrl;
  if (url === undefined || url === '') {
    return {
      type: 'error',
      code: 'InvalidTask',
      message: `${moverEnv.uploadUrl} is not set: a download needs the presigned URL to upload to`,
    };
  }
  const notCreated = "a download never creates one: check the URL of the backup's repository";
  const notReady = await steps.repository.prepare({ create: false, notCreated });
  if (notReady !== undefined) return notReady;

  let work: string;
  try {
    work = await mkdtemp(join(steps.tempDir, 'safehold-download-'));
  } catch (error) {
    return staging(`cannot make a folder in ${steps.tempDir}`, error);
  }
  try {
    const file = join(work, task.what === 'listing' ? 'listing.jsonl' : 'file');
    const made = task.what === 'listing' ? await writeListing(task, steps, file) : await dump(task, steps, file);
    if (!made.ok) return made.error;
    const uploaded = await upload(url, file, steps);
    if (!uploaded.ok) return uploaded.error;
    return {
      type: 'downloaded',
      snapshotId: made.value.snapshotId,
      what: task.what,
      bytes: uploaded.value,
      ...(made.value.entries === undefined ? {} : { entries: made.value.entries }),
      durationSeconds: (steps.nowMs() - started) / 1000,
    } satisfies DownloadSummary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The download could not be put where it waits for its upload (the Job's emptyDir at /tmp, full or missing). */
function staging(what: string, error: unknown): Failure {
  return {
    type: 'error',
    code: 'EngineFailed',
    message: `${what}: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/** One PUT of the file to the presigned URL; the bytes it took. */
async function upload(url: string, file: string, steps: DownloadSteps): Promise<Outcome<number>> {
  steps.log(`uploading ${(await stat(file)).size} bytes to ${withoutQuery(url)}`);
  const ca = steps.caFile === undefined ? undefined : await readFile(steps.caFile, 'utf8').catch(() => undefined);
  if (steps.caFile !== undefined && ca === undefined)
    steps.warn(`cannot read ${steps.caFile}: the upload trusts Node's CAs`);
  const put = await uploadFile(url, file, { signal: steps.signal, idleTimeoutMs: steps.uploadIdleTimeoutMs, ca });
  if (put.ok) return { ok: true, value: put.bytes };
  const expired = /HTTP 403/.test(put.reason) ? ': the presigned URL may have expired (a download has a ttl)' : '';
  return {
    ok: false,
    error: {
      type: 'error',
      code: 'UploadFailed',
      message: `the upload to ${withoutQuery(url)} failed: ${put.reason}${expired}`,
    },
  };
}

/**
 * The snapshot's own root, which restic ls never prints: a block volume's image is stored at
 * "/<file>", so its volume root is the snapshot root, a folder whatever the engine says of it.
 */
function snapshotRoot(snapshotFolder: string): SnapshotEntry | undefined {
  return snapshotFolder === '/' ? { type: 'dir', path: '/' } : undefined;
}

interface Made {
  snapshotId: string;
  entries?: number;
}

function notInSnapshot(task: DownloadTask, path: string): Failure {
  return {
    type: 'error',
    code: 'PathNotFound',
    message: `snapshot ${task.source.snapshotId} does not have ${path}`,
  };
}

/** The entries under the path, to the task's depth (the path's own entry when it is not a folder), as JSON lines. */
async function writeListing(task: DownloadTask, steps: DownloadSteps, file: string): Promise<Outcome<Made>> {
  const path = normalVolumePath(task.path);
  const folder = inSnapshot(task.source.snapshotPath, path);
  const found = await steps.repository.ls(task.source, [path], {
    recursive: task.depth > 1,
    keep: (entry) => {
      const depth = depthBelow(folder, entry.path);
      return depth >= 0 && depth <= task.depth;
    },
  });
  if (!found.ok) return found;
  const self = entryAt(found.value, task.source, path) ?? snapshotRoot(folder);
  if (self === undefined) return { ok: false, error: notInSnapshot(task, path) };
  const below = self.type === 'dir' ? found.value.entries.filter((entry) => entry !== self) : [self];
  const entries = below.flatMap((entry) => listingEntryOf(entry, task.source.snapshotPath) ?? []);

  // The full id from here on: a prefix could come to fit a newer snapshot too.
  const resolved = { ...task.source, snapshotId: found.value.snapshotId };
  const targets = await withLinkTargets(resolved, steps, entries);
  if (!targets.ok) return targets;
  try {
    await writeFile(file, targets.value.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  } catch (error) {
    return { ok: false, error: staging(`cannot write the listing to ${file}`, error) };
  }
  return { ok: true, value: { snapshotId: found.value.snapshotId, entries: entries.length } };
}

/** A listing leaves out where symlinks point; the engine tells it folder by folder. */
async function withLinkTargets(
  source: SnapshotSource,
  steps: DownloadSteps,
  entries: ListingEntry[],
): Promise<Outcome<ListingEntry[]>> {
  const folders = [...new Set(entries.filter((e) => e.type === 'symlink').map((e) => posix.dirname(e.path)))];
  if (folders.length > linkFoldersLimit) {
    steps.warn(
      `symlink targets are listed for the first ${linkFoldersLimit} of ${folders.length} folders holding symlinks`,
    );
  }
  const byFolder = new Map<string, Map<string, string>>();
  for (const folder of folders.slice(0, linkFoldersLimit)) {
    const targets = await steps.repository.linkTargets(source, folder);
    if (!targets.ok) return targets;
    byFolder.set(folder, targets.value);
  }
  return {
    ok: true,
    value: entries.map((entry) => {
      const target = byFolder.get(posix.dirname(entry.path))?.get(posix.basename(entry.path));
      return entry.type === 'symlink' && target !== undefined ? { ...entry, linkTarget: target } : entry;
    }),
  };
}

/** The file's bytes; a folder or a symlink is refused with what to ask for instead. */
async function dump(task: DownloadTask, steps: DownloadSteps, file: string): Promise<Outcome<Made>> {
  const path = normalVolumePath(task.path);
  const full = inSnapshot(task.source.snapshotPath, path);
  const found = await steps.repository.ls(task.source, [path], { keep: (entry) => entry.path === full });
  if (!found.ok) return found;
  const entry = entryAt(found.value, task.source, path) ?? snapshotRoot(full);
  if (entry === undefined) return { ok: false, error: notInSnapshot(task, path) };
  if (entry.type !== 'file') {
    const what = entry.type === 'dir' ? 'a folder' : `a ${entry.type}`;
    return {
      ok: false,
      error: {
        type: 'error',
        code: 'PathNotFound',
        message: `${path} in snapshot ${task.source.snapshotId} is ${what}, not a file: download a listing of it${entry.type === 'dir' ? ', or restore it' : ''}`,
      },
    };
  }
  const dumped = await steps.repository.dumpFile({
    source: task.source,
    snapshotId: found.value.snapshotId,
    path,
    file,
  });
  if (!dumped.ok) return dumped;
  return { ok: true, value: { snapshotId: found.value.snapshotId } };
}
