// What `safehold status` says about the repositories the shown volumes back up
// to: each one whose Ready condition is False, with the operator's reason and
// what to fix, so a bad endpoint or a missing bucket shows before a backup fails.
import type { BackupPolicy, BackupRepositoryStatus } from '../api/index.ts';
import type { CoverageRow } from '../core/index.ts';
import { isForbidden, isNotFound, kinds, type KubeClient, type KubeObject } from '../kube/index.ts';

type RawRepository = KubeObject & { status?: BackupRepositoryStatus };

/** One line per repository of the shown protected rows that is not Ready. */
export async function repositoryWarnings(
  client: KubeClient,
  rows: readonly CoverageRow[],
  policies: readonly BackupPolicy[],
): Promise<string[]> {
  let repositories: RawRepository[];
  try {
    repositories = (await client.list<RawRepository>(kinds.backupRepository)).items;
  } catch (error) {
    // A tenant may not read repositories; the operator's dashboard shows them.
    if (isForbidden(error) || isNotFound(error)) return [];
    throw error;
  }
  // A policy naming no repository uses the only one there is.
  const only = repositories.length === 1 ? repositories[0]?.metadata?.name : undefined;
  const used = new Set(
    rows.flatMap((row) => {
      const d = row.decision;
      const policy = d.state === 'protected' ? policies.find((p) => p.metadata.name === d.policy) : undefined;
      const name = policy === undefined ? undefined : (policy.spec.repository?.name ?? only);
      return name === undefined ? [] : [name];
    }),
  );
  return repositories
    .filter((r) => used.has(r.metadata?.name ?? ''))
    .flatMap((r) => {
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'False') return [];
      return [`BackupRepository ${r.metadata?.name} is not Ready (${ready.reason}): ${ready.message ?? ''}`];
    })
    .sort();
}
