// One backup task: the source folder is there, the repository is ready, then
// the engine backs the folder up (a CephFS snapshot of it, when the task asks
// for one), its progress throttled, its summary the result. The snapshot
// carries the time the data was captured, not the upload's.
import type { BackupSummary, BackupTask, MoverProgress } from '../api/index.ts';
import { makeCephfsSnapshot } from './cephfs-snapshot.ts';
import { compressionFor, describeChoice } from './compression-choice.ts';
import { sampleData } from './data-sample.ts';
import type { Repository } from './engine.ts';
import type { Failure } from './failure.ts';
import { throttledProgress } from './progress-throttle.ts';
import { utcSnapshotTime } from './snapshot-time.ts';
import { checkSourceFolder } from './source-folder.ts';

export interface BackupSteps {
  repository: Repository;
  progress: (progress: MoverProgress) => void;
  log: (text: string) => void;
  warn: (text: string) => void;
  nowMs: () => number;
  progressIntervalMs: number;
}

/** The task's snapshotTime as engines take it; a Failure when it is not an RFC 3339 time. */
export function snapshotTimeOf(task: { snapshotTime?: string | undefined }): { time?: string } | Failure {
  if (task.snapshotTime === undefined) return {};
  const time = utcSnapshotTime(task.snapshotTime);
  if (time === undefined)
    return { type: 'error', code: 'InvalidTask', message: `snapshotTime ${task.snapshotTime} is not an RFC 3339 time` };
  return { time };
}

export async function runBackup(task: BackupTask, steps: BackupSteps): Promise<BackupSummary | Failure> {
  const when = snapshotTimeOf(task);
  if ('type' in when) return when;
  const missing = await checkSourceFolder(task.sourcePath);
  if (missing !== undefined) return missing;
  const notReady = await steps.repository.prepare({ create: task.repository.initialize, onFirstUse: true });
  if (notReady !== undefined) return notReady;
  const backUp = async (path: string) => {
    const sample = task.compression === 'auto' ? await sampleData(path) : undefined;
    const compression = compressionFor(task.compression, sample);
    steps.log(describeChoice(compression, sample));
    const progress = throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress);
    const { host, tags, changeDetection, verifyBeforeUpload } = task;
    const backup = { path, host, tags, ...when, changeDetection, compression, verifyBeforeUpload };
    const saved = await steps.repository.backupFolder(backup, progress);
    return saved.ok ? saved.value : saved.error;
  };
  if (task.cephfsSnapshot === undefined) return backUp(task.sourcePath);

  const snapshot = await makeCephfsSnapshot(task.sourcePath, task.cephfsSnapshot.name);
  if ('type' in snapshot) return snapshot;
  try {
    return await backUp(snapshot.path);
  } finally {
    await snapshot
      .remove()
      .catch((error: unknown) => steps.warn(`could not remove ${snapshot.path}: ${String(error)}`));
  }
}
