// The layout of a QCOW2 (version 3) image that can be written in one forward
// pass to a pipe (restic's --stdin-from-command): every piece of metadata
// comes first, then the data clusters in guest order. Host clusters, in order:
//
//   header cluster (header, header extensions, backing file name)
//   L1 table | refcount table | refcount blocks | L2 tables | data clusters
//
// Each host cluster is used once, so every refcount is 1 and the L1 and L2
// entries carry the "refcount is exactly one" bit (63, QCOW_OFLAG_COPIED in
// `qemu-img check`'s words). Field names below are those of QEMU's
// docs/interop/qcow2.txt. Pure: no I/O, the metadata is generated in pieces of
// one table or one cluster, because a fully allocated 2 TiB volume has 256 MiB
// of L2 tables.
import { ClusterMap, type ClusterRun } from './cluster-map.ts';

export const qcow2ClusterBits = 16;
/** 64 KiB: QEMU's default, 8192 entries per L2 table, so one L2 table maps 512 MiB. */
export const qcow2ClusterSize = 2 ** qcow2ClusterBits;
export const qcow2Magic = 0x514649fb; // "QFI\xfb"
/** QEMU counts a qcow2 image's size in 512-byte sectors and would round any other size. */
export const qcow2SizeUnit = 512;
/** 64 TiB: a 256 MiB cluster map; far above any volume we back up. */
export const qcow2MaxVirtualSize = 2 ** 46;
/** The spec's limit on backing_file_size. */
export const qcow2MaxBackingFileBytes = 1023;

const l2Entries = qcow2ClusterSize / 8;
const refcountOrder = 4; // 16-bit refcounts, QEMU's default
const refcountsPerBlock = (qcow2ClusterSize * 8) / 2 ** refcountOrder;
const refcountTableEntriesPerCluster = qcow2ClusterSize / 8;
const headerLength = 104; // the version 3 header without the optional compression_type
const backingFormatExtension = 0xe2792aca;
const backingFormat = 'qcow2';
const copied = 0x80000000; // bit 63 of an L1 or L2 entry, in the high 32-bit word

export class Qcow2LayoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'Qcow2LayoutError';
  }
}

export interface Qcow2Plan {
  /** Bytes; a multiple of 512. */
  virtualSize: number;
  /**
   * The listed guest clusters: runs in increasing order (convenient for a few
   * runs, e.g. from `clusterRuns`), or a ClusterMap (2 bits per cluster, for
   * large fragmented volumes such as a zero scan of 2 TiB; used as is, not copied).
   */
  clusters: ClusterMap | Iterable<ClusterRun>;
  /** Written into the image as is; QEMU opens it relative to the image's folder. */
  backingFile?: string;
}

export interface Qcow2Layout {
  readonly virtualSize: number;
  readonly clusterSize: number;
  readonly backingFile: string | undefined;
  readonly clusters: ClusterMap;
  /** l1_size: one entry per 512 MiB of guest space. */
  readonly l1Entries: number;
  readonly l1Offset: number;
  readonly refcountTableOffset: number;
  readonly refcountTableClusters: number;
  readonly refcountBlocksOffset: number;
  readonly refcountBlocks: number;
  readonly l2Offset: number;
  readonly l2Tables: number;
  /** Per L1 entry, the ordinal of its L2 table among the L2 tables, or -1 when it lists nothing. */
  readonly l2Ordinals: Int32Array;
  /** Host offset of the first data cluster: data cluster k (in guest order) is at dataOffset + k * clusterSize. */
  readonly dataOffset: number;
  readonly dataClusters: number;
  /** Length of the whole image; every host cluster up to here has refcount 1. */
  readonly fileSize: number;
}

export function planQcow2(plan: Qcow2Plan): Qcow2Layout {
  const { virtualSize, backingFile } = plan;
  const cs = qcow2ClusterSize;
  if (!Number.isSafeInteger(virtualSize) || virtualSize < 0 || virtualSize > qcow2MaxVirtualSize) {
    throw new Qcow2LayoutError(`the virtual size must be 0 to ${qcow2MaxVirtualSize} bytes, not ${virtualSize}`);
  }
  if (virtualSize % qcow2SizeUnit !== 0) {
    throw new Qcow2LayoutError(
      `the virtual size ${virtualSize} is not a multiple of ${qcow2SizeUnit} bytes, which QEMU would round`,
    );
  }
  if (backingFile !== undefined) {
    const bytes = Buffer.byteLength(backingFile);
    if (bytes === 0 || bytes > qcow2MaxBackingFileBytes || backingFile.includes('\0')) {
      throw new Qcow2LayoutError(
        `the backing file name must be 1 to ${qcow2MaxBackingFileBytes} bytes without NUL, not ${bytes} bytes`,
      );
    }
  }
  const clusterCount = Math.ceil(virtualSize / cs);
  let clusters: ClusterMap;
  try {
    clusters = plan.clusters instanceof ClusterMap ? plan.clusters : ClusterMap.fromRuns(plan.clusters, clusterCount);
  } catch (error) {
    throw new Qcow2LayoutError(`the cluster list does not fit the volume: ${String(error)}`, { cause: error });
  }
  if (clusters.clusterCount !== clusterCount) {
    throw new Qcow2LayoutError(`the cluster map has ${clusters.clusterCount} clusters, the volume ${clusterCount}`);
  }

  const l1Entries = Math.ceil(clusterCount / l2Entries);
  const l2Ordinals = new Int32Array(l1Entries).fill(-1);
  let l2Tables = 0;
  let dataClusters = 0;
  for (const run of clusters.runs()) {
    if (run.kind === 'data') dataClusters += run.count;
    const last = Math.floor((run.start + run.count - 1) / l2Entries);
    for (let j = Math.floor(run.start / l2Entries); j <= last; j++) {
      if (l2Ordinals[j] === -1) l2Ordinals[j] = l2Tables++;
    }
  }

  // Fixed point: the refcount blocks count every host cluster, themselves and
  // the refcount table included. Growing them only grows the file, so start
  // small and grow until the counts hold still (two or three rounds).
  const l1Clusters = Math.ceil((l1Entries * 8) / cs);
  let refcountBlocks = 1;
  let refcountTableClusters = 1;
  const hostClustersNow = () => 1 + l1Clusters + refcountTableClusters + refcountBlocks + l2Tables + dataClusters;
  for (;;) {
    const blocks = Math.ceil(hostClustersNow() / refcountsPerBlock);
    const tableClusters = Math.ceil(blocks / refcountTableEntriesPerCluster);
    if (blocks <= refcountBlocks && tableClusters <= refcountTableClusters) break;
    refcountBlocks = Math.max(refcountBlocks, blocks);
    refcountTableClusters = Math.max(refcountTableClusters, tableClusters);
  }
  const hostClusters = hostClustersNow();

  // Like QEMU's own empty images, an image without L1 entries has l1_table_offset 0.
  const l1Offset = l1Entries === 0 ? 0 : cs;
  const refcountTableOffset = (1 + l1Clusters) * cs;
  const refcountBlocksOffset = refcountTableOffset + refcountTableClusters * cs;
  const l2Offset = refcountBlocksOffset + refcountBlocks * cs;
  const dataOffset = l2Offset + l2Tables * cs;
  return {
    virtualSize,
    clusterSize: cs,
    backingFile,
    clusters,
    l1Entries,
    l1Offset,
    refcountTableOffset,
    refcountTableClusters,
    refcountBlocksOffset,
    refcountBlocks,
    l2Offset,
    l2Tables,
    l2Ordinals,
    dataOffset,
    dataClusters,
    fileSize: hostClusters * cs,
  };
}

/**
 * Every byte of the image before the first data cluster, in order, as pieces
 * of at most one table or one cluster; their lengths add up to `dataOffset`.
 */
export function* qcow2Metadata(layout: Qcow2Layout): Generator<Buffer> {
  const cs = layout.clusterSize;
  yield headerCluster(layout);

  const l1 = Buffer.alloc(Math.ceil((layout.l1Entries * 8) / cs) * cs);
  layout.l2Ordinals.forEach((ordinal, j) => {
    if (ordinal >= 0) putEntry(l1, j * 8, layout.l2Offset + ordinal * cs, copied);
  });
  if (l1.length > 0) yield l1;

  const table = Buffer.alloc(layout.refcountTableClusters * cs);
  for (let k = 0; k < layout.refcountBlocks; k++) putEntry(table, k * 8, layout.refcountBlocksOffset + k * cs, 0);
  yield table;

  const hostClusters = layout.fileSize / cs;
  for (let k = 0; k < layout.refcountBlocks; k++) {
    const block = Buffer.alloc(cs);
    const count = Math.min(refcountsPerBlock, hostClusters - k * refcountsPerBlock);
    for (let i = 0; i < count; i++) block.writeUInt16BE(1, i * 2);
    yield block;
  }

  yield* l2Tables(layout);
}

function* l2Tables(layout: Qcow2Layout): Generator<Buffer> {
  const cs = layout.clusterSize;
  let table = Buffer.alloc(0);
  let tableIndex = -1;
  let nextData = layout.dataOffset;
  for (const run of layout.clusters.runs()) {
    for (let c = run.start; c < run.start + run.count; c++) {
      const j = Math.floor(c / l2Entries);
      if (j !== tableIndex) {
        if (tableIndex >= 0) yield table;
        table = Buffer.alloc(cs);
        tableIndex = j;
      }
      const at = (c % l2Entries) * 8;
      if (run.kind === 'data') {
        putEntry(table, at, nextData, copied);
        nextData += cs;
      } else {
        // Standard cluster descriptor bit 0: reads as zeros; no host cluster, so not COPIED.
        table.writeUInt32BE(1, at + 4);
      }
    }
  }
  if (tableIndex >= 0) yield table;
}

/** The header fields, the backing file format extension, the end of extensions, then the backing file name. */
function headerCluster(layout: Qcow2Layout): Buffer {
  const cluster = Buffer.alloc(layout.clusterSize);
  const backing = layout.backingFile === undefined ? undefined : Buffer.from(layout.backingFile);
  let extensions = headerLength;
  if (backing !== undefined) {
    cluster.writeUInt32BE(backingFormatExtension, extensions);
    cluster.writeUInt32BE(backingFormat.length, extensions + 4);
    cluster.write(backingFormat, extensions + 8, 'latin1');
    extensions += 8 + Math.ceil(backingFormat.length / 8) * 8;
  }
  extensions += 8; // end of the header extension area: type 0, length 0
  cluster.writeUInt32BE(qcow2Magic, 0);
  cluster.writeUInt32BE(3, 4); // version
  if (backing !== undefined) {
    putEntry(cluster, 8, extensions, 0); // backing_file_offset
    cluster.writeUInt32BE(backing.length, 16); // backing_file_size
    backing.copy(cluster, extensions);
  }
  cluster.writeUInt32BE(qcow2ClusterBits, 20);
  putEntry(cluster, 24, layout.virtualSize, 0); // size
  // 32 crypt_method 0: none
  cluster.writeUInt32BE(layout.l1Entries, 36); // l1_size
  putEntry(cluster, 40, layout.l1Offset, 0);
  putEntry(cluster, 48, layout.refcountTableOffset, 0);
  cluster.writeUInt32BE(layout.refcountTableClusters, 56);
  // 60 nb_snapshots 0, 64 snapshots_offset 0, 72 incompatible, 80 compatible, 88 autoclear features: none
  cluster.writeUInt32BE(refcountOrder, 96);
  cluster.writeUInt32BE(headerLength, 100);
  return cluster;
}

/** A 64-bit big-endian offset at `at`, with `high` OR-ed into its upper word (for bit 63). */
function putEntry(buffer: Buffer, at: number, offset: number, high: number): void {
  buffer.writeUInt32BE((Math.floor(offset / 2 ** 32) | high) >>> 0, at);
  buffer.writeUInt32BE(offset % 2 ** 32, at + 4);
}
