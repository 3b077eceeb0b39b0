import { describe, expect, it } from 'vitest';
import {
  affectedSnapshots,
  describeDamage,
  findingsLimit,
  foundDamage,
  parseCheckSummary,
  snapshotsInFind,
} from './check-report.ts';

// restic 0.18.1 `check --json --read-data-subset=100%` on a repository with one pack overwritten in the middle.
const pack = '1a683d12ef6134692ab976debadb854920039e8871bf2253efd66b5599915467';
const damagedSummary = `{"message_type":"summary","num_errors":1,"broken_packs":["${pack}"],"suggest_repair_index":false,"suggest_prune":false}`;
const cleanSummary =
  '{"message_type":"summary","num_errors":0,"broken_packs":null,"suggest_repair_index":false,"suggest_prune":false}';
const findings = [
  `pack ${pack} contains 2 errors: [blob e5a82d3c0c7d4ae0978158edfc3690199db7b70de705fcdd89852b28ae84eeee: decrypting blob <data/e5a82d3c> from 1a683d12 failed: ciphertext verification failed]`,
  'The repository contains damaged pack files. These damaged files must be removed to repair the repository.',
  `restic repair packs ${pack}\nrestic repair snapshots --forget`,
];

describe('parseCheckSummary', () => {
  it('reads the summary of a check that found damage', () => {
    expect(parseCheckSummary(damagedSummary)).toEqual({
      errors: 1,
      brokenPacks: 1,
      brokenPackIds: [pack],
      suggestRepairIndex: false,
      suggestPrune: false,
    });
  });

  it('reads the summary of a clean check, whose broken_packs is null', () => {
    expect(parseCheckSummary(cleanSummary)).toMatchObject({ errors: 0, brokenPacks: 0 });
  });

  it.each(['no errors were found', '{"message_type":"status"}', '{"message_type":"summary","snapshot_id":"ab"}'])(
    'leaves %j alone',
    (line) => {
      expect(parseCheckSummary(line)).toBeUndefined();
    },
  );
});

describe('foundDamage', () => {
  it('tells damage found from a check that could not run', () => {
    expect(foundDamage(parseCheckSummary(damagedSummary), ['Fatal: repository contains errors'])).toBe(true);
    // Without a summary (an older restic), restic's last words still say so.
    expect(foundDamage(undefined, ['Fatal: repository contains errors'])).toBe(true);
    expect(foundDamage(undefined, ['Fatal: invalid --read-data-subset value'])).toBe(false);
    expect(foundDamage(parseCheckSummary(cleanSummary), ['unable to create lock in backend'])).toBe(false);
  });
});

describe('describeDamage', () => {
  it("gives restic's words, each line once", () => {
    expect(describeDamage(parseCheckSummary(damagedSummary), findings)).toBe(
      `restic check found 1 error, 1 damaged pack file: ${findings[0]}; ${findings[1]}; restic repair packs ${pack}; restic repair snapshots --forget`,
    );
  });

  it('passes on what restic suggests', () => {
    const summary = { errors: 2, brokenPacks: 0, brokenPackIds: [], suggestRepairIndex: true, suggestPrune: true };
    expect(describeDamage(summary, ['index is missing pack 0a1b2c3d'])).toBe(
      'restic check found 2 errors: index is missing pack 0a1b2c3d; restic suggests: restic repair index; restic suggests: restic prune',
    );
  });

  it('stays short however much restic says', () => {
    const many = Array.from(
      { length: 500 },
      (_, n) => `tree ${n}: file "a-long-name-${'x'.repeat(100)}" blob ${n} not found`,
    );
    const message = describeDamage(
      { errors: 500, brokenPacks: 0, brokenPackIds: [], suggestRepairIndex: false, suggestPrune: false },
      many,
    );
    expect(Array.from(message).length).toBeLessThanOrEqual(findingsLimit.characters);
    expect(message).toMatch(/^restic check found 500 errors: tree 0: /);
  });
});

describe('the backups a damaged pack reaches', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  it('reads the damaged packs from the summary', () => {
    expect(parseCheckSummary(damagedSummary)?.brokenPackIds).toEqual([pack]);
  });
  it('takes each snapshot restic find names once, in its order', () => {
    const output = `[{"object_type":"blob","id":"1","path":"/data/x","snapshot":"${b}"},{"object_type":"blob","id":"2","path":"/data/y","snapshot":"${a}"},{"object_type":"blob","id":"3","path":"/data/z","snapshot":"${b}"}]`;
    expect(snapshotsInFind(output)).toEqual([b, a]);
    expect(snapshotsInFind('')).toEqual([]);
  });
  it('carries short ids, at most the limit, and how many more', () => {
    expect(affectedSnapshots([a, b])).toEqual({ affectedSnapshots: ['a'.repeat(16), 'b'.repeat(16)] });
    expect(affectedSnapshots([a, b, a], 2)).toEqual({
      affectedSnapshots: ['a'.repeat(16), 'b'.repeat(16)],
      affectedMore: 1,
    });
  });
});
