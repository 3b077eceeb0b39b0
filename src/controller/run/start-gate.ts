// Starts of backups and of repository maintenance are decided one at a time,
// against the caches plus the runs this operator has started but the caches
// do not show yet. So a backup, a restore or a download never starts beside a
// prune of its repository,
// and two backups never both take the last mover slot.
export class StartGate {
  /** UIDs of VolumeBackups whose start was written but whose new phase the cache has not shown yet. */
  readonly starting = new Set<string>();
  /** UIDs of RepositoryMaintenance runs likewise started but not yet seen running. */
  readonly startingMaintenance = new Set<string>();
  /** UIDs of VolumeRestores and BackupDownloads likewise started: they read a repository a prune must not change. */
  readonly startingReads = new Set<string>();
  #lock: Promise<unknown> = Promise.resolve();

  serialize<T>(decide: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(decide);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}
