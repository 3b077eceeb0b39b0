// A forward-only reader over a stream of chunks (the stdout of `restic dump`):
// exact reads, skips that hold nothing, and the position in the stream, so a
// decoder can walk a file format front to back in bounded memory.

export class ByteStream {
  readonly #iterator: AsyncIterator<Buffer>;
  readonly #fail: (message: string) => Error;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #position = 0;

  /** `fail` makes the error for a stream that ends early or a skip backwards. */
  constructor(input: AsyncIterable<Buffer>, fail: (message: string) => Error) {
    this.#iterator = input[Symbol.asyncIterator]();
    this.#fail = fail;
  }

  /** Offset of the next unread byte. */
  get position(): number {
    return this.#position;
  }

  /** The next `length` bytes; `what` names them if the stream ends first. */
  async read(length: number, what: string): Promise<Buffer> {
    while (this.#buffered < length) {
      if (!(await this.#pull())) throw this.#ended(what);
    }
    const first = this.#chunks[0] ?? Buffer.alloc(0);
    let out: Buffer;
    if (first.length >= length) {
      out = first.subarray(0, length);
    } else {
      out = Buffer.allocUnsafe(length);
      let filled = 0;
      for (const chunk of this.#chunks) {
        filled += chunk.copy(out, filled, 0, Math.min(chunk.length, length - filled));
        if (filled === length) break;
      }
    }
    this.#drop(length);
    return out;
  }

  /** The next 1 to `max` bytes, as they arrived: a view of the stream's chunk, not a copy. */
  async readUpTo(max: number, what: string): Promise<Buffer> {
    if (this.#buffered === 0 && !(await this.#pull())) throw this.#ended(what);
    const first = this.#chunks[0] ?? Buffer.alloc(0);
    const out = first.subarray(0, Math.min(max, first.length));
    this.#drop(out.length);
    return out;
  }

  /** Moves forward to `offset`, discarding what lies between. */
  async skipTo(offset: number, what: string): Promise<void> {
    if (offset < this.#position) {
      throw this.#fail(`${what} at byte ${offset} lies behind byte ${this.#position}, where the stream already is`);
    }
    let left = offset - this.#position;
    while (left > 0) {
      if (this.#buffered === 0 && !(await this.#pull())) throw this.#ended(what);
      const n = Math.min(left, this.#buffered);
      this.#drop(n);
      left -= n;
    }
  }

  /** Reads and discards the rest of the stream. */
  async drain(): Promise<void> {
    this.#drop(this.#buffered);
    while (await this.#pull()) this.#drop(this.#buffered);
  }

  /** Lets go of the input before its end (a stream's iterator then destroys the stream). */
  async close(): Promise<void> {
    await this.#iterator.return?.();
  }

  async #pull(): Promise<boolean> {
    const next = await this.#iterator.next();
    if (next.done === true) return false;
    const chunk: unknown = next.value;
    if (!Buffer.isBuffer(chunk)) throw new TypeError('the stream yielded something other than a Buffer');
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    return true;
  }

  #drop(length: number): void {
    this.#position += length;
    this.#buffered -= length;
    let left = length;
    while (left > 0) {
      const first = this.#chunks[0];
      if (first === undefined) break;
      if (first.length > left) {
        this.#chunks[0] = first.subarray(left);
        break;
      }
      left -= first.length;
      this.#chunks.shift();
    }
  }

  #ended(what: string): Error {
    return this.#fail(
      `the stream ended at byte ${this.#position + this.#buffered}, in ${what}; is the image truncated?`,
    );
  }
}
