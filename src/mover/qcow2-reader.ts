// A streaming QCOW2 decoder for restores: it reads an image front to back
// (the stdout of `restic dump`) and yields what the guest sees, in file order,
// without holding the image. That works for images whose metadata precede the
// data they describe, as src/core/qcow2-layout.ts makes them (QEMU's own
// `qemu-img convert` output also qualifies: it allocates an L2 table before
// the data it maps). Anything else is refused with the reason; so are the
// features a restore cannot honour (compression, encryption, external data
// files, extended L2 entries, unknown incompatible features). Field names are
// those of QEMU's docs/interop/qcow2.txt. Refcounts and snapshots do not
// change what the active L1 table maps, so they are skipped unread.
import { qcow2Magic } from '../core/qcow2-layout.ts';
import { ByteStream } from './byte-stream.ts';
import { PendingClusters } from './pending-clusters.ts';

export type Qcow2Event =
  | { type: 'header'; virtualSize: number; clusterSize: number; backingFile?: string }
  | { type: 'data'; guestOffset: number; bytes: Buffer }
  | { type: 'zero'; guestOffset: number; length: number };

export class Qcow2FormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'Qcow2FormatError';
  }
}

const metadataFirst = 'this decoder reads only images whose metadata precede the data they describe';
const dataRunBytes = 4 * 2 ** 20;
const incompatibleNames = ['dirty', 'corrupt', 'external data file', 'compression type', 'extended L2 entries'];
const extensionRefused = new Map([
  [0x0537be77, 'a full disk encryption header'],
  [0x44415441, 'an external data file'],
]);

interface Header {
  version: number;
  clusterSize: number;
  virtualSize: number;
  l1Entries: number;
  l1Offset: number;
  backingFile: string | undefined;
}

/** The guest's view of the image: a 'header' event, then 'data' and 'zero' events in file order. */
export async function* readQcow2(input: AsyncIterable<Buffer>): AsyncGenerator<Qcow2Event> {
  const stream = new ByteStream(input, (message) => new Qcow2FormatError(message));
  try {
    yield* decode(stream);
  } finally {
    // A consumer that stops early (a refused image) lets go of the input: a pipe's writer then stops too.
    await stream.close();
  }
}

async function* decode(stream: ByteStream): AsyncGenerator<Qcow2Event> {
  const header = await readHeader(stream);
  const { clusterSize: cs, virtualSize } = header;
  yield {
    type: 'header',
    virtualSize,
    clusterSize: cs,
    ...(header.backingFile === undefined ? {} : { backingFile: header.backingFile }),
  };
  if (header.l1Entries === 0) return await stream.drain();

  await stream.skipTo(header.l1Offset, 'the L1 table');
  const l1 = await stream.read(header.l1Entries * 8, 'the L1 table');
  const tables = l2TablesOf(l1, header, stream.position);
  const pending = new PendingClusters();
  const l2Entries = cs / 8;
  const batchClusters = Math.max(1, Math.floor(dataRunBytes / cs));
  let t = 0;
  for (;;) {
    const table = tables[t];
    const dataAt = pending.firstHost() * cs;
    if (table === undefined && pending.empty) break;
    if (table !== undefined && table.offset <= dataAt) {
      if (table.offset === dataAt) throw new Qcow2FormatError(`host offset ${dataAt} is both an L2 table and data`);
      t++;
      await stream.skipTo(table.offset, `the L2 table at host offset ${table.offset}`);
      const l2 = await stream.read(cs, `the L2 table at host offset ${table.offset}`);
      yield* readL2(l2, table.l1Index * l2Entries, header, stream.position, pending);
    } else {
      const run = pending.take(batchClusters, (table?.offset ?? Infinity) / cs);
      const guestOffset = run.guest * cs;
      const what = `the data of guest offset ${guestOffset} at host offset ${run.host * cs}`;
      await stream.skipTo(run.host * cs, what);
      // Past the virtual size the last cluster holds nothing, and QEMU may end the file there.
      const length = Math.min(run.count * cs, virtualSize - guestOffset);
      // Data goes out as the chunks came in, uncopied: a fresh buffer per event costs more than decoding.
      for (let done = 0; done < length;) {
        const bytes = await stream.readUpTo(length - done, what);
        yield { type: 'data', guestOffset: guestOffset + done, bytes };
        done += bytes.length;
      }
    }
  }
  // The rest (refcount blocks QEMU put last, snapshots) says nothing about the guest; read it so restic ends cleanly.
  await stream.drain();
}

async function readHeader(stream: ByteStream): Promise<Header> {
  const fixed = await stream.read(72, 'the header');
  if (fixed.readUInt32BE(0) !== qcow2Magic) {
    throw new Qcow2FormatError(`not a qcow2 image: it starts with 0x${fixed.subarray(0, 4).toString('hex')}`);
  }
  const version = fixed.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Qcow2FormatError(`qcow2 version ${version} is not 2 or 3`);
  const clusterBits = fixed.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) {
    throw new Qcow2FormatError(`cluster_bits ${clusterBits} is not from 9 (512 B) to 21 (2 MiB)`);
  }
  const cs = 2 ** clusterBits;
  const cryptMethod = fixed.readUInt32BE(32);
  if (cryptMethod !== 0) throw new Qcow2FormatError(`the image is encrypted (crypt_method ${cryptMethod})`);
  const virtualSize = safeNumber(fixed.readBigUInt64BE(24), 'size');
  const l1Entries = fixed.readUInt32BE(36);
  const l1Offset = safeNumber(fixed.readBigUInt64BE(40), 'l1_table_offset');
  const needed = Math.ceil(virtualSize / cs / (cs / 8));
  if (l1Entries < needed) throw new Qcow2FormatError(`l1_size ${l1Entries} maps less than the size ${virtualSize}`);
  if (l1Entries > 0 && (l1Offset < cs || l1Offset % cs !== 0)) {
    throw new Qcow2FormatError(`l1_table_offset ${l1Offset} is not a cluster boundary after the header`);
  }
  if (version === 3) {
    const more = await stream.read(32, 'the header');
    const incompatible = more.readBigUInt64BE(0);
    for (let bit = 1; bit < 64; bit++) {
      // Bit 0 (dirty) only says the refcounts may be stale, and they are not read.
      if ((incompatible >> BigInt(bit)) & 1n) {
        const name = incompatibleNames[bit] ?? `unknown bit ${bit}`;
        throw new Qcow2FormatError(`the image uses an incompatible feature this decoder lacks: ${name}`);
      }
    }
    const refcountOrder = more.readUInt32BE(24);
    if (refcountOrder > 6) throw new Qcow2FormatError(`refcount_order ${refcountOrder} is above 6`);
    const headerLength = more.readUInt32BE(28);
    if (headerLength < 104 || headerLength % 8 !== 0 || headerLength > cs) {
      throw new Qcow2FormatError(`header_length ${headerLength} is not a multiple of 8 from 104 to the cluster size`);
    }
    await stream.skipTo(headerLength, 'the header');
  }
  const backingOffset = safeNumber(fixed.readBigUInt64BE(8), 'backing_file_offset');
  const backingSize = fixed.readUInt32BE(16);
  // Header extensions run up to the backing file name, or to the end of the first cluster.
  const extensionsEnd = backingOffset > 0 ? backingOffset : cs;
  while (stream.position + 8 <= extensionsEnd) {
    const head = await stream.read(8, 'the header extensions');
    const type = head.readUInt32BE(0);
    if (type === 0) break;
    const length = Math.ceil(head.readUInt32BE(4) / 8) * 8;
    if (stream.position + length > extensionsEnd) {
      throw new Qcow2FormatError(`header extension 0x${type.toString(16)} runs past ${extensionsEnd}`);
    }
    const refused = extensionRefused.get(type);
    if (refused !== undefined) throw new Qcow2FormatError(`the image has ${refused}, which this decoder lacks`);
    await stream.read(length, 'the header extensions');
  }
  let backingFile: string | undefined;
  if (backingOffset > 0) {
    if (backingSize > 1023) throw new Qcow2FormatError(`backing_file_size ${backingSize} is above 1023`);
    await stream.skipTo(backingOffset, 'the backing file name');
    backingFile = (await stream.read(backingSize, 'the backing file name')).toString('utf8');
  }
  return { version, clusterSize: cs, virtualSize, l1Entries, l1Offset, backingFile };
}

interface L2Table {
  offset: number;
  l1Index: number;
}

/** The L1 table's L2 tables in file order; each must come after the L1 table. */
function l2TablesOf(l1: Buffer, header: Header, after: number): L2Table[] {
  const cs = header.clusterSize;
  const tables: L2Table[] = [];
  for (let j = 0; j < header.l1Entries; j++) {
    const high = l1.readUInt32BE(j * 8);
    const low = l1.readUInt32BE(j * 8 + 4);
    if ((high & 0x7f000000) !== 0 || (low & 0x1ff) !== 0) {
      throw new Qcow2FormatError(`L1 entry ${j} has reserved bits set`);
    }
    const offset = (high & 0xffffff) * 2 ** 32 + low;
    if (offset === 0) continue;
    if (offset % cs !== 0) throw new Qcow2FormatError(`L1 entry ${j} points at ${offset}, not a cluster boundary`);
    if (offset < after) {
      throw new Qcow2FormatError(
        `the L2 table at host offset ${offset} comes before the L1 table's end; ${metadataFirst}`,
      );
    }
    tables.push({ offset, l1Index: j });
  }
  tables.sort((a, b) => a.offset - b.offset);
  for (let k = 1; k < tables.length; k++) {
    if (tables[k]?.offset === tables[k - 1]?.offset) {
      throw new Qcow2FormatError(`two L1 entries share the L2 table at ${tables[k]?.offset ?? 0}`);
    }
  }
  return tables;
}

/** Yields the table's zero clusters (joined) and queues its data clusters, which must lie after it. */
function* readL2(
  l2: Buffer,
  firstGuest: number,
  header: Header,
  after: number,
  pending: PendingClusters,
): Generator<Qcow2Event> {
  const cs = header.clusterSize;
  const limit = Math.ceil(header.virtualSize / cs) - firstGuest;
  let zeroFrom = -1;
  const flushZeros = function* (to: number): Generator<Qcow2Event> {
    if (zeroFrom < 0) return;
    const guestOffset = (firstGuest + zeroFrom) * cs;
    yield { type: 'zero', guestOffset, length: Math.min((to - zeroFrom) * cs, header.virtualSize - guestOffset) };
    zeroFrom = -1;
  };
  for (let i = 0; i < Math.min(l2.length / 8, limit); i++) {
    const high = l2.readUInt32BE(i * 8);
    const low = l2.readUInt32BE(i * 8 + 4);
    const guestOffset = (firstGuest + i) * cs;
    if (high & 0x40000000)
      throw new Qcow2FormatError(`guest offset ${guestOffset} is compressed, which this decoder lacks`);
    const zero = (low & 1) === 1;
    if ((high & 0x3f000000) !== 0 || (low & 0x1fe) !== 0 || (zero && header.version === 2)) {
      throw new Qcow2FormatError(`the L2 entry of guest offset ${guestOffset} has reserved bits set`);
    }
    const offset = (high & 0xffffff) * 2 ** 32 + (low - (low & 0x1ff));
    if (zero) {
      // "Reads as zeros", whatever host cluster may be preallocated for it.
      if (zeroFrom < 0) zeroFrom = i;
      continue;
    }
    yield* flushZeros(i);
    if (offset === 0) continue;
    if (offset % cs !== 0) throw new Qcow2FormatError(`guest offset ${guestOffset} maps to ${offset}, not a cluster`);
    if (offset < after) {
      throw new Qcow2FormatError(`the data of guest offset ${guestOffset} precedes its L2 table; ${metadataFirst}`);
    }
    if (!pending.add(offset / cs, firstGuest + i)) {
      throw new Qcow2FormatError(`host offset ${offset} holds the data of two guest clusters`);
    }
  }
  yield* flushZeros(Math.min(l2.length / 8, limit));
}

function safeNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Qcow2FormatError(`${field} ${value} is too large`);
  return Number(value);
}
