// The data clusters a streaming QCOW2 decoder has seen in L2 tables but not yet
// reached in the file: host cluster -> guest cluster, in host order. Kept as
// runs where both advance together (24 bytes per run in typed arrays), so a
// fully allocated 2 TiB image written in guest order is a single run; memory
// grows with fragmentation, never with a JS object per cluster.

export interface ClusterMapping {
  host: number;
  guest: number;
  count: number;
}

export class PendingClusters {
  #host = new Float64Array(256);
  #guest = new Float64Array(256);
  #count = new Float64Array(256);
  #head = 0;
  #tail = 0;

  get empty(): boolean {
    return this.#head === this.#tail;
  }

  /** The lowest pending host cluster, or Infinity. */
  firstHost(): number {
    return this.empty ? Infinity : (this.#host[this.#head] ?? Infinity);
  }

  /** Queues host cluster `host` holding guest cluster `guest`; false if `host` is already queued. */
  add(host: number, guest: number): boolean {
    const last = this.#tail - 1;
    const lastEnd = this.empty ? -1 : this.#at(this.#host, last) + this.#at(this.#count, last);
    if (host >= lastEnd) {
      if (host === lastEnd && guest === this.#at(this.#guest, last) + this.#at(this.#count, last)) {
        this.#count[last] = this.#at(this.#count, last) + 1;
      } else {
        this.#insert(this.#tail, host, guest);
      }
      return true;
    }
    // Out of host order (QEMU may allocate clusters for parallel writes out of order): insert in place.
    let low = this.#head;
    let high = this.#tail;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      if (this.#at(this.#host, mid) <= host) low = mid + 1;
      else high = mid;
    }
    const before = low - 1;
    if (before >= this.#head && this.#at(this.#host, before) + this.#at(this.#count, before) > host) return false;
    this.#insert(low, host, guest);
    return true;
  }

  /** Up to `max` clusters from the front, stopping before host cluster `limit`. */
  take(max: number, limit: number): ClusterMapping {
    const i = this.#head;
    const host = this.#at(this.#host, i);
    const guest = this.#at(this.#guest, i);
    const count = Math.max(1, Math.min(this.#at(this.#count, i), max, limit - host));
    this.#host[i] = host + count;
    this.#guest[i] = guest + count;
    this.#count[i] = this.#at(this.#count, i) - count;
    if (this.#count[i] === 0) this.#head++;
    return { host, guest, count };
  }

  #insert(at: number, host: number, guest: number): void {
    if (this.#tail === this.#host.length) {
      if (this.#head > this.#host.length / 2) {
        for (const array of [this.#host, this.#guest, this.#count]) array.copyWithin(0, this.#head, this.#tail);
        at -= this.#head;
        this.#tail -= this.#head;
        this.#head = 0;
      } else {
        this.#host = grow(this.#host);
        this.#guest = grow(this.#guest);
        this.#count = grow(this.#count);
      }
    }
    for (const array of [this.#host, this.#guest, this.#count]) array.copyWithin(at + 1, at, this.#tail);
    this.#host[at] = host;
    this.#guest[at] = guest;
    this.#count[at] = 1;
    this.#tail++;
  }

  #at(array: Float64Array, index: number): number {
    return array[index] ?? 0;
  }
}

function grow(array: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
