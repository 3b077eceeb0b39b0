// A Git repository (a GitOps source) into the repository as one complete
// bundle: a mirror clone (every ref, not only branches), `git bundle create
// --all`, and the bundle checked before anything is stored: it must verify in
// an empty repository (it needs no objects from elsewhere) and hold every ref
// the mirror has. The engine then stores it as one file at the snapshot's root,
// as a dump is stored. The work folder (mirror, bundle, SSH key) is removed
// whatever happens; a Pod that dies takes its emptyDir with it.
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupSummary, GitBackupTask } from '../api/index.ts';
import type { BackupSteps } from './backup.ts';
import { compressionFor } from './compression-choice.ts';
import type { Failure, Outcome } from './failure.ts';
import {
  displayGitUrl,
  gitAccess,
  gitEnv,
  gitRedactor,
  gitSaid,
  runGit,
  unreadableRemote,
  type GitExit,
  type GitSecrets,
} from './git-remote.ts';
import { throttledProgress } from './progress-throttle.ts';

export interface GitBackupSteps extends BackupSteps {
  /** From the run's Secret: what the task's credentials need. */
  secrets: GitSecrets;
  /** What git may take from the mover's environment (inheritedEnvNames). */
  inheritedEnv: Readonly<Record<string, string>>;
  tempDir: string;
  signal?: AbortSignal | undefined;
}

/** The bundle made and checked: its path, size and the refs it holds (HEAD not counted). */
interface Bundle {
  file: string;
  bytes: number;
  refs: string[];
}

export async function runGitBackup(task: GitBackupTask, steps: GitBackupSteps): Promise<BackupSummary | Failure> {
  const notReady = await steps.repository.prepare({ create: task.repository.initialize });
  if (notReady !== undefined) return notReady;
  const dir = await mkdtemp(join(steps.tempDir, 'git-'));
  try {
    const ssh = await gitAccess(task.url, task.credentials, steps.secrets, dir);
    if (!ssh.ok) return ssh.error;
    const env = gitEnv(task.credentials, steps.secrets, steps.inheritedEnv, ssh.value);
    const redact = gitRedactor(steps.secrets);
    const git = (args: string[], cwd?: string) => runGit(args, { env, cwd, signal: steps.signal });
    const shown = displayGitUrl(task.url);

    const mirror = join(dir, 'mirror.git');
    steps.log(`cloning ${shown} (mirror)`);
    const cloned = await git(['clone', '--mirror', '--quiet', '--', task.url, mirror]);
    if (cloned.exitCode !== 0) return stopped(cloned) ?? unreadableRemote(task.url, task.credentials, cloned, redact);

    // In a folder of its own: a fileName such as mirror.git must not meet the work folder's other names.
    await mkdir(join(dir, 'bundle'));
    const made = await makeBundle(mirror, join(dir, 'bundle', task.fileName), join(dir, 'empty.git'), git, redact);
    if (!made.ok) return made.error;
    const bundle = made.value;
    steps.log(`bundled ${bundle.refs.length} refs of ${shown} (${countOf(bundle.refs)}), ${bundle.bytes} bytes`);

    const saved = await steps.repository.backupStream(
      {
        host: task.host,
        tags: task.tags,
        fileName: task.fileName,
        command: ['cat', '--', bundle.file],
        compression: compressionFor(task.compression, undefined),
        verifyBeforeUpload: true,
      },
      throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress),
    );
    if (!saved.ok) return saved.error;
    return { ...saved.value, git: { refs: bundle.refs.length } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function makeBundle(
  mirror: string,
  file: string,
  empty: string,
  git: (args: string[], cwd?: string) => Promise<GitExit>,
  redact: (text: string) => string,
): Promise<Outcome<Bundle>> {
  const failed = (what: string, exit?: GitExit): Outcome<Bundle> => ({
    ok: false,
    error: stopped(exit) ?? {
      type: 'error',
      code: 'DumpFailed',
      message: `bundle not stored: ${what}${exit === undefined ? '' : ` (git: ${redact(gitSaid(exit))})`}`,
    },
  });
  const listed = await git(['for-each-ref', '--format=%(refname)'], mirror);
  if (listed.exitCode !== 0) return failed('the mirror clone cannot list its refs', listed);
  const mirrored = lines(listed.stdout);
  if (mirrored.length === 0) return failed('the Git repository has no branches or tags: there is nothing to bundle');

  const created = await git(['bundle', 'create', '--quiet', file, '--all'], mirror);
  if (created.exitCode !== 0) return failed('git bundle create failed', created);
  // In an empty repository, a bundle that verifies needs nothing from elsewhere: it is complete.
  const initialized = await git(['init', '--bare', '--quiet', empty]);
  if (initialized.exitCode !== 0) return failed('git init failed', initialized);
  const verified = await git(['bundle', 'verify', '--quiet', file], empty);
  if (verified.exitCode !== 0) return failed('the bundle does not verify', verified);

  const heads = await git(['bundle', 'list-heads', file], empty);
  if (heads.exitCode !== 0) return failed('the bundle cannot list its refs', heads);
  const refs = lines(heads.stdout)
    .map((line) => line.slice(line.indexOf(' ') + 1))
    .filter((ref) => ref !== 'HEAD');
  const held = new Set(refs);
  const lacking = mirrored.filter((ref) => !held.has(ref));
  if (lacking.length > 0)
    return failed(`the bundle lacks ${lacking.length} of the repository's refs (${lacking.slice(0, 5).join(', ')})`);
  return { ok: true, value: { file, bytes: (await stat(file)).size, refs } };
}

/** Why git did not run at all, when that is why it failed. */
function stopped(exit: GitExit | undefined): Failure | undefined {
  switch (exit?.failed) {
    case undefined:
      return undefined;
    case 'missing':
      return { type: 'error', code: 'DumpFailed', message: 'git is not installed in the mover image' };
    case 'stopped':
      return {
        type: 'error',
        code: 'Interrupted',
        message: 'git was stopped by a signal to the mover: its Pod was deleted, evicted or reached its deadline',
      };
  }
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

/** "3 branches, 2 tags, 1 other", as the log says it. */
function countOf(refs: readonly string[]): string {
  const branches = refs.filter((ref) => ref.startsWith('refs/heads/')).length;
  const tags = refs.filter((ref) => ref.startsWith('refs/tags/')).length;
  const other = refs.length - branches - tags;
  return [`${branches} branches`, `${tags} tags`, ...(other > 0 ? [`${other} other`] : [])].join(', ');
}
