// The order of restic commands in a maintenance run and how their outcomes
// become results (the mover's maintenance over the restic engine), against a
// stand-in for restic that answers each subcommand as told (through the real
// runRestic). The real restic and S3 are in test/mover-maintenance.test.ts.
import { describe, expect, it } from 'vitest';
import type { MaintenanceTask } from '../../api/index.ts';
import { runMaintenance } from '../maintenance.ts';
import { resticRepository } from './engine.ts';
import { parseSnapshotIds } from './maintenance.ts';
import { runRestic, type Restic } from './process.ts';

interface Answer {
  stdout?: string[];
  stderr?: string[];
  code?: number;
}

/** A restic that answers the nth call of each subcommand with the nth answer given (the last one over and over). */
function fakeRestic(answers: Record<string, Answer | Answer[]>) {
  const calls: string[] = [];
  const counts = new Map<string, number>();
  const restic: Restic = (args, options = {}) => {
    calls.push(args.join(' '));
    const command = args.find((arg) => !arg.startsWith('-')) ?? '';
    const n = counts.get(command) ?? 0;
    counts.set(command, n + 1);
    const given = answers[command] ?? {};
    const list = Array.isArray(given) ? given : [given];
    const answer = list[Math.min(n, list.length - 1)] ?? {};
    const text = (lines: string[] = []) => lines.map((line) => `${line}\n`).join('');
    const script = `printf '%s' "$1"; printf '%s' "$2" >&2; exit ${answer.code ?? 0}`;
    return runRestic({
      binary: '/bin/sh',
      args: ['-c', script, 'restic', text(answer.stdout), text(answer.stderr)],
      env: {},
      ...options,
    });
  };
  return { restic, calls };
}

const a = 'e7b0031c13fe81d77cf2d43e1444d071771c665744ced9c1faf071a16a27a6ef';
const b = 'f7d250a99a42d19c70fdd9ab87ea47019a094469090229c537e065998d662972';
const c = '18331ff5c6b0f0d0a4bd48a2e39e22e6ea3b3a4bc2d26e4d2b2e86c2a1d6ad33';
const listing = (...ids: string[]): Answer => ({
  stdout: [
    JSON.stringify(ids.map((id) => ({ time: '2024-01-01T12:00:00Z', paths: ['/data'], id, short_id: id.slice(0, 8) }))),
  ],
});
const pruneOutput = [
  'loading indexes...',
  '[0:00] 100.00%  3 / 3 packs processed',
  '',
  'to repack:             6 blobs / 5.723 MiB',
  'this removes:          3 blobs / 2.861 MiB',
  'to delete:             4 blobs / 1.185 KiB',
  'total prune:           7 blobs / 2.862 MiB',
  'remaining:             7 blobs / 2.862 MiB',
  'unused size after prune: 0 B (0.00% of remaining size)',
  'done',
];
const stats = {
  stdout: [
    '{"total_size":3001277,"total_uncompressed_size":3001769,"compression_ratio":1.0001639302203695,"total_blob_count":7,"snapshots_count":1}',
  ],
};
const cleanCheck = {
  stdout: [
    '{"message_type":"summary","num_errors":0,"broken_packs":null,"suggest_repair_index":false,"suggest_prune":false}',
  ],
};
const locked = {
  code: 11,
  stderr: [
    '{"message_type":"exit_error","code":11,"message":"unable to create lock in backend: repository is already locked exclusively by PID 7 on mover-abc by root (UID 0, GID 0)\\nlock was created at 2026-11-22 06:48:23 (2s ago)"}',
  ],
};

const task: MaintenanceTask = {
  kind: 'maintenance',
  repository: { engine: 'restic' as const, url: 's3:http://127.0.0.1:7480/backups', initialize: true },
  cacheDir: '/cache',
  forget: ['e7b0031c', b],
  prune: true,
  check: { readDataSubset: '5%' },
};

async function maintain(answers: Record<string, Answer | Answer[]>, given: Partial<MaintenanceTask> = {}) {
  const fake = fakeRestic(answers);
  const log: string[] = [];
  const warnings: string[] = [];
  let clock = 0;
  const repository = resticRepository(task.repository, {
    restic: fake.restic,
    probe: () => Promise.resolve({ reachable: true }),
    openTimeoutMs: 10_000,
    log: (text) => log.push(text),
    warn: (text) => warnings.push(text),
  });
  const result = await runMaintenance(
    { ...task, ...given },
    { repository, nowMs: () => (clock += 1_500), log: (text) => log.push(text) },
  );
  return { result, calls: fake.calls, log, warnings };
}

describe('runMaintenance', () => {
  it('forgets the named snapshots by full id, prunes, checks, then counts what is left', async () => {
    const { result, calls, log } = await maintain({
      snapshots: [listing(a, b, c), listing(c)],
      prune: { stdout: pruneOutput },
      check: cleanCheck,
      stats,
    });
    expect(calls).toEqual([
      '--json unlock',
      'snapshots --json',
      `forget ${a} ${b}`,
      'prune',
      'check --json --read-data-subset=5%',
      'snapshots --json',
      'stats --mode raw-data --json',
    ]);
    expect(result).toEqual({
      type: 'maintenance',
      forgotten: 2,
      alreadyGone: 0,
      prune: {
        bytesFreed: 3001025,
        message:
          'freed 2.862 MiB (7 blobs: 1.185 KiB deleted, 2.861 MiB by repacking 5.723 MiB); 2.862 MiB in 7 blobs remain',
      },
      check: { ok: true, readDataSubset: '5%', message: 'no errors were found' },
      snapshots: 1,
      repositoryBytes: 3001277,
      durationSeconds: 1.5,
    });
    expect(log).toContain('forgetting 2 snapshots (e7b0031c, f7d250a9)');
    expect(log).toContain('restic: total prune:           7 blobs / 2.862 MiB');
  });

  it('counts snapshots an earlier run forgot as done, and runs no forget', async () => {
    const { result, calls, log } = await maintain({ snapshots: listing(c), stats }, { prune: false, check: undefined });
    expect(calls).toEqual(['--json unlock', 'snapshots --json', 'snapshots --json', 'stats --mode raw-data --json']);
    expect(result).toMatchObject({ type: 'maintenance', forgotten: 0, alreadyGone: 2, snapshots: 1 });
    expect(result).not.toHaveProperty('prune');
    expect(log).toContain('forgetting 0 snapshots; already gone: e7b0031c, f7d250a9');
    expect(result).not.toHaveProperty('check');
  });

  it('never creates a repository that is not there', async () => {
    const { result, calls } = await maintain({ unlock: { code: 10 } });
    expect(calls).toEqual(['--json unlock']);
    expect(result).toMatchObject({ type: 'error', code: 'EngineFailed' });
    expect(result.type === 'error' && result.message).toContain('maintenance never creates one');
  });

  it('forgets nothing when a prefix fits two snapshots', async () => {
    const twin = `${a.slice(0, 8)}${'0'.repeat(56)}`;
    const { result, calls } = await maintain({ snapshots: listing(a, twin, c) });
    expect(calls).not.toContainEqual(expect.stringMatching(/^forget/));
    expect(result).toMatchObject({ type: 'error', code: 'InvalidTask' });
    expect(result.type === 'error' && result.message).toContain('e7b0031c fits 2 snapshots');
  });

  it('reports damage a check found as a finding, not a failure', async () => {
    const pack = '1a683d12ef6134692ab976debadb854920039e8871bf2253efd66b5599915467';
    const { result } = await maintain(
      {
        snapshots: listing(c),
        check: {
          code: 1,
          stdout: [
            `{"message_type":"summary","num_errors":1,"broken_packs":["${pack}"],"suggest_repair_index":false,"suggest_prune":false}`,
          ],
          stderr: [
            `{"message_type":"error","message":"pack ${pack} contains 2 errors: [blob e5a82d3c: ciphertext verification failed]\\n"}`,
            `{"message_type":"error","message":"restic repair packs ${pack}\\nrestic repair snapshots --forget\\n\\n"}`,
            '{"message_type":"exit_error","code":1,"message":"Fatal: repository contains errors"}',
          ],
        },
        stats,
      },
      { forget: [], prune: false, check: { readDataSubset: '100%' } },
    );
    expect(result).toMatchObject({
      type: 'maintenance',
      check: {
        ok: false,
        readDataSubset: '100%',
        message: `restic check found 1 error, 1 damaged pack file: pack ${pack} contains 2 errors: [blob e5a82d3c: ciphertext verification failed]; restic repair packs ${pack}; restic repair snapshots --forget`,
      },
    });
  });

  it.each([
    ['a prune', { snapshots: listing(a, b, c), prune: locked }],
    ['a check', { snapshots: listing(c), prune: { stdout: pruneOutput }, check: locked }],
    ['a forget', { snapshots: listing(a, b, c), forget: locked }],
  ])('says who holds the lock that stops %s', async (_, answers) => {
    const { result } = await maintain(answers);
    expect(result).toMatchObject({ type: 'error', code: 'RepositoryLocked' });
    expect(result.type === 'error' && result.message).toContain('PID 7');
  });

  it('reports a check that could not run as a failure', async () => {
    const { result } = await maintain(
      {
        snapshots: listing(c),
        check: {
          code: 1,
          stderr: ['{"message_type":"exit_error","code":1,"message":"Fatal: invalid --read-data-subset argument"}'],
        },
      },
      { forget: [], prune: false, check: { readDataSubset: 'lots' } },
    );
    expect(result).toMatchObject({ type: 'error', code: 'EngineFailed' });
    expect(result.type === 'error' && result.message).toContain('read-data-subset');
  });

  it('leaves out the size, with a warning, when restic stats fails', async () => {
    const { result, warnings } = await maintain(
      {
        snapshots: listing(c),
        stats: { code: 1, stderr: ['Fatal: load tree 0a1b2c3d: ciphertext verification failed'] },
      },
      { forget: [], prune: false, check: undefined },
    );
    expect(result).toMatchObject({ type: 'maintenance', snapshots: 1 });
    expect(result).not.toHaveProperty('repositoryBytes');
    expect(warnings).toEqual([expect.stringContaining('restic stats')]);
  });

  it('goes on when prune prints no summary it can read, saying so', async () => {
    const { result, warnings } = await maintain(
      { snapshots: listing(c), prune: { stdout: ['done'] }, stats },
      { forget: [], check: undefined },
    );
    expect(result).toMatchObject({ type: 'maintenance', prune: { bytesFreed: 0 } });
    expect(warnings).toEqual([expect.stringContaining('how much it freed')]);
  });
});

describe('parseSnapshotIds', () => {
  it('reads the ids of restic 0.18.1 `snapshots --json`', () => {
    const answer = JSON.stringify([
      { time: '2024-01-01T12:00:00Z', tree: 'aa', paths: ['/data'], hostname: 'vm', id: a, short_id: 'e7b0031c' },
      { time: '2024-02-01T12:00:00Z', parent: a, tree: 'bb', paths: ['/data'], hostname: 'vm', id: b },
    ]);
    expect(parseSnapshotIds(answer)).toEqual([a, b]);
    expect(parseSnapshotIds('[]')).toEqual([]);
  });

  it.each(['', 'null', '{"id":"x"}', '[{"short_id":"e7b0031c"}]'])('turns down %j', (answer) => {
    expect(parseSnapshotIds(answer)).toBeUndefined();
  });
});
