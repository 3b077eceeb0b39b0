// What every mover task names: the restic repository, and restic snapshot ids.
import { z } from 'zod';

export const repositoryTarget = z.object({
  /** restic repository URL, e.g. s3:http://rgw.example:7480/backups/tenant-a */
  url: z.string().min(1),
  region: z.string().optional(),
  /** Create the repository when it does not exist yet. */
  initialize: z.boolean().default(true),
});
// Stale locks: the mover runs `restic unlock`, which removes only locks restic
// itself deems stale (held by a dead process on the same host, or not
// refreshed for 30 minutes; restic offers no other threshold). Backups take
// shared locks, so a dead mover's lock only delays exclusive prune and check.

/** A restic snapshot id as restic prints it: 64 hex digits, or a unique prefix of at least 8. */
export const resticSnapshotId = z.string().regex(/^[0-9a-f]{8,64}$/, 'a restic snapshot id (hex)');
