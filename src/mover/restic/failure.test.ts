import { describe, expect, it } from 'vitest';
import { classifyFailure, failureReason, retryCannotHelp, unverifiedError, type ResticFailure } from './failure.ts';

const url = 's3:http://127.0.0.1:7480/backups';
const source = {
  repository: 'BackupRepository offsite',
  password: 'the generated key Secret safehold/key-offsite-1a2b3c4d (key password)',
  s3Keys:
    'BackupRepository offsite spec.s3.accessKeyId (Secret safehold/s3, key AWS_ACCESS_KEY_ID) and BackupRepository offsite spec.s3.secretAccessKey (Secret safehold/s3, key AWS_SECRET_ACCESS_KEY)',
};
const repository = { url, endpoint: 'http://127.0.0.1:7480', source };
const reached = { ...repository, reached: true };
const notThere = `Is there a repository at the following location?\n${url}`;

// What restic 0.18.1 printed in each case, against radosgw.
const cases: [string, ResticFailure, string, string[]][] = [
  [
    'a wrong password (exit code)',
    { exitCode: 12, messages: ['Fatal: wrong password or no key found'] },
    'WrongPassword',
    ['the generated key Secret safehold/key-offsite-1a2b3c4d', url, 'BackupRepository offsite spec.password'],
  ],
  [
    'a wrong password (restic before 0.17)',
    { exitCode: 1, messages: ['Fatal: wrong password or no key found'] },
    'WrongPassword',
    ['the password from the generated key Secret'],
  ],
  [
    'a wrong secret key',
    {
      exitCode: 1,
      messages: [
        'Stat(<config/>) failed: Stat: Access Denied.',
        `Fatal: unable to open config file: Stat: Access Denied.\n${notThere}`,
      ],
    },
    'WrongCredentials',
    ['S3 rejected the access key', 'access denied', 'spec.s3.secretAccessKey (Secret safehold/s3'],
  ],
  [
    'an unknown access key',
    {
      exitCode: 1,
      messages: ['Fatal: client.PutObject: The AWS Access Key Id you provided does not exist (InvalidAccessKeyId)'],
    },
    'WrongCredentials',
    ['does not know the access key', 'spec.s3.accessKeyId'],
  ],
  [
    'a bad signature',
    {
      exitCode: null,
      gaveUpAfterSeconds: 120,
      messages: [
        'Stat(<config/>) returned error, retrying after 1.2s: Stat: The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      ],
    },
    'WrongCredentials',
    ['the secret key does not match'],
  ],
  [
    'a plain 403',
    { exitCode: 1, messages: ['Fatal: Head "http://x/config": 403 Forbidden'] },
    'WrongCredentials',
    ['access denied'],
  ],
  [
    'an exclusive lock held by a prune',
    {
      exitCode: 11,
      messages: [
        'unable to create lock in backend: repository is already locked exclusively by PID 15537 on vm by root (UID 0, GID 0)\nlock was created at 2026-11-22 04:35:20 (3.551035982s ago)\nstorage ID 401f399c\nthe `unlock` command can be used to remove stale locks',
      ],
    },
    'RepositoryLocked',
    [url, 'PID 15537 on vm by root', 'since 2026-11-22 04:35:20', 'stale after 30 minutes'],
  ],
  [
    'a refused connection that restic kept retrying until the mover stopped it',
    {
      exitCode: null,
      gaveUpAfterSeconds: 120,
      messages: [
        'Stat(<config/>) returned error, retrying after 1.545438455s: Stat: Head "http://127.0.0.1:1/b/config": dial tcp 127.0.0.1:1: connect: connection refused',
        'signal terminated received, cleaning up',
        `Fatal: unable to open config file: context canceled\n${notThere}`,
      ],
    },
    'RepositoryUnreachable',
    ['http://127.0.0.1:7480', 'connection refused', 'BackupRepository offsite spec.s3.endpoint', 'NetworkPolicy'],
  ],
  [
    'an unknown host',
    { exitCode: 1, messages: ['Fatal: Head "http://s3.nowhere/b/config": dial tcp: lookup s3.nowhere: no such host'] },
    'RepositoryUnreachable',
    ['no such host'],
  ],
  [
    'silence until the mover gave up',
    { exitCode: null, gaveUpAfterSeconds: 120, messages: ['signal terminated received, cleaning up'] },
    'RepositoryUnreachable',
    ['http://127.0.0.1:7480'],
  ],
  [
    'a dial that timed out',
    {
      exitCode: null,
      gaveUpAfterSeconds: 120,
      messages: [
        'Stat(<config/>) returned error, retrying after 2s: Head "http://10.0.0.9:7480/b/config": dial tcp 10.0.0.9:7480: i/o timeout',
      ],
    },
    'RepositoryUnreachable',
    ['dial tcp'],
  ],
  [
    'requests restic gave up on as stuck (a full Ceph cluster)',
    {
      exitCode: null,
      gaveUpAfterSeconds: 120,
      messages: ['Save(<lock/5e1f0c2a>) returned error, retrying after 7.3s: stuck request'],
    },
    'RepositoryStalled',
    ['accepts connections but does not complete requests', 'stuck request', 'ceph health detail', 'not the network'],
  ],
  [
    'a read that timed out after connecting',
    {
      exitCode: 1,
      messages: [
        'Fatal: unable to open config file: Stat: Head "http://127.0.0.1:7480/b/config": net/http: timeout awaiting response headers',
      ],
    },
    'RepositoryStalled',
    ['timeout awaiting response headers'],
  ],
  [
    'an init that found keys but no config',
    {
      exitCode: 1,
      messages: [
        'Fatal: create repository at s3:http://127.0.0.1:7480/backups failed: repository already contains keys',
      ],
    },
    'RepositoryIncomplete',
    ['has keys but no config', 'interrupted', 'aws s3 rm --recursive s3://backups/keys/', 'restore its config object'],
  ],
  [
    'an error restic kept retrying that is not about the network',
    {
      exitCode: null,
      gaveUpAfterSeconds: 120,
      messages: [
        'Stat(<config/>) returned error, retrying after 5.9s: client.GetObject: Bucket name cannot be shorter than 3 characters',
      ],
    },
    'EngineFailed',
    ['still retrying after 120 s', 'Bucket name cannot be shorter than 3 characters'],
  ],
  [
    'no repository where initializing is not allowed',
    {
      exitCode: 10,
      messages: [
        `Fatal: repository does not exist: unable to open config file: Stat: The specified key does not exist.\n${notThere}`,
      ],
    },
    'EngineFailed',
    ['no restic repository', 'initialize'],
  ],
  [
    'a SIGTERM to the mover',
    { exitCode: 130, interrupted: true, messages: ['signal terminated received, cleaning up'] },
    'Interrupted',
    ['stopped by a signal', 'deleted'],
  ],
  [
    'anything else',
    { exitCode: 1, messages: ['some warning', 'Fatal: unable to save snapshot: disk full\nmore detail'] },
    'EngineFailed',
    ['exit code 1', 'unable to save snapshot: disk full'],
  ],
  ['no output at all', { exitCode: 2, messages: [] }, 'EngineFailed', ['exit code 2', 'no reason']],
];

describe('classifyFailure', () => {
  it.each(cases)('%s', (_, failure, code, phrases) => {
    const error = classifyFailure(failure, repository);
    expect(error.code).toBe(code);
    for (const phrase of phrases) expect(error.message).toContain(phrase);
  });

  it('calls silence a stall once the endpoint has answered, and unreachable before', () => {
    const silence = { exitCode: null, gaveUpAfterSeconds: 120, messages: ['signal terminated received, cleaning up'] };
    expect(classifyFailure(silence, repository).code).toBe('RepositoryUnreachable');
    const stall = classifyFailure(silence, reached);
    expect(stall.code).toBe('RepositoryStalled');
    expect(stall.message).toContain('no answer within 120 s');
  });

  it('names the fields to fix even without the task naming its sources', () => {
    const error = classifyFailure({ exitCode: 12, messages: [] }, { url });
    expect(error.message).toContain("BackupRepository's spec.password Secret");
    expect(error.message).not.toContain('RESTIC_PASSWORD');
  });
});

describe('failureReason', () => {
  it.each([
    [
      ['Fatal: unable to open config file: Stat: Access Denied.\n' + notThere],
      'unable to open config file: Stat: Access Denied.',
    ],
    [
      ['Save(<data/b2f6>) returned error, retrying after 15.4s: client.PutObject: SlowDown'],
      'client.PutObject: SlowDown',
    ],
    [['first', 'second', `\n${notThere}`], 'second'],
    [[], undefined],
  ])('picks the line that explains %j', (messages, reason) => {
    expect(failureReason(messages)).toBe(reason);
  });
});

describe('retryCannotHelp', () => {
  const retry = (error: string) => `Stat(<config/>) returned error, retrying after 1.2s: Stat: ${error}`;
  it.each([
    [retry('The specified bucket does not exist.'), true],
    [retry('The request signature we calculated does not match the signature you provided.'), true],
    [retry('The AWS Access Key Id you provided does not exist in our records.'), true],
    [retry('Access Denied.'), true],
    [retry('Head "http://127.0.0.1:1/b/config": dial tcp 127.0.0.1:1: connect: connection refused'), false],
    [retry('client.PutObject: SlowDown'), false],
    ['Fatal: unable to open config file: Stat: Access Denied.', false],
  ])('%s: %s', (text, hopeless) => {
    expect(retryCannotHelp({ kind: 'text', text })).toBe(hopeless);
  });
});

describe('unverifiedError', () => {
  // restic 0.18.1's words: restore --json with a pack damaged or cut short, and its VerifyFiles.
  const damaged = '/b.bin: decrypting blob <data/6c113974> from 562791c7 failed: ciphertext verification failed';
  const cut = '/src/f1: ReadFull(<data/ebc5556417>): file is too short';
  const unreadable = 'restic cannot read all of the backup';
  const differs = 'restic read back restored files that differ from the backup';
  it.each([
    ['a damaged pack', [damaged], [], `${unreadable} (${damaged})`],
    ['a pack cut short', [cut, '/src/f3: lchown /t/src/f3: no such file or directory'], [], `${unreadable} (${cut})`],
    [
      'damage restic gave up on before any entry',
      [],
      ['Fatal: load tree 4fdda4c0: decrypting blob <tree/4fdda4c0> failed: ciphertext verification failed'],
      `${unreadable} (Fatal: load tree 4fdda4c0`,
    ],
    [
      'a file of another size',
      ['/etc/app.conf: Invalid file size for /t/etc/app.conf: expected 12, got 13'],
      [],
      `${differs} (/etc/app.conf: Invalid file size for /t/etc/app.conf: expected 12, got 13)`,
    ],
    [
      'a file of other content',
      ['/db: Unexpected content in /t/db, starting at offset 4096'],
      [],
      `${differs} (/db: Unexpected content in /t/db, starting at offset 4096)`,
    ],
  ])("%s is Unverified, in restic's words", (_case, failures, messages, said) => {
    const error = unverifiedError(failures, messages);
    expect(error?.code).toBe('Unverified');
    expect(error?.message).toContain(said);
  });

  it("leaves what is not about the backup's data to the other failures", () => {
    expect(unverifiedError(['/etc2: remove /t/etc2: directory not empty'], ['Fatal: There were 1 errors'])).toBe(
      undefined,
    );
    expect(unverifiedError([], ['Load(<data/ab12>, 0, 0) returned error, retrying after 1s: connection refused'])).toBe(
      undefined,
    );
  });

  it("says each of restic's words once, a few of them, each cut short", () => {
    const many = Array.from({ length: 8 }, (_, i) => `/f${i}: ${'x'.repeat(300)}: ciphertext verification failed`);
    const message = unverifiedError([...many, ...many], [])?.message ?? '';
    expect(message).toContain(' and 5 more)');
    expect(message.match(/\/f\d: /g)).toEqual(['/f0: ', '/f1: ', '/f2: ']);
    expect(message.match(/x…x+: ciphertext verification failed/g)).toHaveLength(3);
    expect(message.length).toBeLessThan(1200);
  });
});
