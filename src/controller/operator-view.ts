// What the operator lets read-only pages (the dashboard) see: plain data taken
// from the informers' caches when a page asks, so it is the API's state, not
// the operator's memory. Only the leader watches; the other replicas say so.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  backupRepositoryStatus,
  type BackupRepositoryStatus,
  type VolumeBackup,
  type VolumeRestore,
} from '../api/index.ts';
import type { CoverageRow } from '../core/index.ts';
import type { ClusterCache } from './cluster-cache.ts';
import type { CoverageController } from './coverage-controller.ts';

export type OperatorView =
  | { role: 'standby'; identity: string }
  /** Leading, but not every volume has a decision yet: an empty table would read as "no volumes". */
  | { role: 'starting'; identity: string }
  | LeaderView;

export interface LeaderView {
  role: 'leading';
  identity: string;
  now: Date;
  coverage: readonly CoverageRow[];
  backups: readonly VolumeBackup[];
  restores: readonly VolumeRestore[];
  repositories: readonly { name: string; status: BackupRepositoryStatus }[];
}

/** Pages served beside /metrics: answers the requests it knows and returns true, else false (404). */
export type PageHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

export function leaderView(cache: ClusterCache, coverage: CoverageController, identity: string, now: Date): LeaderView {
  return {
    role: 'leading',
    identity,
    now,
    coverage: coverage.rows(),
    backups: cache.volumeBackups.list(),
    restores: cache.restores.list(),
    repositories: cache.repositories.list().map((raw) => {
      // A status this version cannot read shows as empty rather than breaking the page.
      const status = backupRepositoryStatus.safeParse((raw as { status?: unknown }).status ?? {});
      return { name: raw.metadata?.name ?? '', status: status.success ? status.data : {} };
    }),
  };
}
