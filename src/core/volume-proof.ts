// Whether a volume's backups are proven: its last restore drill's verdict, as
// the drill wrote it on the PVC's annotations, and when its next proof is due
// under its policy's drill window. "Protected" says backups are taken;
// "proven" says the latest drill read one back whole within the window.
import { annotations, durationMs, type BackupPolicy, type DrillVerdict } from '../api/index.ts';
import type { CoverageRow } from './coverage.ts';

export interface Verification {
  /** When the last drill with a verdict ended. */
  at: string;
  verdict: DrillVerdict;
  /** The VolumeBackup that drill proved. */
  backup: string | undefined;
  /** A failed drill's reason and message ("Unverified: ..."). */
  message: string | undefined;
  /** A failed drill's reason alone (Unverified, DamagedPack, ...). */
  reason: string | undefined;
  /** When a drill last passed (it may be older than a later failure). */
  lastPassed: string | undefined;
}

/** The PVC's record of its last drill; undefined when it has none or it does not parse. */
export function readVerification(values: Record<string, string> | undefined): Verification | undefined {
  const at = values?.[annotations.lastVerified];
  const result = values?.[annotations.verifyResult];
  if (at === undefined || result === undefined || Number.isNaN(Date.parse(at))) return undefined;
  const failed = /^Failed(?:: ([\s\S]*))?$/.exec(result);
  if (result !== 'Passed' && failed === null) return undefined;
  return {
    at,
    verdict: failed === null ? 'Passed' : 'Failed',
    backup: values?.[annotations.verifiedBackup],
    message: failed?.[1],
    reason: failed === null ? undefined : (failed[1]?.split(':')[0] ?? 'Failed'),
    lastPassed: values?.[annotations.lastPassed],
  };
}

export type ProofState = 'proven' | 'failed' | 'overdue' | 'unproven';

/**
 * proven: the last drill passed, within the window when there is one; failed: the last drill found the
 * backup wrong; overdue: it passed, longer ago than the window; unproven: no drill has a verdict.
 */
export function proofState(
  verification: Verification | undefined,
  windowMs: number | undefined,
  now: Date,
): ProofState {
  if (verification === undefined) return 'unproven';
  if (verification.verdict === 'Failed') return 'failed';
  if (windowMs !== undefined && now.getTime() - Date.parse(verification.at) > windowMs) return 'overdue';
  return 'proven';
}

export interface VolumeProof {
  namespace: string;
  pvc: string;
  policy: string;
  /** Unix seconds of the last passing drill. */
  lastPassedSeconds: number | undefined;
  /** 1 when the last drill failed (with its reason), 0 when it passed; undefined before any verdict. */
  failed: { value: 0 | 1; reason: string } | undefined;
  /** Unix seconds by which a passing drill is due (last pass, else the PVC's creation, plus the window). */
  dueSeconds: number | undefined;
}

/**
 * One entry per protected volume with a drill record or a drill window. `windows` gives a policy's
 * drill window in ms (only policies with drills); `createdAt` a claim's creationTimestamp by "namespace/pvc".
 */
export function volumeProofs(
  rows: readonly CoverageRow[],
  windows: ReadonlyMap<string, number>,
  createdAt: (key: string) => string | undefined,
): VolumeProof[] {
  const proofs: VolumeProof[] = [];
  for (const row of rows) {
    if (row.decision.state !== 'protected') continue;
    const policy = row.decision.policy;
    const window = windows.get(policy);
    const v = row.verification;
    if (v === undefined && window === undefined) continue;
    const passed = Date.parse(v?.lastPassed ?? (v?.verdict === 'Passed' ? v.at : ''));
    const from = Number.isNaN(passed) ? Date.parse(createdAt(`${row.namespace}/${row.name}`) ?? '') : passed;
    const reason = v?.reason ?? 'Failed';
    proofs.push({
      namespace: row.namespace,
      pvc: row.name,
      policy,
      lastPassedSeconds: Number.isNaN(passed) ? undefined : passed / 1000,
      failed: v === undefined ? undefined : v.verdict === 'Failed' ? { value: 1, reason } : { value: 0, reason: '' },
      dueSeconds: window === undefined || Number.isNaN(from) ? undefined : (from + window) / 1000,
    });
  }
  return proofs;
}

/** A policy's drill window in ms; undefined when it has no drills. */
export function drillWindow(policy: BackupPolicy | undefined): number | undefined {
  return policy?.spec.drill === undefined ? undefined : durationMs(policy.spec.drill.window);
}

/** Per policy with restore drills, its drill window in ms. */
export function drillWindows(policies: readonly BackupPolicy[]): Map<string, number> {
  return new Map(
    policies.flatMap((p) => {
      const window = drillWindow(p);
      return window === undefined ? [] : [[p.metadata.name, window] as const];
    }),
  );
}
