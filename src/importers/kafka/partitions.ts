/**
 * The records a KafkaSource consumer holds for one group generation (epoch), per topic-partition: queued in offset
 * order, one in flight per partition (records of a partition reach the sink in order, as Knative's ordered
 * KafkaSource delivers them), and the offset each partition may commit: the lowest record not yet finished, from
 * the Kafka backend's PartitionOffsets. Pure: no I/O, no clock.
 *
 * A partition whose queue reaches `maxQueued` should be paused (the consumer stops fetching it) and resumed once
 * its queue is down to half: a sink that is down holds at most `maxQueued` records per partition in memory.
 */
import { PartitionOffsets } from '../../../broker/backends/kafka/offset-tracker.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** One record taken for delivery. */
export interface Taken<R> extends TopicPartition {
  offset: number;
  record: R;
}

interface Part<R> extends TopicPartition {
  offsets: PartitionOffsets;
  queue: Array<{ offset: number; record: R }>;
  head: number;
  busy: boolean;
  paused: boolean;
}

export class PartitionWork<R> {
  readonly #maxQueued: number;
  readonly #parts = new Map<string, Part<R>>();
  #rr = 0;

  constructor(opts: { maxQueued: number }) {
    this.#maxQueued = Math.max(1, Math.floor(opts.maxQueued));
  }

  /** Queues fetched records of one partition (in offset order). True: pause the partition now. */
  add(tp: TopicPartition, records: ReadonlyArray<{ offset: number; record: R }>): boolean {
    const p = this.#part(tp);
    for (const r of records) p.queue.push(r);
    if (!p.paused && p.queue.length - p.head >= this.#maxQueued) {
      p.paused = true;
      return true;
    }
    return false;
  }

  /** The next record to deliver from a partition with none in flight (partitions taken in turn), or undefined. */
  take(): Taken<R> | undefined {
    const parts = [...this.#parts.values()];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[(this.#rr + i) % parts.length] as Part<R>;
      if (p.busy || p.head >= p.queue.length) continue;
      this.#rr = (this.#rr + i + 1) % parts.length;
      const item = p.queue[p.head] as { offset: number; record: R };
      p.head++;
      if (p.head > 1024 && p.head * 2 > p.queue.length) {
        p.queue = p.queue.slice(p.head);
        p.head = 0;
      }
      p.offsets.start(item.offset);
      p.busy = true;
      return { topic: p.topic, partition: p.partition, offset: item.offset, record: item.record };
    }
    return undefined;
  }

  /**
   * The record's delivery ended. `delivered` (accepted by the sink, or given up on for good): its offset may be
   * committed. Not delivered (abandoned on stop): the partition's commit point stays below it. True: resume the
   * partition now.
   */
  finish(t: Taken<R>, delivered: boolean): boolean {
    const p = this.#parts.get(key(t));
    if (p === undefined) return false;
    p.busy = false;
    if (delivered) p.offsets.finish(t.offset);
    if (p.paused && p.queue.length - p.head <= this.#maxQueued / 2) {
      p.paused = false;
      return true;
    }
    return false;
  }

  /** Partitions whose commit point moved past their last commit, with the offset to commit. */
  toCommit(): Array<TopicPartition & { offset: number }> {
    const out: Array<TopicPartition & { offset: number }> = [];
    for (const p of this.#parts.values()) {
      const offset = p.offsets.toCommit();
      if (offset !== undefined) out.push({ topic: p.topic, partition: p.partition, offset });
    }
    return out;
  }

  /** Records that these offsets are committed. */
  committed(list: ReadonlyArray<TopicPartition & { offset: number }>): void {
    for (const c of list) this.#parts.get(key(c))?.offsets.committed(c.offset);
  }

  /** Records queued or in flight. */
  get pending(): number {
    let n = 0;
    for (const p of this.#parts.values()) n += p.queue.length - p.head + (p.busy ? 1 : 0);
    return n;
  }

  /** Partitions paused now. */
  paused(): TopicPartition[] {
    return [...this.#parts.values()].filter((p) => p.paused).map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /** Drops every queued record (stop, or a new epoch); records in flight still finish. */
  clearQueues(): void {
    for (const p of this.#parts.values()) {
      p.queue = [];
      p.head = 0;
    }
  }

  #part(tp: TopicPartition): Part<R> {
    let p = this.#parts.get(key(tp));
    if (p === undefined) {
      p = { topic: tp.topic, partition: tp.partition, offsets: new PartitionOffsets(tp.partition), queue: [], head: 0, busy: false, paused: false };
      this.#parts.set(key(tp), p);
    }
    return p;
  }
}

function key(tp: TopicPartition): string {
  return `${tp.partition}/${tp.topic}`;
}
