// The stream of an application dump from the operator to a mover's stdin
// (ADR 0026): data frames as the dump command writes its output, then one end
// frame saying how the command ended. Each frame is a type byte, a 4-byte
// big-endian length, and that many bytes. Only an end frame that says the
// command exited 0 and wrote every byte that arrived makes a dump complete.

const dataType = 0x01;
const endType = 0x02;
const headerBytes = 5;
/** The largest frame read; a longer length means the stream is not ours. */
export const maxFrameBytes = 16 * 2 ** 20;

export interface DumpEnd {
  /** The dump command's exit code; undefined when it did not finish (it timed out, its Pod went). */
  exitCode: number | undefined;
  /** The bytes the command wrote to stdout. */
  bytes: number;
  /** The last lines of its stderr, or why it did not finish. */
  message: string;
}

function frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(headerBytes);
  header[0] = type;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** A data frame for a piece of the dump's output (split when larger than a frame may be). */
export function dataFrames(chunk: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < chunk.length; at += maxFrameBytes)
    frames.push(frame(dataType, chunk.subarray(at, at + maxFrameBytes)));
  return frames;
}

export function endFrame(end: DumpEnd): Buffer {
  return frame(endType, Buffer.from(JSON.stringify(end)));
}

export type DecodedFrame = { kind: 'data'; payload: Buffer } | { kind: 'end'; end: DumpEnd };

/** Frames out of a byte stream that arrives in pieces of any size; each byte is copied at most once. */
export class FrameDecoder {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** The frames this piece completes; throws on a stream that is not frames. */
  push(piece: Buffer): DecodedFrame[] {
    if (piece.length > 0) {
      this.#pending.push(piece);
      this.#pendingBytes += piece.length;
    }
    const frames: DecodedFrame[] = [];
    while (this.#pendingBytes >= headerBytes) {
      const header = this.#peek(headerBytes);
      const type = header[0];
      const length = header.readUInt32BE(1);
      if ((type !== dataType && type !== endType) || length > maxFrameBytes)
        throw new Error(`not a dump stream: frame type ${type ?? '?'}, length ${length}`);
      if (this.#pendingBytes < headerBytes + length) break;
      const payload = this.#take(headerBytes + length).subarray(headerBytes);
      frames.push(type === dataType ? { kind: 'data', payload } : { kind: 'end', end: parseEnd(payload) });
    }
    return frames;
  }

  /** Bytes received that do not make a whole frame yet. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** The first bytes pending, left in place. */
  #peek(bytes: number): Buffer {
    const parts: Buffer[] = [];
    let have = 0;
    for (const piece of this.#pending) {
      if (have >= bytes) break;
      parts.push(piece);
      have += piece.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, have);
  }

  /** The first bytes pending, taken out. */
  #take(bytes: number): Buffer {
    const parts: Buffer[] = [];
    let needed = bytes;
    while (needed > 0) {
      const first = this.#pending[0] as Buffer;
      if (first.length <= needed) {
        parts.push(first);
        this.#pending.shift();
        needed -= first.length;
      } else {
        parts.push(first.subarray(0, needed));
        this.#pending[0] = first.subarray(needed);
        needed = 0;
      }
    }
    this.#pendingBytes -= bytes;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes);
  }
}

function parseEnd(payload: Buffer): DumpEnd {
  const value = JSON.parse(payload.toString('utf8')) as Partial<DumpEnd>;
  return {
    exitCode: typeof value.exitCode === 'number' ? value.exitCode : undefined,
    bytes: typeof value.bytes === 'number' ? value.bytes : -1,
    message: typeof value.message === 'string' ? value.message : '',
  };
}

/** Why a dump that ended so, after this many bytes arrived, is not complete; undefined when it is. */
export function incompleteDump(end: DumpEnd | undefined, arrived: number): string | undefined {
  if (end === undefined) return `the stream ended after ${arrived} bytes, before the dump command did`;
  const said = end.message === '' ? '' : `: ${end.message}`;
  if (end.exitCode === undefined) return `the dump command did not finish${said}`;
  if (end.exitCode !== 0) return `the dump command exited ${end.exitCode}${said}`;
  if (end.bytes === 0) return `the dump command wrote nothing${said}`;
  if (end.bytes !== arrived) return `the dump command wrote ${end.bytes} bytes, ${arrived} arrived`;
  return undefined;
}
