// What `restic check --json` found (restic 0.18). It ends with a summary on
// stdout and prints each finding as an error line on stderr:
//
//   {"message_type":"summary","num_errors":1,"broken_packs":["1a683d12…"],"suggest_repair_index":false,"suggest_prune":false}
//   {"message_type":"error","message":"pack 1a683d12…: contains 2 errors: [blob e5a82d3c…: ciphertext verification failed …]\n"}
//   {"message_type":"exit_error","code":1,"message":"Fatal: repository contains errors"}
//
// Damage is a finding, reported in the MaintenanceSummary; a check that could
// not run (locked, unreachable) is a Failure instead.
import { z } from 'zod';
import { parseJson } from './output.ts';

const summaryLine = z.object({
  message_type: z.literal('summary'),
  num_errors: z.number(),
  broken_packs: z.array(z.string()).nullable().default(null),
  suggest_repair_index: z.boolean().default(false),
  suggest_prune: z.boolean().default(false),
});

export interface CheckSummary {
  errors: number;
  brokenPacks: number;
  /** The damaged packs' ids, as restic names them. */
  brokenPackIds: string[];
  suggestRepairIndex: boolean;
  suggestPrune: boolean;
}

/** The summary line of `restic check --json`; undefined for any other line. */
export function parseCheckSummary(line: string): CheckSummary | undefined {
  const summary = parseJson(line, summaryLine);
  if (summary === undefined) return undefined;
  return {
    errors: summary.num_errors,
    brokenPacks: summary.broken_packs?.length ?? 0,
    brokenPackIds: summary.broken_packs ?? [],
    suggestRepairIndex: summary.suggest_repair_index,
    suggestPrune: summary.suggest_prune,
  };
}

const contains = /repository contains errors/i;

/** Whether a check that exited non-zero ran to the end and found damage (rather than failing to run). */
export function foundDamage(summary: CheckSummary | undefined, exitMessages: readonly string[]): boolean {
  return (summary !== undefined && summary.errors > 0) || exitMessages.some((message) => contains.test(message));
}

export const findingsLimit = { lines: 8, characters: 1500 } as const;

/** restic's words about the damage, first lines first, bounded so the result fits the termination message. */
export function describeDamage(summary: CheckSummary | undefined, findings: readonly string[]): string {
  const count = summary?.errors ?? findings.length;
  const broken = summary?.brokenPacks ?? 0;
  const packs = broken === 0 ? '' : `, ${plural(broken, 'damaged pack file')}`;
  const lines = [...new Set(findings.flatMap((finding) => finding.split('\n').map((line) => line.trim())))].filter(
    (line) => line !== '' && !contains.test(line),
  );
  if (summary?.suggestRepairIndex === true) lines.push('restic suggests: restic repair index');
  if (summary?.suggestPrune === true) lines.push('restic suggests: restic prune');
  const shown = lines.slice(0, findingsLimit.lines);
  const more = lines.length > shown.length ? ` (and ${lines.length - shown.length} more lines in the log)` : '';
  const text = `restic check found ${plural(count, 'error')}${packs}: ${shown.join('; ') || 'see the log'}${more}`;
  const characters = Array.from(text);
  return characters.length <= findingsLimit.characters
    ? text
    : `${characters.slice(0, findingsLimit.characters - 1).join('')}…`;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** The snapshots `restic find --pack ... --json` found data of those packs in, in the order it names them, once each. */
export function snapshotsInFind(output: string): string[] {
  return [...new Set([...output.matchAll(/"snapshot":"([0-9a-f]{64})"/g)].map((m) => m[1] ?? ''))];
}

/** Affected snapshots as a check's result carries them: short ids, at most `limit`, and how many more. */
export function affectedSnapshots(
  ids: readonly string[],
  limit = 50,
): { affectedSnapshots: string[]; affectedMore?: number } {
  const shown = ids.slice(0, limit).map((id) => id.slice(0, 16));
  return { affectedSnapshots: shown, ...(ids.length > limit ? { affectedMore: ids.length - limit } : {}) };
}
