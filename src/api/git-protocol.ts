// The mover's Git task (ADR 0029): a Git repository mirrored and stored as one
// verified bundle; the URL forms it reads and how it signs in (the secrets
// reach it from the run's Secret, moverEnv.git*, never in the task or the URL).
import { z } from 'zod';
import { compressionModes } from './backup-repository.ts';
import { repositoryTarget } from './restic-target.ts';

/** The URL forms a git-backup reads: https://, http://, ssh://, file://, and scp-like user@host:path. */
const gitUrlForm = /^(?:(?:https?|ssh|file):\/\/[^\s]+|[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*:[^\s]+)$/;
const isUrlForm = (url: string) => /^[a-z]+:\/\//.test(url);

/** The Git remote a git-backup reads; a password never rides in it (the Job's task is readable: it goes in the Secret). */
export const gitUrl = z
  .string()
  .regex(gitUrlForm, 'a Git URL: https://, http://, ssh://, file:// or user@host:path')
  .refine((url) => !isUrlForm(url) || URL.canParse(url), 'a URL that parses')
  .refine(
    (url) => !isUrlForm(url) || !URL.canParse(url) || new URL(url).password === '',
    'no password in the URL: credentials come from the Secret',
  );

/**
 * How a git-backup signs in; the secrets come as environment variables from the run's Secret (moverEnv):
 * basic: GIT_USERNAME and GIT_PASSWORD (HTTP); ssh: GIT_SSH_KEY, and GIT_KNOWN_HOSTS to check the
 * server's key (without it, the key first seen is accepted).
 */
export const gitCredentials = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('basic') }),
  z.object({ kind: z.literal('ssh') }),
]);
export type GitCredentials = z.infer<typeof gitCredentials>;

/** Which credentials a Git URL takes: basic for http(s), ssh for ssh:// and user@host:path, none for file://. */
export function gitTransport(url: string): GitCredentials['kind'] | 'local' {
  if (/^https?:\/\//.test(url)) return 'basic';
  return url.startsWith('file://') ? 'local' : 'ssh';
}

/**
 * A Git repository (a GitOps source) stored as one complete bundle (`git bundle create --all`, every
 * ref and the objects they reach), a file named fileName at the snapshot's root, only once it verifies.
 */
export const gitBackupTask = z
  .object({
    kind: z.literal('git-backup'),
    repository: repositoryTarget,
    url: gitUrl,
    /** The bundle's name in the snapshot, e.g. flux-system.bundle. */
    fileName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    host: z.string().min(1),
    tags: z.array(z.string()),
    cacheDir: z.string().startsWith('/'),
    compression: z.enum(compressionModes).default('auto'),
    /** Absent: the remote is read anonymously. */
    credentials: gitCredentials.optional(),
  })
  .refine((task) => task.credentials === undefined || gitTransport(task.url) === task.credentials.kind, {
    path: ['credentials'],
    message: 'basic credentials go with an http(s) URL, ssh ones with ssh:// or user@host:path',
  });
export type GitBackupTask = z.infer<typeof gitBackupTask>;
