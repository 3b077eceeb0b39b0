// What `safehold restore-resources` prints: the plan as a table for people
// (ACTION, KIND, NAME, a one-line DIFF; a Secret's values never show, as
// describeDiff leaves them out) and, for programs, the plan with what became
// of each object.
import type { PlannedObject } from '../core/index.ts';
import { renderTable } from './table.ts';

/** What applying one planned object did. */
export type StepOutcome =
  | { result: 'created' | 'replaced' | 'unchanged' | 'planned' }
  /** A conflict left alone: only --force replaces it. */
  | { result: 'skipped'; message: string }
  | { result: 'failed'; message: string };

export interface StepRecord {
  action: PlannedObject['action'];
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  diff?: string[];
  result: StepOutcome['result'];
  message?: string;
}

/** The plan, one row per object in the order it is applied. */
export function renderPlan(steps: readonly PlannedObject[]): string {
  return renderTable(
    ['ACTION', 'KIND', 'NAME', 'DIFF'],
    steps.map((s) => [s.action, s.object.kind, s.object.metadata.name, diffSummary(s)]),
  );
}

/** The first differing field and how many more: `data.mode: "a" -> "b" (+2 more)`. */
export function diffSummary(step: PlannedObject): string {
  switch (step.action) {
    case 'create':
    case 'unchanged':
      return '';
    case 'unreadable':
      return 'cannot read it (see the error)';
    case 'managed':
      return `left as it is: ${step.reason}`;
    case 'conflict':
    case 'replace': {
      const [first, ...rest] = step.diff;
      if (first === undefined) return '';
      const elided = /^\.\.\. and (\d+) more$/.exec(rest[rest.length - 1] ?? '');
      const more = elided === null ? rest.length : rest.length - 1 + Number(elided[1]);
      return more === 0 ? first : `${first} (+${more} more)`;
    }
  }
}

export function stepRecord(step: PlannedObject, outcome: StepOutcome): StepRecord {
  const { namespace, name } = step.object.metadata;
  return {
    action: step.action,
    apiVersion: step.object.apiVersion,
    kind: step.object.kind,
    ...(namespace === undefined ? {} : { namespace }),
    name,
    ...(step.action === 'conflict' || step.action === 'replace' || step.action === 'managed'
      ? { diff: step.diff }
      : {}),
    result: outcome.result,
    ...('message' in outcome ? { message: outcome.message } : {}),
  };
}

/** The run's last line: what it did, or with --dry-run what it would do. */
export function summaryLine(records: readonly StepRecord[], dryRun: boolean): string {
  const count = (test: (r: StepRecord) => boolean) => records.filter(test).length;
  if (dryRun) {
    const actions = (['create', 'replace', 'unchanged', 'conflict'] as const).map(
      (a) =>
        `${count((r) => r.action === a)} ${a === 'create' || a === 'replace' ? `to ${a}` : a === 'conflict' ? 'in conflict' : a}`,
    );
    // Only when there are any: what Kubernetes keeps, and what could not be read.
    const more = [
      [count((r) => r.action === 'managed'), 'managed by Kubernetes'] as const,
      [count((r) => r.action === 'unreadable'), 'unreadable'] as const,
    ].flatMap(([n, what]) => (n === 0 ? [] : [`${n} ${what}`]));
    return `Dry run: ${[...actions, ...more].join(', ')}; nothing was changed.`;
  }
  const results = (['created', 'replaced', 'unchanged', 'skipped', 'failed'] as const).map(
    (r) => `${count((x) => x.result === r)} ${r}`,
  );
  return `${results.join(', ')}.`;
}
