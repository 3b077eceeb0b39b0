import { describe, expect, it } from 'vitest';
import {
  displayGitUrl,
  gitEnv,
  gitRedactor,
  gitSaid,
  gitSecretValues,
  sshCommand,
  unreadableRemote,
  type GitExit,
} from './git-remote.ts';

const key = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACDx3nq3y2n2Yl1qk7nXz9Jb5fO0gY8b0d1u3c8z4y2QAAAAAJBnV1cWZ1dX',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

describe('displayGitUrl', () => {
  it.each([
    ['https://token@github.com/org/fleet.git', 'https://github.com/org/fleet.git'],
    ['http://flux:s3cret@127.0.0.1:8080/fleet.git', 'http://127.0.0.1:8080/fleet.git'],
    ['ssh://git@gitea.example:2222/org/fleet.git', 'ssh://gitea.example:2222/org/fleet.git'],
    ['file:///srv/git/fleet.git', 'file:///srv/git/fleet.git'],
    ['git@github.com:org/fleet.git', 'git@github.com:org/fleet.git'],
    [
      "fatal: unable to access 'https://x:y@example.com/a.git/': 403",
      "fatal: unable to access 'https://example.com/a.git/': 403",
    ],
  ])('shows %s as %s', (url, shown) => {
    expect(displayGitUrl(url)).toBe(shown);
  });
});

describe('gitRedactor', () => {
  it('hides the password, the key and each line of the key', () => {
    const redact = gitRedactor({ password: 'hunter2-token', sshKey: `${key}\n` });
    const keyLine = key.split('\n')[1] ?? '';
    expect(redact(`password hunter2-token, key ${key}, line ${keyLine}`)).toBe(
      'password [redacted], key [redacted], line [redacted]',
    );
    expect(gitSecretValues({ username: 'flux' })).toEqual([]);
  });
});

describe('sshCommand', () => {
  it('uses this key alone and trusts only the known hosts it was given', () => {
    const command = sshCommand({
      key: "/tmp/git-a/ssh/it's key",
      knownHosts: '/tmp/git-a/ssh/known_hosts',
      strict: true,
    });
    expect(command).toBe(
      "ssh -F /dev/null -i '/tmp/git-a/ssh/it'\\''s key' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='/tmp/git-a/ssh/known_hosts' -o ConnectTimeout=30 -o ServerAliveInterval=15",
    );
  });

  it('accepts a new host key when none was given', () => {
    expect(sshCommand({ key: '/k', knownHosts: '/h', strict: false })).toContain('-o StrictHostKeyChecking=accept-new');
  });
});

describe('gitEnv', () => {
  const inherited = { PATH: '/usr/bin', HOME: '/tmp', SSL_CERT_FILE: '/etc/ca/ca.crt' };
  const secrets = { username: 'flux', password: 'hunter2-token' };

  it('gives basic credentials through a helper that reads the environment: the password is in GIT_PASSWORD alone', () => {
    const env = gitEnv({ kind: 'basic' }, secrets, inherited, undefined);
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      GIT_SSL_CAINFO: '/etc/ca/ca.crt',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_USERNAME: 'flux',
      GIT_PASSWORD: 'hunter2-token',
      GIT_CONFIG_COUNT: '4',
      GIT_CONFIG_KEY_2: 'credential.helper',
      GIT_CONFIG_VALUE_2: '',
      GIT_CONFIG_KEY_3: 'credential.helper',
    });
    expect(env.GIT_CONFIG_VALUE_3).toContain('"$GIT_PASSWORD"');
    const holding = Object.entries(env).filter(([, value]) => value.includes('hunter2-token'));
    expect(holding).toEqual([['GIT_PASSWORD', 'hunter2-token']]);
  });

  it('gives no credentials to a task without them', () => {
    const env = gitEnv(undefined, secrets, inherited, undefined);
    expect(env.GIT_PASSWORD).toBeUndefined();
    expect(env.GIT_CONFIG_COUNT).toBe('3');
    expect(env.GIT_SSH_COMMAND).toBeUndefined();
  });

  it('runs ssh with the key files', () => {
    const env = gitEnv({ kind: 'ssh' }, { sshKey: key }, inherited, { key: '/k', knownHosts: '/h', strict: false });
    expect(env.GIT_SSH_COMMAND).toContain("-i '/k'");
    expect(Object.values(env).some((value) => value.includes(key))).toBe(false);
  });
});

describe('unreadableRemote', () => {
  const exit = (stderr: string): GitExit => ({ exitCode: 128, stdout: '', stderr });
  const url = 'https://git.example/org/fleet.git';

  it.each([
    [
      "fatal: Authentication failed for 'https://git.example/org/fleet.git/'",
      'basic' as const,
      'the server refused the username and password (GIT_USERNAME, GIT_PASSWORD from the Secret)',
    ],
    [
      "fatal: could not read Username for 'https://git.example': terminal prompts disabled",
      undefined,
      'the server asks for credentials and the task gives none',
    ],
    [
      'git@git.example: Permission denied (publickey).\nfatal: Could not read from remote repository.',
      'ssh' as const,
      'the server refused the SSH key (GIT_SSH_KEY from the Secret)',
    ],
    [
      'Host key verification failed.\nfatal: Could not read from remote repository.',
      'ssh' as const,
      'its SSH host key is not one of the known hosts (GIT_KNOWN_HOSTS)',
    ],
    [
      "fatal: unable to access 'https://git.example/org/fleet.git/': Could not resolve host: git.example",
      undefined,
      'the server cannot be reached',
    ],
    [
      "fatal: repository 'https://git.example/org/fleet.git/' not found",
      undefined,
      'there is no Git repository at that URL',
    ],
    [
      "fatal: unable to access 'https://git.example/org/fleet.git/': SSL certificate problem: self-signed certificate",
      undefined,
      'its TLS certificate is not trusted',
    ],
  ])('reads %j as: %s', (stderr, kind, hint) => {
    const failure = unreadableRemote(url, kind === undefined ? undefined : { kind }, exit(stderr), (t) => t);
    expect(failure.code).toBe('SourceMissing');
    expect(failure.message).toBe(`cannot read the Git repository ${url}: ${hint} (git: ${gitSaid(exit(stderr))})`);
  });

  it("names the URL without user info, and git's last lines with secrets hidden", () => {
    const redact = gitRedactor({ password: 'hunter2-token' });
    const failure = unreadableRemote(
      'https://flux@git.example/fleet.git',
      { kind: 'basic' },
      exit(
        "hint: a hint\nerror: hunter2-token rejected\nfatal: unable to access 'https://flux:hunter2-token@git.example/fleet.git/': boom\n",
      ),
      redact,
    );
    expect(failure.message).toBe(
      "cannot read the Git repository https://git.example/fleet.git (git: error: [redacted] rejected / fatal: unable to access 'https://git.example/fleet.git/': boom)",
    );
  });

  it('says when git printed nothing', () => {
    expect(gitSaid({ exitCode: 128, stdout: '', stderr: '\n' })).toBe('it printed nothing (exit code 128)');
  });
});
