// The command restic runs for a block backup (`--stdin-from-command`): it
// writes the volume as a QCOW2 image to stdout, which restic stores as one
// file. What to read comes from a plan file the mover wrote; what was read
// goes to a report file beside it, for the mover's summary. A failure exits
// non-zero, and restic then saves no snapshot.
import { open, readFile, writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ByteExtent } from '../core/cluster-map.ts';
import { clusterRuns } from '../core/cluster-map.ts';
import { planQcow2, qcow2ClusterSize } from '../core/qcow2-layout.ts';
import { fileGuestReader, writeQcow2 } from './qcow2-writer.ts';
import { scanNonZero } from './zero-scan.ts';

export interface ImageStreamPlan {
  devicePath: string;
  virtualSize: number;
  /** The extents to store, or 'zero-scan': read the device and store what is not zeros. */
  extents: ByteExtent[] | 'zero-scan';
  backingFile?: string;
  reportPath: string;
}

export interface ImageStreamReport {
  bytesWritten: number;
  /** Bytes read from the device: the scan's and the image's. */
  bytesRead: number;
  dataClusters: number;
}

export async function streamImage(planPath: string, out: Writable): Promise<ImageStreamReport> {
  const plan = JSON.parse(await readFile(planPath, 'utf8')) as ImageStreamPlan;
  const handle = await open(plan.devicePath, 'r');
  try {
    const reader = fileGuestReader(handle);
    let scanned = 0;
    let clusters;
    if (plan.extents === 'zero-scan') {
      const scan = await scanNonZero(reader, plan.virtualSize, qcow2ClusterSize);
      scanned = scan.counts.bytesRead;
      clusters = scan.clusters;
    } else {
      clusters = clusterRuns(plan.extents, qcow2ClusterSize, plan.virtualSize);
    }
    const layout = planQcow2({
      virtualSize: plan.virtualSize,
      clusters,
      ...(plan.backingFile === undefined ? {} : { backingFile: plan.backingFile }),
    });
    const counts = await writeQcow2(layout, reader, out);
    const report: ImageStreamReport = {
      bytesWritten: counts.bytesWritten,
      bytesRead: scanned + counts.guestBytesRead,
      dataClusters: counts.dataClusters,
    };
    await writeFile(plan.reportPath, JSON.stringify(report));
    return report;
  } finally {
    await handle.close();
  }
}
