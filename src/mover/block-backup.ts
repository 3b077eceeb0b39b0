// One block backup: the device's size, the repository ready, the extents to
// store (rbd diff, incrementally since the kept base snapshot when the task
// says so, else a zero scan), then the engine backs up the stdout of this
// program's image stream, stored as one QCOW2 file. An overlay
// names its parent's image as its backing file and is tagged with the parent.
// When the base snapshot is gone, or rbd diff cannot be had, the backup is a
// full image and says why.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentTagPrefix, type BackupSummary, type BlockBackupTask, type BlockImageReport } from '../api/index.ts';
import type { ByteExtent } from '../core/cluster-map.ts';
import { qcow2ClusterSize } from '../core/qcow2-layout.ts';
import { snapshotTimeOf, type BackupSteps } from './backup.ts';
import { deviceSize } from './block-device.ts';
import { compressionFor } from './compression-choice.ts';
import type { Failure } from './failure.ts';
import type { ImageStreamPlan, ImageStreamReport } from './image-stream.ts';
import { throttledProgress } from './progress-throttle.ts';
import { imageSpec, type Rbd } from './rbd.ts';

export interface BlockBackupSteps extends BackupSteps {
  /** The argv that runs this program's `image-stream PLAN` command. */
  imageStreamCommand: (planPath: string) => string[];
  tempDir: string;
  /** Reaches Ceph for the task's rbd-diff extents. */
  rbd: (task: Extract<BlockBackupTask['extents'], { source: 'rbd-diff' }>) => Promise<Rbd>;
}

/** The QCOW2 backing file an overlay names: its parent's image, as `safehold dump` would save it. */
export function backingFileName(fileName: string, parent: string): string {
  return `${fileName.replace(/\.qcow2$/, '')}-${parent.slice(0, 8)}.qcow2`;
}

interface Extents {
  extents: ByteExtent[] | 'zero-scan';
  extentsFrom: BlockImageReport['extentsFrom'];
  rbdSnapshot?: string;
  parent?: string;
  fullBecause?: string;
  scanBecause?: string;
}

export async function runBlockBackup(task: BlockBackupTask, steps: BlockBackupSteps): Promise<BackupSummary | Failure> {
  const when = snapshotTimeOf(task);
  if ('type' in when) return when;
  const size = await deviceSize(task.devicePath);
  if (typeof size !== 'number') return size;
  const notReady = await steps.repository.prepare({ create: task.repository.initialize });
  if (notReady !== undefined) return notReady;
  const chosen = await extentsOf(task, steps);

  const dir = await mkdtemp(join(steps.tempDir, 'image-'));
  try {
    const plan: ImageStreamPlan = {
      devicePath: task.devicePath,
      virtualSize: size,
      extents: chosen.extents,
      ...(chosen.parent === undefined ? {} : { backingFile: backingFileName(task.fileName, chosen.parent) }),
      reportPath: join(dir, 'report.json'),
    };
    const planPath = join(dir, 'plan.json');
    await writeFile(planPath, JSON.stringify(plan));
    const tags = [
      ...task.tags,
      'format=qcow2',
      ...(chosen.parent === undefined ? [] : [`${parentTagPrefix}${chosen.parent}`]),
    ];
    const progress = throttledProgress(steps.progressIntervalMs, steps.nowMs, steps.progress);
    const command = steps.imageStreamCommand(planPath);
    const saved = await steps.repository.backupStream(
      {
        host: task.host,
        tags,
        ...when,
        fileName: task.fileName,
        command,
        compression: compressionFor(task.compression, undefined),
        verifyBeforeUpload: task.verifyBeforeUpload,
      },
      progress,
    );
    if (!saved.ok) return saved.error;
    const summary = saved.value;
    const report = JSON.parse(await readFile(plan.reportPath, 'utf8')) as ImageStreamReport;
    return {
      ...summary,
      block: {
        fileName: task.fileName,
        virtualSize: size,
        dataBytes: report.dataClusters * qcow2ClusterSize,
        bytesRead: report.bytesRead,
        extentsFrom: chosen.extentsFrom,
        ...(chosen.rbdSnapshot === undefined ? {} : { rbdSnapshot: chosen.rbdSnapshot }),
        ...(chosen.parent === undefined ? {} : { parent: chosen.parent }),
        ...(chosen.fullBecause === undefined ? {} : { fullBecause: chosen.fullBecause }),
        ...(chosen.scanBecause === undefined ? {} : { scanBecause: chosen.scanBecause }),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** rbd diff (since the base when it is still there), else a zero scan; each fallback says why. */
async function extentsOf(task: BlockBackupTask, steps: BlockBackupSteps): Promise<Extents> {
  const given = task.fullBecause === undefined ? {} : { fullBecause: task.fullBecause };
  const source = task.extents;
  if (source.source === 'zero-scan') return { extents: 'zero-scan', extentsFrom: 'zero-scan', ...given };
  const ref = `${imageSpec(source.snapshot)}@${source.snapshot.snapshot}`;
  const rbd = await steps.rbd(source);
  try {
    const from = source.fromSnapshot;
    if (from !== undefined && task.parent !== undefined) {
      // One rbd call on the usual path; the snapshot list only explains a failure.
      const changed = await rbd.diff(source.snapshot, from);
      if (changed.ok) return { extents: changed.value, extentsFrom: 'rbd-diff', rbdSnapshot: ref, parent: task.parent };
      const names = await rbd.snapshots(source.snapshot);
      given.fullBecause =
        names.ok && !names.value.includes(from)
          ? `the base snapshot ${from} is no longer on ${imageSpec(source.snapshot)}`
          : `rbd diff since ${from} failed`;
      steps.warn(`${changed.message}: writing a full image (${given.fullBecause})`);
    }
    const all = await rbd.diff(source.snapshot);
    if (all.ok) return { extents: all.value, extentsFrom: 'rbd-diff', rbdSnapshot: ref, ...given };
    steps.warn(`${all.message}: scanning the device for data instead`);
    return { extents: 'zero-scan', extentsFrom: 'zero-scan', scanBecause: all.message.slice(0, 500), ...given };
  } finally {
    await rbd.close();
  }
}
