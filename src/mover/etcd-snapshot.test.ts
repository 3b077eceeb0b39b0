// The etcd-snapshot task with stand-in etcdctl and etcdutl (shell scripts that
// record how they were called) and a stub engine that keeps what it is given:
// a verified snapshot stored with what etcdutl said of it, the next endpoint
// tried when one does not answer, and every way it stores nothing. The real
// programs against a real etcd with client certificates: test/etcd-dump.test.ts.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { etcdSnapshotTask, type BackupSummary, type EtcdSnapshotTask } from '../api/index.ts';
import type { Repository, StreamBackup } from './engine.ts';
import { runEtcdSnapshot } from './etcd-snapshot.ts';
import type { Failure } from './failure.ts';

const root = mkdtempSync(join(tmpdir(), 'etcd-snapshot-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const unused = (what: string) => () => Promise.reject(new Error(`the stub engine has no ${what}`));

function stubEngine() {
  const stored: { backup: StreamBackup; bytes: Buffer }[] = [];
  const repository: Repository = {
    prepare: () => Promise.resolve(undefined),
    backupStream: async (backup, progress) => {
      const [command = '', ...args] = backup.command;
      const { stdout } = await promisify(execFile)(command, args, { encoding: 'buffer' });
      stored.push({ backup, bytes: stdout });
      progress.done();
      const summary: BackupSummary = {
        type: 'summary',
        snapshotId: 'e'.repeat(64),
        filesNew: 1,
        filesChanged: 0,
        filesUnmodified: 0,
        dirsNew: 0,
        dirsChanged: 0,
        bytesAdded: stdout.length,
        bytesProcessed: stdout.length,
        filesProcessed: 1,
        durationSeconds: 0,
      };
      return { ok: true, value: summary };
    },
    backupFolder: unused('backupFolder'),
    restore: unused('restore'),
    restoresFolderItself: () => false,
    ls: unused('ls'),
    linkTargets: unused('linkTargets'),
    dumpFile: unused('dumpFile'),
    dumpStream: unused('dumpStream'),
    findSnapshot: unused('findSnapshot'),
    snapshotIds: unused('snapshotIds'),
    forget: unused('forget'),
    prune: unused('prune'),
    check: unused('check'),
    size: unused('size'),
    latestSnapshot: unused('latestSnapshot'),
  };
  return { repository, stored };
}

/** A database and the snapshot etcd streams of it: the database, then its SHA-256. */
function snapshotOf(db: Buffer): Buffer {
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

interface Fakes {
  /** Endpoints whose status fails, with the gRPC error etcdctl logs. */
  refuse?: Record<string, string>;
  /** What snapshot save writes (the snapshot etcd would stream). */
  snapshot?: Buffer;
  /** What etcdutl snapshot status prints; absent: it fails as on a file that is no database. */
  status?: object;
  /** Leave etcdctl out of PATH. */
  noEtcdctl?: boolean;
}

let runs = 0;
async function snapshot(
  fakes: Fakes,
  task: Partial<EtcdSnapshotTask> = {},
  certificates = ['ca.crt', 'c.crt', 'c.key'],
) {
  const dir = join(root, `run-${++runs}`);
  const bin = join(dir, 'bin');
  const pki = join(dir, 'pki');
  const tempDir = join(dir, 'tmp');
  for (const d of [bin, pki, tempDir]) mkdirSync(d, { recursive: true });
  for (const name of certificates) writeFileSync(join(pki, name), 'PEM');
  const calls = join(dir, 'calls');
  writeFileSync(join(dir, 'snapshot.db'), fakes.snapshot ?? Buffer.alloc(0));
  writeFileSync(join(dir, 'status.json'), fakes.status === undefined ? '' : JSON.stringify(fakes.status));
  const refusals = Object.entries(fakes.refuse ?? {})
    .map(
      ([endpoint, error]) =>
        `  *"--endpoints ${endpoint} "*) printf '%s\\n' '${JSON.stringify({ level: 'warn', error })}' >&2; echo 'Error: context deadline exceeded' >&2; exit 1 ;;`,
    )
    .join('\n');
  const script = (body: string) => `#!/bin/sh\necho "$(basename "$0") $*" >> '${calls}'\n${body}\n`;
  if (fakes.noEtcdctl !== true)
    writeFileSync(
      join(bin, 'etcdctl'),
      script(`case " $* " in
${refusals}
esac
case " $* " in
  *" snapshot save "*) for last; do :; done; cp '${join(dir, 'snapshot.db')}' "$last"; echo "Snapshot saved at $last" ;;
  *) echo '[{"Endpoint":"x"}]' ;;
esac`),
    );
  writeFileSync(
    join(bin, 'etcdutl'),
    script(`[ -s '${join(dir, 'status.json')}' ] || { echo 'Error: invalid database' >&2; exit 1; }
cat '${join(dir, 'status.json')}'`),
  );
  for (const name of readdirSync(bin)) chmodSync(join(bin, name), 0o755);
  const engine = stubEngine();
  const log: string[] = [];
  const result = await runEtcdSnapshot(
    etcdSnapshotTask.parse({
      kind: 'etcd-snapshot',
      repository: { url: '/srv/restic' },
      endpoints: ['https://127.0.0.1:2379'],
      certificates: {
        dir: pki,
        hostPath: '/etc/kubernetes/pki/etcd',
        caFile: 'ca.crt',
        certFile: 'c.crt',
        keyFile: 'c.key',
      },
      fileName: 'etcd.db',
      host: 'safehold-etcd',
      tags: ['dump=safehold-etcd'],
      cacheDir: '/cache',
      ...task,
    }),
    {
      repository: engine.repository,
      progress: () => undefined,
      log: (line) => log.push(line),
      warn: (line) => log.push(line),
      nowMs: () => 0,
      progressIntervalMs: 1000,
      inheritedEnv: { PATH: `${bin}:/usr/bin:/bin` },
      tempDir,
    },
  );
  // Whatever happened, the work folder is gone.
  expect(readdirSync(tempDir)).toEqual([]);
  const called = (() => {
    try {
      return readFileSync(calls, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  })();
  return { result, stored: engine.stored, log, called, pki };
}

const db = randomBytes(4096);
const status = { hash: 1766174835, revision: 42, totalKey: 7, totalSize: db.length, version: '3.6.0' };
const failure = (result: BackupSummary | Failure) => {
  if (result.type !== 'error') throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result;
};

describe('an etcd snapshot', () => {
  it('stores the snapshot once it verifies, with its revision and keys', async () => {
    const { result, stored, called, pki } = await snapshot({ snapshot: snapshotOf(db), status });
    expect(result).toMatchObject({
      type: 'summary',
      etcd: {
        endpoint: 'https://127.0.0.1:2379',
        revision: 42,
        keys: 7,
        hash: 1766174835,
        bytes: 4096,
        version: '3.6.0',
      },
    });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.backup).toMatchObject({
      fileName: 'etcd.db',
      host: 'safehold-etcd',
      tags: ['dump=safehold-etcd'],
    });
    expect(stored[0]?.bytes.equals(snapshotOf(db))).toBe(true);
    const tls = `--cacert ${pki}/ca.crt --cert ${pki}/c.crt --key ${pki}/c.key`;
    expect(called[0]).toBe(
      `etcdctl --endpoints https://127.0.0.1:2379 ${tls} --dial-timeout=5s --command-timeout=15s endpoint status -w json`,
    );
    expect(called[1]).toMatch(
      new RegExp(`^etcdctl --endpoints https://127.0.0.1:2379 ${tls} --dial-timeout=5s snapshot save /.*/etcd.db$`),
    );
    expect(called[2]).toMatch(/^etcdutl snapshot status \/.*\/etcd.db -w json$/);
  });

  it('takes the next endpoint when one does not answer', async () => {
    const { result, stored } = await snapshot(
      {
        refuse: {
          'https://10.0.0.1:2379':
            'rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.1:2379: connect: connection refused"',
        },
        snapshot: snapshotOf(db),
        status,
      },
      { endpoints: ['https://10.0.0.1:2379', 'https://127.0.0.1:2379'] },
    );
    expect(result).toMatchObject({ type: 'summary', etcd: { endpoint: 'https://127.0.0.1:2379' } });
    expect(stored).toHaveLength(1);
  });

  it('fails when no endpoint answers, saying why with a hint, and stores nothing', async () => {
    const { result, stored, called } = await snapshot({
      refuse: {
        'https://127.0.0.1:2379':
          'rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"',
      },
      snapshot: snapshotOf(db),
      status,
    });
    expect(failure(result)).toEqual({
      type: 'error',
      code: 'SourceMissing',
      message:
        "no etcd snapshot, nothing stored: etcd at https://127.0.0.1:2379: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority (etcd's serving certificate is not signed by /etc/kubernetes/pki/etcd/ca.crt (spec.etcd.certificates.caFile), or does not name 127.0.0.1)",
    });
    expect(stored).toEqual([]);
    expect(called.some((c) => c.includes('snapshot save'))).toBe(false);
  });

  it('names a certificate file that is not there by its path on the node, and runs nothing', async () => {
    const { result, stored, called } = await snapshot({ snapshot: snapshotOf(db), status }, {}, [
      'ca.crt',
      'other.crt',
    ]);
    expect(failure(result)).toEqual({
      type: 'error',
      code: 'SourceMissing',
      message:
        "etcd's certificate file /etc/kubernetes/pki/etcd/c.crt (spec.etcd.certificates.certFile) is not on this node: the folder /etc/kubernetes/pki/etcd holds ca.crt, other.crt; nothing stored",
    });
    expect(stored).toEqual([]);
    expect(called).toEqual([]);
  });

  it('stores nothing when the snapshot is not what etcd sent (its SHA-256 differs)', async () => {
    const damaged = snapshotOf(db);
    damaged[100] = (damaged[100] ?? 0) ^ 0xff;
    const { result, stored } = await snapshot({ snapshot: damaged, status });
    expect(failure(result).code).toBe('DumpFailed');
    expect(failure(result).message).toMatch(
      /^the etcd snapshot does not verify, nothing stored: its SHA-256 is [0-9a-f]{64}, but etcd sent [0-9a-f]{64}$/,
    );
    expect(stored).toEqual([]);
  });

  it('stores nothing when etcdutl cannot read it, or its size is not the database and its hash', async () => {
    const unreadable = await snapshot({ snapshot: snapshotOf(db) });
    expect(failure(unreadable.result)).toMatchObject({
      code: 'DumpFailed',
      message: 'the etcd snapshot does not verify, nothing stored: etcdutl snapshot status: invalid database',
    });
    const cut = await snapshot({ snapshot: snapshotOf(db).subarray(0, 3000), status });
    expect(failure(cut.result)).toMatchObject({
      code: 'DumpFailed',
      message: `the etcd snapshot does not verify, nothing stored: it has 3000 bytes, but its database 4096 and etcd's SHA-256 32`,
    });
    expect([...unreadable.stored, ...cut.stored]).toEqual([]);
  });

  it('says so when etcdctl is not in the image', async () => {
    const { result } = await snapshot({ noEtcdctl: true });
    expect(failure(result)).toEqual({
      type: 'error',
      code: 'DumpFailed',
      message: 'etcdctl is not installed in the mover image',
    });
  });
});
