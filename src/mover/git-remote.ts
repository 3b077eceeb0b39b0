// How the mover reads a Git remote (a git-backup's source). git runs in an
// environment built from the task alone: no system or user config, no prompt,
// only the transports a task may name. Credentials reach git through that
// environment: a credential helper that prints $GIT_USERNAME and $GIT_PASSWORD,
// or an SSH key written to a file; never a command line or a URL. git's
// failures become messages that say what to fix, with the URL's user info and
// every secret taken out.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { moverEnv, type GitCredentials } from '../api/index.ts';
import type { Failure, Outcome } from './failure.ts';
import { secretRedactor } from './secrets.ts';

/** The Git server's secrets, as the run's Secret gives them (moverEnv.git*). */
export interface GitSecrets {
  username?: string | undefined;
  password?: string | undefined;
  sshKey?: string | undefined;
  knownHosts?: string | undefined;
}

/** Files an ssh remote needs, in the task's work folder (mode 0600). */
export interface SshFiles {
  key: string;
  knownHosts: string;
  /** Whether known hosts came with the Secret: then only they are trusted. */
  strict: boolean;
}

/** The remote's URL as messages name it: without user info (a token may hide there). */
export function displayGitUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1');
}

/** The texts no output may carry: the password, the SSH key, and each of the key's lines, should one be quoted alone. */
export function gitSecretValues(secrets: GitSecrets): string[] {
  const key = secrets.sshKey ?? '';
  const keyLines = key
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.includes('-----'));
  return [secrets.password ?? '', key.trim(), ...keyLines].filter((value) => value !== '');
}

/** What hides the Git secrets and any URL's user info in git's words. */
export function gitRedactor(secrets: GitSecrets): (text: string) => string {
  const redact = secretRedactor(gitSecretValues(secrets));
  return (text) => displayGitUrl(redact(text));
}

const quoted = (path: string) => `'${path.replaceAll("'", `'\\''`)}'`;

/** The ssh git runs: this key alone, these known hosts alone, never a prompt. */
export function sshCommand(files: SshFiles): string {
  return [
    'ssh -F /dev/null',
    `-i ${quoted(files.key)}`,
    '-o IdentitiesOnly=yes',
    '-o BatchMode=yes',
    `-o StrictHostKeyChecking=${files.strict ? 'yes' : 'accept-new'}`,
    `-o UserKnownHostsFile=${quoted(files.knownHosts)}`,
    '-o ConnectTimeout=30',
    '-o ServerAliveInterval=15',
  ].join(' ');
}

/** Prints the HTTP credentials from git's environment when git asks (`get`); holds no secret itself. */
const credentialHelper = `!f() { if test "$1" = get; then printf 'username=%s\\npassword=%s\\n' "$${moverEnv.gitUsername}" "$${moverEnv.gitPassword}"; fi; }; f`;

/** The environment every git command of a task runs in (config through GIT_CONFIG_*: none on a command line). */
export function gitEnv(
  credentials: GitCredentials | undefined,
  secrets: GitSecrets,
  inheritedEnv: Readonly<Record<string, string>>,
  ssh: SshFiles | undefined,
): Record<string, string> {
  const config: [string, string][] = [
    // A transfer slower than 1 KiB/s for two minutes is a stall, not a slow server.
    ['http.lowSpeedLimit', '1024'],
    ['http.lowSpeedTime', '120'],
    ['credential.helper', ''],
    ...(credentials?.kind === 'basic' ? [['credential.helper', credentialHelper] as [string, string]] : []),
  ];
  return {
    ...inheritedEnv,
    ...(inheritedEnv.SSL_CERT_FILE === undefined ? {} : { GIT_SSL_CAINFO: inheritedEnv.SSL_CERT_FILE }),
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: 'http:https:ssh:file',
    GIT_CONFIG_COUNT: String(config.length),
    ...Object.fromEntries(
      config.flatMap(([key, value], i) => [
        [`GIT_CONFIG_KEY_${i}`, key],
        [`GIT_CONFIG_VALUE_${i}`, value],
      ]),
    ),
    ...(credentials?.kind === 'basic'
      ? { [moverEnv.gitUsername]: secrets.username ?? '', [moverEnv.gitPassword]: secrets.password ?? '' }
      : {}),
    ...(ssh === undefined ? {} : { GIT_SSH_COMMAND: sshCommand(ssh), GIT_SSH_VARIANT: 'ssh' }),
  };
}

/** The secrets the task's credentials need are in the Secret; for ssh, the key and known hosts written under dir. */
export async function gitAccess(
  url: string,
  credentials: GitCredentials | undefined,
  secrets: GitSecrets,
  dir: string,
): Promise<Outcome<SshFiles | undefined>> {
  const missing = (names: string[]): Outcome<SshFiles | undefined> => ({
    ok: false,
    error: {
      type: 'error',
      code: 'SourceMissing',
      message: `the task reads ${displayGitUrl(url)} with ${credentials?.kind ?? ''} credentials, but ${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} empty: the Git repository's Secret must hold them`,
    },
  });
  switch (credentials?.kind) {
    case undefined:
      return { ok: true, value: undefined };
    case 'basic': {
      const empty = [
        ...(secrets.username ? [] : [moverEnv.gitUsername]),
        ...(secrets.password ? [] : [moverEnv.gitPassword]),
      ];
      return empty.length > 0 ? missing(empty) : { ok: true, value: undefined };
    }
    case 'ssh': {
      if (!secrets.sshKey) return missing([moverEnv.gitSshKey]);
      const ssh = join(dir, 'ssh');
      await mkdir(ssh, { mode: 0o700 });
      const files: SshFiles = {
        key: join(ssh, 'key'),
        knownHosts: join(ssh, 'known_hosts'),
        strict: !!secrets.knownHosts,
      };
      // ssh refuses a key whose last line has no newline, as a Secret's value often does.
      await writeFile(files.key, secrets.sshKey.endsWith('\n') ? secrets.sshKey : `${secrets.sshKey}\n`, {
        mode: 0o600,
      });
      await writeFile(files.knownHosts, secrets.knownHosts ?? '', { mode: 0o600 });
      return { ok: true, value: files };
    }
  }
}

export interface GitExit {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** git could not start (not installed), or was stopped by the mover's signal. */
  failed?: 'missing' | 'stopped';
}

/** One git command to its end; stdout and stderr kept whole (a bundle's ref list, an error). */
export function runGit(
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string | undefined; signal?: AbortSignal | undefined },
): Promise<GitExit> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { env: options.env, cwd: options.cwd, signal: options.signal, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ exitCode: 0, stdout, stderr });
        const failed = error.name === 'AbortError' ? 'stopped' : error.code === 'ENOENT' ? 'missing' : undefined;
        const exitCode = typeof error.code === 'number' ? error.code : null;
        resolve({ exitCode, stdout, stderr, ...(failed === undefined ? {} : { failed }) });
      },
    );
  });
}

/** git's last lines of stderr, as one line for a message. */
export function gitSaid(exit: GitExit, lines = 5): string {
  const said = exit.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('hint:'));
  return said.length === 0
    ? `it printed nothing (exit code ${exit.exitCode ?? 'none'})`
    : said.slice(-lines).join(' / ');
}

const hints: { pattern: RegExp; hint: (kind: GitCredentials['kind'] | undefined) => string }[] = [
  {
    pattern: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/,
    hint: () => `its SSH host key is not one of the known hosts (${moverEnv.gitKnownHosts})`,
  },
  {
    pattern:
      /Authentication failed|could not read (Username|Password)|Permission denied \(|Access denied|returned error: 40[13]|Invalid username or password/i,
    hint: (kind) =>
      kind === 'basic'
        ? `the server refused the username and password (${moverEnv.gitUsername}, ${moverEnv.gitPassword} from the Secret)`
        : kind === 'ssh'
          ? `the server refused the SSH key (${moverEnv.gitSshKey} from the Secret)`
          : 'the server asks for credentials and the task gives none',
  },
  {
    pattern: /SSL certificate problem|certificate verification failed/i,
    hint: () => 'its TLS certificate is not trusted',
  },
  {
    pattern:
      /Could not resolve host|Could not resolve hostname|Connection refused|Failed to connect|Connection timed out|Network is unreachable|No route to host|Operation too slow/i,
    hint: () => 'the server cannot be reached',
  },
  {
    pattern: /not found|does not appear to be a git repository|does not exist|returned error: 404/i,
    hint: () => 'there is no Git repository at that URL',
  },
];

/** Why `git clone` could not read the remote: SourceMissing, naming the URL without user info, with git's own words. */
export function unreadableRemote(
  url: string,
  credentials: GitCredentials | undefined,
  exit: GitExit,
  redact: (text: string) => string,
): Failure {
  const said = redact(gitSaid(exit));
  const hint = hints.find(({ pattern }) => pattern.test(exit.stderr))?.hint(credentials?.kind);
  return {
    type: 'error',
    code: 'SourceMissing',
    message: `cannot read the Git repository ${displayGitUrl(url)}${hint === undefined ? '' : `: ${hint}`} (git: ${said})`,
  };
}
