// What the operator lets read-only pages (the dashboard) see, as plain data:
// the leader's informer caches and coverage rows when a page asks, so it is
// the API's state. Only the leader watches; the other replicas say so. And
// the handler type such pages serve with, beside /metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BackupRepositoryStatus, VolumeBackup, VolumeRestore } from '../api/index.ts';
import type { CoverageRow } from './coverage.ts';
import type { ObjectsRow } from './objects-coverage.ts';

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
  repositories: readonly RepositoryView[];
  /** The cluster's state besides volumes: namespaces' objects, Git repositories, buckets, the cluster's objects. */
  state: readonly ObjectsRow[];
}

export interface RepositoryView {
  name: string;
  status: BackupRepositoryStatus;
}

/** Pages served beside /metrics: answers the requests it knows and returns true, else false (404). */
export type PageHandler = (request: IncomingMessage, response: ServerResponse) => boolean;
