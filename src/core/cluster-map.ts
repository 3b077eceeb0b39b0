// Which guest clusters of a block volume an image lists, and as what: 'data'
// (read and stored) or 'zero' (a QCOW2 v3 "reads as zeros" entry: in an
// overlay, the cluster became zeros relative to the backing file). Unlisted
// clusters read as zeros in a full image and as the backing file in an overlay.
//
// A 2 TiB volume has 32 Mi clusters of 64 KiB, so nothing here holds a JS
// object per cluster or per run: ClusterMap keeps 2 bits per cluster (8 MiB
// for 2 TiB, whatever the fragmentation), and runs are generated on demand.

export type ClusterKind = 'data' | 'zero';

/** `count` consecutive guest clusters from index `start`, all of one kind. */
export interface ClusterRun {
  start: number;
  count: number;
  kind: ClusterKind;
}

/** A byte range of a volume and what it holds ('zero': known to read as zeros). */
export interface ByteExtent {
  offset: number;
  length: number;
  kind: ClusterKind;
}

const codeOf = { data: 1, zero: 2 } as const;
const kindOf = [undefined, 'data', 'zero', undefined] as const;
/** Largest map we make: 2^32 clusters is 256 TiB at 64 KiB, and a 1 GiB map. */
const maxClusters = 2 ** 32;

export class ClusterMap {
  readonly clusterCount: number;
  readonly #codes: Uint8Array;

  constructor(clusterCount: number) {
    if (!Number.isSafeInteger(clusterCount) || clusterCount < 0 || clusterCount > maxClusters) {
      throw new RangeError(`a cluster map holds 0 to ${maxClusters} clusters, not ${clusterCount}`);
    }
    this.clusterCount = clusterCount;
    this.#codes = new Uint8Array(Math.ceil(clusterCount / 4));
  }

  /** A map of the given runs, which must be in increasing order and not overlap. */
  static fromRuns(runs: Iterable<ClusterRun>, clusterCount: number): ClusterMap {
    const map = new ClusterMap(clusterCount);
    let end = 0;
    for (const run of runs) {
      if (!Number.isSafeInteger(run.start) || run.start < end) {
        throw new RangeError(
          `cluster runs must be in increasing order without overlap: run at ${run.start} after ${end}`,
        );
      }
      map.mark(run.start, run.count, run.kind);
      end = run.start + run.count;
    }
    return map;
  }

  /** Marks clusters [start, start + count) as `kind`, replacing what they were. */
  mark(start: number, count: number, kind: ClusterKind): void {
    const end = start + count;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 1) {
      throw new RangeError(`a cluster run needs a start >= 0 and a count >= 1, not ${start} and ${count}`);
    }
    if (end > this.clusterCount) {
      throw new RangeError(`clusters ${start} to ${end - 1} are past the end (${this.clusterCount} clusters)`);
    }
    const code = codeOf[kind];
    let i = start;
    for (; i < end && i % 4 !== 0; i++) this.#set(i, code);
    const wholeBytes = Math.floor((end - i) / 4);
    if (wholeBytes > 0) {
      this.#codes.fill(code * 0x55, i / 4, i / 4 + wholeBytes);
      i += wholeBytes * 4;
    }
    for (; i < end; i++) this.#set(i, code);
  }

  kindAt(index: number): ClusterKind | undefined {
    const byte = this.#codes[Math.floor(index / 4)] ?? 0;
    return kindOf[(byte >> ((index % 4) * 2)) & 3];
  }

  /** The listed clusters as maximal runs, in increasing order. */
  *runs(): Generator<ClusterRun> {
    const codes = this.#codes;
    const n = this.clusterCount;
    let runStart = 0;
    let runCode = 0;
    let i = 0;
    while (i < n) {
      // Four clusters of one kind share a byte (0x00, 0x55 or 0xaa): step over it at once.
      const byte = codes[Math.floor(i / 4)] ?? 0;
      const uniform = i % 4 === 0 && i + 4 <= n && (byte === 0 || byte === 0x55 || byte === 0xaa);
      const code = uniform ? byte & 3 : (byte >> ((i % 4) * 2)) & 3;
      if (code !== runCode) {
        const kind = kindOf[runCode];
        if (kind !== undefined) yield { start: runStart, count: i - runStart, kind };
        runStart = i;
        runCode = code;
      }
      i += uniform ? 4 : 1;
    }
    const kind = kindOf[runCode];
    if (kind !== undefined) yield { start: runStart, count: n - runStart, kind };
  }

  #set(index: number, code: number): void {
    const at = Math.floor(index / 4);
    const shift = (index % 4) * 2;
    this.#codes[at] = ((this.#codes[at] ?? 0) & ~(3 << shift)) | (code << shift);
  }
}

/**
 * Byte extents (e.g. from `rbd diff`) as sorted, merged runs of whole clusters.
 * A cluster any data extent touches is data; so is a cluster a zero extent
 * covers only in part, because its other bytes must still be stored. A zero
 * extent covering whole clusters makes them 'zero'. The last cluster may be
 * partial: reaching `virtualSize` covers it.
 */
export function clusterRuns(extents: readonly ByteExtent[], clusterSize: number, virtualSize: number): ClusterRun[] {
  const clusterCount = Math.ceil(virtualSize / clusterSize);
  for (const e of extents) {
    if (e.offset < 0 || e.length < 0 || e.offset + e.length > virtualSize) {
      throw new RangeError(
        `the extent at ${e.offset} of ${e.length} bytes is outside the volume of ${virtualSize} bytes`,
      );
    }
  }
  const merged = (kind: ClusterKind) => mergeIntervals(extents.filter((e) => e.kind === kind && e.length > 0));
  const data: [number, number][] = [];
  const zero: [number, number][] = [];
  for (const [from, to] of merged('data')) data.push([Math.floor(from / clusterSize), Math.ceil(to / clusterSize)]);
  for (const [from, to] of merged('zero')) {
    const first = Math.floor(from / clusterSize);
    const last = to === virtualSize ? clusterCount : Math.ceil(to / clusterSize);
    const fullFrom = Math.ceil(from / clusterSize);
    const fullTo = to === virtualSize ? clusterCount : Math.floor(to / clusterSize);
    if (fullFrom >= fullTo) {
      data.push([first, last]);
      continue;
    }
    if (first < fullFrom) data.push([first, fullFrom]);
    zero.push([fullFrom, fullTo]);
    if (fullTo < last) data.push([fullTo, last]);
  }
  const dataRuns = mergeIntervals(data.map(([from, to]) => ({ offset: from, length: to - from })));
  const runs: ClusterRun[] = dataRuns.map(([from, to]) => ({ start: from, count: to - from, kind: 'data' }));
  // Zero runs keep only what no data run claims.
  let d = 0;
  for (const [zeroFrom, zeroTo] of mergeIntervals(zero.map(([from, to]) => ({ offset: from, length: to - from })))) {
    let from = zeroFrom;
    while (d < dataRuns.length && (dataRuns[d]?.[1] ?? 0) <= from) d++;
    for (let k = d; from < zeroTo; k++) {
      const [dataFrom, dataTo] = dataRuns[k] ?? [Infinity, Infinity];
      const to = Math.min(zeroTo, dataFrom);
      if (to > from) runs.push({ start: from, count: to - from, kind: 'zero' });
      from = Math.max(from, dataTo);
    }
  }
  runs.sort((a, b) => a.start - b.start);
  return joinAdjacent(runs);
}

/** Sorted, merged [from, to) intervals of the extents (adjacent ones joined). */
function mergeIntervals(extents: readonly { offset: number; length: number }[]): [number, number][] {
  const sorted = [...extents].sort((a, b) => a.offset - b.offset);
  const out: [number, number][] = [];
  for (const { offset, length } of sorted) {
    const last = out.at(-1);
    if (last !== undefined && offset <= last[1]) last[1] = Math.max(last[1], offset + length);
    else out.push([offset, offset + length]);
  }
  return out;
}

function joinAdjacent(runs: readonly ClusterRun[]): ClusterRun[] {
  const out: ClusterRun[] = [];
  for (const run of runs) {
    const last = out.at(-1);
    if (last !== undefined && last.kind === run.kind && last.start + last.count === run.start) last.count += run.count;
    else out.push({ ...run });
  }
  return out;
}
