import { describe, expect, it } from 'vitest';
import { PartitionWork } from '../../../src/importers/kafka/partitions.js';

const recs = (...offsets: number[]): Array<{ offset: number; record: string }> => offsets.map((o) => ({ offset: o, record: `r${o}` }));

describe('PartitionWork', () => {
  it('hands out one record per partition at a time, partitions in turn, in offset order', () => {
    const w = new PartitionWork<string>({ maxQueued: 100 });
    w.add({ topic: 't', partition: 0 }, recs(5, 6));
    w.add({ topic: 't', partition: 1 }, recs(0));
    w.add({ topic: 'u', partition: 0 }, recs(9));
    const a = w.take();
    const b = w.take();
    const c = w.take();
    expect([a, b, c].map((t) => `${t?.topic}/${t?.partition}@${t?.offset}`)).toEqual(['t/0@5', 't/1@0', 'u/0@9']);
    expect(w.take()).toBeUndefined(); // t/0@6 waits for t/0@5
    w.finish(a!, true);
    expect(w.take()?.offset).toBe(6);
    expect(w.pending).toBe(3);
  });

  it('commits only past delivered records: an abandoned record keeps its partition’s commit point below it', () => {
    const w = new PartitionWork<string>({ maxQueued: 100 });
    w.add({ topic: 't', partition: 0 }, recs(10, 11, 12));
    const first = w.take()!;
    w.finish(first, true);
    expect(w.toCommit()).toEqual([{ topic: 't', partition: 0, offset: 11 }]);
    w.committed(w.toCommit());
    expect(w.toCommit()).toEqual([]);
    const second = w.take()!;
    w.finish(second, false);
    expect(w.toCommit()).toEqual([]);
  });

  it('asks to pause a partition at maxQueued and to resume it at half', () => {
    const w = new PartitionWork<string>({ maxQueued: 4 });
    expect(w.add({ topic: 't', partition: 0 }, recs(0, 1, 2))).toBe(false);
    expect(w.add({ topic: 't', partition: 0 }, recs(3))).toBe(true);
    expect(w.paused()).toEqual([{ topic: 't', partition: 0 }]);
    const t0 = w.take()!;
    expect(w.finish(t0, true)).toBe(false); // 3 still queued
    const t1 = w.take()!;
    expect(w.finish(t1, true)).toBe(true); // 2 queued = half
    expect(w.paused()).toEqual([]);
  });

  it('clearQueues drops queued records but not the one in flight', () => {
    const w = new PartitionWork<string>({ maxQueued: 10 });
    w.add({ topic: 't', partition: 0 }, recs(0, 1, 2));
    const t = w.take()!;
    w.clearQueues();
    expect(w.pending).toBe(1);
    w.finish(t, true);
    expect(w.take()).toBeUndefined();
    expect(w.toCommit()).toEqual([{ topic: 't', partition: 0, offset: 1 }]);
  });
});
