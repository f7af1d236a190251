/**
 * Which offset a consumer group may commit, per partition: the lowest offset not yet finished (or, when every
 * started record is finished, the one after the last started). Records finish out of order when handled
 * concurrently; committing only the contiguous finished prefix means a crash or restart redelivers every
 * unfinished record and none of the finished ones below it (at-least-once). Pure: no I/O, no clock.
 *
 * Offsets are JavaScript numbers (exact up to 2^53, far beyond any real partition's length).
 */
import { InvalidOffsetError } from './errors.js';

export class PartitionOffsets {
  /** Started offsets in increasing order; the head is the lowest one not yet popped. */
  #started: number[] = [];
  #head = 0;
  readonly #finished = new Set<number>();
  /** Next offset to consume after the contiguous finished prefix; undefined before the first start. */
  #watermark: number | undefined;
  #committed: number | undefined;

  constructor(readonly partition: number) {}

  /** A record was taken for handling. Offsets must increase (Kafka hands a partition's records in order). */
  start(offset: number): void {
    const last = this.#started.length > this.#head ? this.#started[this.#started.length - 1] : undefined;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(this.partition, offset, 'is not a non-negative integer');
    if ((last !== undefined && offset <= last) || (this.#watermark !== undefined && offset < this.#watermark)) {
      throw new InvalidOffsetError(this.partition, offset, 'was started out of order');
    }
    if (this.#started.length === this.#head) this.#watermark = offset;
    this.#started.push(offset);
  }

  /** A started record reached `done` (delivered, dead-lettered, dropped or filtered out). Idempotent. */
  finish(offset: number): void {
    const idx = this.#indexOf(offset);
    if (idx === -1) {
      if (this.#watermark !== undefined && offset < this.#watermark) return;
      throw new InvalidOffsetError(this.partition, offset, 'was finished without being started');
    }
    this.#finished.add(offset);
    while (this.#head < this.#started.length) {
      const head = this.#started[this.#head] as number;
      if (!this.#finished.has(head)) {
        this.#watermark = head;
        break;
      }
      this.#finished.delete(head);
      this.#head++;
      this.#watermark = head + 1;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#started.length) {
      this.#started = this.#started.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Records started and not finished. */
  get pending(): number {
    return this.#started.length - this.#head;
  }

  /** The offset the group should have committed now (lowest unfinished, or last started + 1). */
  get watermark(): number | undefined {
    return this.#watermark;
  }

  /** The offset to commit if it moved past the last commit, else undefined. */
  toCommit(): number | undefined {
    const w = this.#watermark;
    if (w === undefined || (this.#committed !== undefined && w <= this.#committed)) return undefined;
    return w;
  }

  /** Records that `offset` is committed (commits are monotonic: an older, slower commit does not move it back). */
  committed(offset: number): void {
    if (this.#committed === undefined || offset > this.#committed) this.#committed = offset;
  }

  get lastCommitted(): number | undefined {
    return this.#committed;
  }

  /** Binary search over the started offsets still held (they are increasing). */
  #indexOf(offset: number): number {
    let lo = this.#head;
    let hi = this.#started.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.#started[mid] as number;
      if (v === offset) return mid;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/** One PartitionOffsets per partition of a consumer's current assignment. */
export class OffsetTracker {
  readonly #partitions = new Map<number, PartitionOffsets>();

  partition(p: number): PartitionOffsets {
    let po = this.#partitions.get(p);
    if (po === undefined) {
      po = new PartitionOffsets(p);
      this.#partitions.set(p, po);
    }
    return po;
  }

  /** Every partition whose watermark moved past its last commit, with the offset to commit. */
  toCommit(): Array<{ partition: number; offset: number }> {
    const out: Array<{ partition: number; offset: number }> = [];
    for (const po of this.#partitions.values()) {
      const offset = po.toCommit();
      if (offset !== undefined) out.push({ partition: po.partition, offset });
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  get pending(): number {
    let n = 0;
    for (const po of this.#partitions.values()) n += po.pending;
    return n;
  }
}
