// A coverage row as programs read it: flat, stable field names. `safehold
// status -o json` and the dashboard's /api/coverage.json print the same record.
import type { CoverageRow } from './coverage.ts';

export function coverageRecord(row: CoverageRow) {
  const d = row.decision;
  return {
    namespace: row.namespace,
    name: row.name,
    size: row.size,
    storageClass: row.storageClass,
    volumeMode: row.volumeMode,
    phase: row.phase,
    decision: d.state === 'unprotected' ? 'UNPROTECTED' : d.state,
    policy: d.state === 'protected' || d.state === 'unbound' ? d.policy : null,
    rule: d.state === 'unprotected' ? null : d.rule,
    excludedBy: d.state === 'excluded' ? d.by : null,
    cause: d.state === 'unprotected' || d.state === 'unbound' ? d.cause : null,
    reason: d.reason,
    lastBackup: row.lastBackup ?? null,
    lastFailure: row.lastFailure ?? null,
    nextRun: row.nextRun ?? null,
    lastVerified: row.verification ?? null,
    proof: row.proof ?? null,
  };
}

export type CoverageRecord = ReturnType<typeof coverageRecord>;
/** protected, unbound, excluded or UNPROTECTED: the word people read. */
export type DecisionLabel = CoverageRecord['decision'];
