// Which clusters of a volume hold anything but zeros, for volumes whose
// storage gives no allocation map (no `rbd diff`). The cost: a backup reads
// the data clusters twice, once here and once when writing the image, and
// reads the zero clusters once (the whole volume is read here). Reading back
// what the page cache or the storage just served is cheap next to restic's
// hashing; the scan itself is a memcmp (Buffer#compare) per cluster.
import { ClusterMap } from '../core/cluster-map.ts';
import type { GuestReader } from './qcow2-writer.ts';

export interface ZeroScanCounts {
  bytesRead: number;
  dataClusters: number;
}

/** The non-zero clusters of a volume of `virtualSize` bytes, as 'data' in a ClusterMap (2 bits per cluster). */
export async function scanNonZero(
  source: GuestReader,
  virtualSize: number,
  clusterSize: number,
  chunkBytes = 16 * 2 ** 20,
): Promise<{ clusters: ClusterMap; counts: ZeroScanCounts }> {
  const clusterCount = Math.ceil(virtualSize / clusterSize);
  const clusters = new ClusterMap(clusterCount);
  const zeros = Buffer.alloc(clusterSize);
  const perChunk = Math.max(1, Math.floor(chunkBytes / clusterSize));
  // Two buffers in turn: the next chunk is read while this one is compared.
  const chunkLength = Math.min(perChunk * clusterSize, virtualSize);
  const buffers = [Buffer.allocUnsafe(chunkLength), Buffer.allocUnsafe(chunkLength)];
  const read = (first: number) => {
    const offset = first * clusterSize;
    const reading = source(
      offset,
      Math.min(chunkLength, virtualSize - offset),
      buffers[(first / perChunk) % 2] ?? zeros,
    );
    reading.catch(() => undefined); // awaited in the loop; a failed read-ahead is not "unhandled" meanwhile
    return reading;
  };
  let bytesRead = 0;
  let dataClusters = 0;
  let reading = clusterCount > 0 ? read(0) : undefined;
  for (let first = 0; first < clusterCount && reading !== undefined; first += perChunk) {
    await reading;
    reading = first + perChunk < clusterCount ? read(first + perChunk) : undefined;
    const bytes = buffers[(first / perChunk) % 2] ?? zeros;
    const length = Math.min(chunkLength, virtualSize - first * clusterSize);
    bytesRead += length;
    for (let at = 0; at < length; at += clusterSize) {
      const end = Math.min(at + clusterSize, length);
      if (bytes.compare(zeros, 0, end - at, at, end) !== 0) {
        clusters.mark(first + at / clusterSize, 1, 'data');
        dataClusters++;
      }
    }
  }
  return { clusters, counts: { bytesRead, dataClusters } };
}
