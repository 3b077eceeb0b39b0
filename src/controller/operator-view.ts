// The leader's view for read-only pages (the dashboard), taken from the
// informers' caches when a page asks, so it is the API's state, not the
// operator's memory.
import { backupRepositoryStatus } from '../api/index.ts';
import type { LeaderView } from '../core/index.ts';
import type { ClusterCache } from './cluster-cache.ts';
import type { CoverageController } from './coverage/coverage-controller.ts';

export function leaderView(cache: ClusterCache, coverage: CoverageController, identity: string, now: Date): LeaderView {
  return {
    role: 'leading',
    identity,
    now,
    coverage: coverage.rows(),
    state: coverage.stateRows(),
    backups: cache.catalogue(),
    restores: cache.restores.list(),
    repositories: cache.repositories.list().map((raw) => {
      // A status this version cannot read shows as empty rather than breaking the page.
      const status = backupRepositoryStatus.safeParse((raw as { status?: unknown }).status ?? {});
      return { name: raw.metadata?.name ?? '', status: status.success ? status.data : {} };
    }),
  };
}
