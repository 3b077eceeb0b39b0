// Annotation and label keys Safehold reads and writes, and the one parser for
// the values of `safehold.io/backup`: exactly "true" or "false"; anything else
// is reported as malformed, never taken as either.
export const annotations = {
  backup: 'safehold.io/backup',
  lastBackup: 'safehold.io/last-backup',
  lastResult: 'safehold.io/last-result',
  lastSnapshot: 'safehold.io/last-snapshot',
  lastError: 'safehold.io/last-error',
  /** On a VolumeBackup: when Safehold first saw its PVC gone (the orphan grace period counts from here). */
  orphanedAt: 'safehold.io/orphaned-at',
  /** On the PVC: when its last restore drill with a verdict ended. */
  lastVerified: 'safehold.io/last-verified',
  /** On the PVC: that drill's verdict ("Passed", or "Failed: <reason>: <message>") and the backup it proved. */
  verifyResult: 'safehold.io/verify-result',
  verifiedBackup: 'safehold.io/verified-backup',
  /** On the PVC: when a restore drill last passed (kept when a later one fails). */
  lastPassed: 'safehold.io/last-proven',
  /** On the PVC: the latest schedule slot a run was created for, kept where deleting history cannot touch it. */
  lastScheduled: 'safehold.io/last-scheduled',
} as const;

export type BackupFlag =
  { kind: 'unset' } | { kind: 'set'; value: boolean; key: string } | { kind: 'malformed'; key: string; value: string };

/** Reads a backup flag from the canonical key and its aliases (annotations first, then labels). */
export function readBackupFlag(
  objectAnnotations: Record<string, string> | undefined,
  objectLabels: Record<string, string> | undefined,
  aliases: { annotations: readonly string[]; labels: readonly string[] },
): BackupFlag {
  const found: { key: string; value: string }[] = [];
  for (const key of [annotations.backup, ...aliases.annotations]) {
    const value = objectAnnotations?.[key];
    if (value !== undefined) found.push({ key, value });
  }
  for (const key of aliases.labels) {
    const value = objectLabels?.[key];
    if (value !== undefined) found.push({ key, value });
  }
  const first = found[0];
  if (first === undefined) return { kind: 'unset' };
  for (const entry of found) {
    if (entry.value !== 'true' && entry.value !== 'false')
      return { kind: 'malformed', key: entry.key, value: entry.value };
  }
  const disagreeing = found.find((entry) => entry.value !== first.value);
  if (disagreeing !== undefined) {
    return {
      kind: 'malformed',
      key: `${first.key} and ${disagreeing.key}`,
      value: `${first.value} vs ${disagreeing.value}`,
    };
  }
  return { kind: 'set', value: first.value === 'true', key: first.key };
}
