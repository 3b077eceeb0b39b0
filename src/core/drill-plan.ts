// Which volumes a policy's drill run proves, and which volumes are owed a
// drill of a newer backup after a failed one. Pure: the scheduler passes what
// it read from the caches and the PVCs' annotations.
import { createHash } from 'node:crypto';
import type { BackupPolicySpec } from '../api/index.ts';
import type { Verification } from './volume-proof.ts';

export interface DrillCandidate {
  namespace: string;
  pvc: string;
  verification: Verification | undefined;
  /** The volume has a good backup. */
  backedUp: boolean;
  /** The newest good backup's VolumeBackup name, when looked up (volumes whose last drill failed). */
  latestBackup?: string | undefined;
  /** A drill of the volume is pending or running. */
  drilling: boolean;
}

type DrillSchedule = NonNullable<BackupPolicySpec['drill']>;

/** Unix ms of a candidate's last passing drill; -Infinity when it never passed or its last drill failed. */
function provenAt(c: DrillCandidate): number {
  const v = c.verification;
  if (v === undefined || v.verdict === 'Failed') return Number.NEGATIVE_INFINITY;
  const at = Date.parse(v.at);
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
}

/**
 * The volumes one drill run proves, longest unproven first (never proven and failed first of all):
 * with `volumes`, that many; without, every volume whose proof would be older than the window
 * before the run after this one (`nextRunMs`, undefined when there is none).
 */
export function drillPicks(
  candidates: readonly DrillCandidate[],
  drill: Pick<DrillSchedule, 'volumes'> & { windowMs: number },
  now: Date,
  nextRunMs: number | undefined,
): DrillCandidate[] {
  const eligible = candidates
    .filter((c) => c.backedUp && !c.drilling)
    .sort((a, b) => provenAt(a) - provenAt(b) || `${a.namespace}/${a.pvc}`.localeCompare(`${b.namespace}/${b.pvc}`));
  if (drill.volumes !== undefined) return eligible.slice(0, drill.volumes);
  const horizon = nextRunMs ?? now.getTime();
  return eligible.filter((c) => horizon - provenAt(c) > drill.windowMs);
}

/**
 * Why a drill schedule cannot prove every volume within its window, or undefined when it can: `volumes`
 * per run, times the runs in a window, is fewer than the volumes.
 */
export function windowShortfall(
  count: number,
  drill: Pick<DrillSchedule, 'volumes' | 'window'> & { windowMs: number },
  runIntervalMs: number | undefined,
): string | undefined {
  if (drill.volumes === undefined || runIntervalMs === undefined || runIntervalMs <= 0) return undefined;
  const runs = Math.floor(drill.windowMs / runIntervalMs);
  const reach = runs * drill.volumes;
  if (reach >= count) return undefined;
  return `drill.volumes: ${drill.volumes} volumes per run, ${runs} runs in the window of ${drill.window}, prove ${reach} of the ${count} volumes: raise drill.volumes to at least ${Math.ceil(count / Math.max(runs, 1))} or run drills more often`;
}

/**
 * Whether a volume whose last drill failed may be owed a re-drill: a backup finished after that
 * verdict. Only then is its catalogue read for its newest backup, so a fleet of red volumes costs
 * the scheduler nothing per event until they are backed up again.
 */
export function mayOweRedrill(verification: Verification | undefined, lastBackup: string | undefined): boolean {
  if (verification?.verdict !== 'Failed') return false;
  const backedUp = Date.parse(lastBackup ?? '');
  return !Number.isNaN(backedUp) && backedUp > Date.parse(verification.at);
}

/**
 * Volumes whose last drill failed and that have a good backup newer than the one it failed on
 * (a repaired repository, a full backup again): that backup is drilled once, at once, so the
 * volume turns green as soon as a backup restores again.
 */
export function redrills(candidates: readonly DrillCandidate[]): DrillCandidate[] {
  return candidates.filter(
    (c) =>
      c.verification?.verdict === 'Failed' &&
      !c.drilling &&
      c.latestBackup !== undefined &&
      c.latestBackup !== c.verification.backup,
  );
}

/** The name of the one drill of a volume's newer backup after a failed drill: the same for the same backup. */
export function redrillName(pvc: string, backup: string): string {
  const hash = createHash('sha256').update(`${pvc}/${backup}`).digest('hex').slice(0, 8);
  return `${pvc.slice(0, 40).replace(/[^a-z0-9-]/g, '-')}-redrill-${hash}`;
}
