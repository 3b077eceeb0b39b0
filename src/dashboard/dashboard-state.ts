// What the pages read: plain data the operator hands over on each request
// (src/bin joins it to the controller's view, whose shape matches this one).
// Only the replica that leads has the cluster in its caches; the others say so.
import type { BackupRepositoryStatus, VolumeBackup, VolumeRestore } from '../api/index.ts';
import type { CoverageRow } from '../core/index.ts';

export type DashboardState =
  { role: 'standby'; identity: string } | { role: 'starting'; identity: string } | LeaderState;

export interface LeaderState {
  role: 'leading';
  identity: string;
  now: Date;
  coverage: readonly CoverageRow[];
  backups: readonly VolumeBackup[];
  restores: readonly VolumeRestore[];
  repositories: readonly RepositoryState[];
}

export interface RepositoryState {
  name: string;
  status: BackupRepositoryStatus;
}
