// What every mover task names: the repository, its engine, and snapshot ids.
import { z } from 'zod';
import { repositoryEngines } from './backup-repository.ts';

export const repositoryTarget = z.object({
  /** The repository's format: the engine the mover runs (BackupRepository spec.engine). */
  engine: z.enum(repositoryEngines).default('restic'),
  /** restic repository URL, e.g. s3:http://rgw.example:7480/backups/tenant-a */
  url: z.string().min(1),
  region: z.string().optional(),
  /** Create the repository when it does not exist yet. */
  initialize: z.boolean().default(true),
  /**
   * Where the repository's settings come from, in the words a user fixes them with, so a failure
   * names the field or Secret to change rather than the mover's environment variables.
   */
  source: z
    .object({
      /** 'BackupRepository <name>' */
      repository: z.string(),
      /** 'BackupRepository <name> spec.password (Secret <ns>/<name>, key <key>)' or 'the generated key Secret <ns>/<name>' */
      password: z.string(),
      /** The two Secret keys the S3 access key comes from, with their spec fields. */
      s3Keys: z.string(),
    })
    .optional(),
});
export type RepositoryTarget = z.infer<typeof repositoryTarget>;

// Stale locks: the mover runs `restic unlock`, which removes only locks restic
// itself deems stale (held by a dead process on the same host, or not
// refreshed for 30 minutes; restic offers no other threshold). Backups take
// shared locks, so a dead mover's lock only delays exclusive prune and check.

/** A restic snapshot id as restic prints it: 64 hex digits, or a unique prefix of at least 8. */
export const resticSnapshotId = z.string().regex(/^[0-9a-f]{8,64}$/, 'a restic snapshot id (hex)');
