// One download task: read one path of a backup for someone outside the
// cluster and upload it with a single PUT to the presigned URL the Job's
// Secret carries. A listing is `restic ls --json` of the path (recursive when
// the task asks for more than one level) as JSON lines of ListingEntry; a file
// is `restic dump` of it. Both are written to a temporary file first, since a
// presigned PUT needs the length up front; the file is always removed.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  moverEnv,
  type DownloadSummary,
  type DownloadTask,
  type ListingEntry,
  type MoverError,
  type MoverResult,
} from '../api/index.ts';
import { prepareRepository, repositoryNames, type RepositorySteps } from './restic/repository.ts';
import { retryCannotHelp, type RepositoryNames } from './restic/failure.ts';
import { listingEntryOf, type SnapshotNode } from './restic/snapshot-listing.ts';
import {
  linkTargets,
  lookUp,
  nodeAt,
  snapshotError,
  type SnapshotSource,
  type Step,
} from './restic/snapshot-lookup.ts';
import { depthBelow, inSnapshot, normalVolumePath } from './snapshot-paths.ts';
import { uploadFile, withoutQuery } from './upload.ts';

export interface DownloadSteps extends RepositorySteps {
  /** The presigned PUT URL ($SAFEHOLD_UPLOAD_URL). */
  uploadUrl: string | undefined;
  /** Where the listing or file waits for its upload (the Job's emptyDir). */
  tempDir: string;
  /** $SSL_CERT_FILE: the CAs restic trusts for the repository's endpoint, which the upload goes to too. */
  caFile?: string | undefined;
  log: (text: string) => void;
  warn: (text: string) => void;
  nowMs: () => number;
  signal?: AbortSignal | undefined;
  uploadIdleTimeoutMs: number;
}

/** Folders whose symlink targets a listing looks up, one `restic cat tree` each. */
const linkFoldersLimit = 10;

export async function runDownload(task: DownloadTask, steps: DownloadSteps): Promise<MoverResult> {
  const started = steps.nowMs();
  const url = steps.uploadUrl;
  if (url === undefined || url === '') {
    return {
      type: 'error',
      code: 'InvalidTask',
      message: `${moverEnv.uploadUrl} is not set: a download needs the presigned URL to upload to`,
    };
  }
  const names: RepositoryNames = {
    ...repositoryNames(task.repository),
    notCreated: "a download never creates one: check the URL of the backup's repository",
  };
  const notReady = await prepareRepository({ ...task.repository, initialize: false }, steps, names);
  if (notReady !== undefined) return notReady;

  let work: string;
  try {
    work = await mkdtemp(join(steps.tempDir, 'safehold-download-'));
  } catch (error) {
    return staging(`cannot make a folder in ${steps.tempDir}`, error);
  }
  try {
    const file = join(work, task.what === 'listing' ? 'listing.jsonl' : 'file');
    const made =
      task.what === 'listing' ? await writeListing(task, steps, names, file) : await dump(task, steps, names, file);
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
function staging(what: string, error: unknown): MoverError {
  return {
    type: 'error',
    code: 'ResticFailed',
    message: `${what}: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/** One PUT of the file to the presigned URL; the bytes it took. */
async function upload(url: string, file: string, steps: DownloadSteps): Promise<Step<number>> {
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
 * "/<file>", so its volume root is the snapshot root, a folder whatever restic says of it.
 */
function snapshotRoot(snapshotFolder: string): SnapshotNode | undefined {
  return snapshotFolder === '/' ? { message_type: 'node', type: 'dir', path: '/' } : undefined;
}

interface Made {
  snapshotId: string;
  entries?: number;
}

function notInSnapshot(task: DownloadTask, path: string): MoverError {
  return {
    type: 'error',
    code: 'PathNotFound',
    message: `snapshot ${task.source.snapshotId} does not have ${path}`,
  };
}

/** The entries under the path, to the task's depth (the path's own entry when it is not a folder), as JSON lines. */
async function writeListing(
  task: DownloadTask,
  steps: DownloadSteps,
  names: RepositoryNames,
  file: string,
): Promise<Step<Made>> {
  const path = normalVolumePath(task.path);
  const folder = inSnapshot(task.source.snapshotPath, path);
  const found = await lookUp(steps, names, task.source, [path], {
    recursive: task.depth > 1,
    keep: (node) => {
      const depth = depthBelow(folder, node.path);
      return depth >= 0 && depth <= task.depth;
    },
  });
  if (!found.ok) return found;
  const self = nodeAt(found.value, task.source, path) ?? snapshotRoot(folder);
  if (self === undefined) return { ok: false, error: notInSnapshot(task, path) };
  const nodes = self.type === 'dir' ? found.value.nodes.filter((node) => node !== self) : [self];
  const entries = nodes.flatMap((node) => listingEntryOf(node, task.source.snapshotPath) ?? []);

  // The full id from here on: a prefix could come to fit a newer snapshot too.
  const resolved = { ...task.source, snapshotId: found.value.snapshotId };
  const targets = await withLinkTargets(resolved, steps, names, entries);
  if (!targets.ok) return targets;
  try {
    await writeFile(file, targets.value.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  } catch (error) {
    return { ok: false, error: staging(`cannot write the listing to ${file}`, error) };
  }
  return { ok: true, value: { snapshotId: found.value.snapshotId, entries: entries.length } };
}

/** restic ls leaves out where symlinks point; each folder's tree has it. */
async function withLinkTargets(
  source: SnapshotSource,
  steps: DownloadSteps,
  names: RepositoryNames,
  entries: ListingEntry[],
): Promise<Step<ListingEntry[]>> {
  const folders = [...new Set(entries.filter((e) => e.type === 'symlink').map((e) => posix.dirname(e.path)))];
  if (folders.length > linkFoldersLimit) {
    steps.warn(
      `symlink targets are listed for the first ${linkFoldersLimit} of ${folders.length} folders holding symlinks`,
    );
  }
  const byFolder = new Map<string, Map<string, string>>();
  for (const folder of folders.slice(0, linkFoldersLimit)) {
    const targets = await linkTargets(steps, names, source, folder);
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

/** The file's bytes (`restic dump --target`); a folder or a symlink is refused with what to ask for instead. */
async function dump(
  task: DownloadTask,
  steps: DownloadSteps,
  names: RepositoryNames,
  file: string,
): Promise<Step<Made>> {
  const path = normalVolumePath(task.path);
  const full = inSnapshot(task.source.snapshotPath, path);
  const found = await lookUp(steps, names, task.source, [path], { keep: (node) => node.path === full });
  if (!found.ok) return found;
  const node = nodeAt(found.value, task.source, path) ?? snapshotRoot(full);
  if (node === undefined) return { ok: false, error: notInSnapshot(task, path) };
  if (node.type !== 'file') {
    const what = node.type === 'dir' ? 'a folder' : `a ${node.type}`;
    return {
      ok: false,
      error: {
        type: 'error',
        code: 'PathNotFound',
        message: `${path} in snapshot ${task.source.snapshotId} is ${what}, not a file: download a listing of it${node.type === 'dir' ? ', or restore it' : ''}`,
      },
    };
  }
  const exit = await steps.restic(['dump', '--target', file, found.value.snapshotId, full], {
    stopWhen: retryCannotHelp,
  });
  if (exit.exitCode !== 0 || exit.stopped !== undefined) {
    return { ok: false, error: snapshotError(exit, names, task.source) };
  }
  return { ok: true, value: { snapshotId: found.value.snapshotId } };
}
