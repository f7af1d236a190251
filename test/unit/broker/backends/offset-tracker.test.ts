import { describe, expect, it } from 'vitest';
import { OffsetTracker, PartitionOffsets } from '../../../../broker/backends/kafka/offset-tracker.js';

describe('PartitionOffsets (commit the lowest unfinished offset)', () => {
  it('nothing to commit before the first record', () => {
    const p = new PartitionOffsets(0);
    expect(p.watermark).toBeUndefined();
    expect(p.toCommit()).toBeUndefined();
  });

  it('holds the commit at the lowest unfinished offset while later ones finish', () => {
    const p = new PartitionOffsets(3);
    for (let o = 0; o <= 4; o++) p.start(o);
    expect(p.toCommit()).toBe(0);
    p.finish(0);
    p.finish(1);
    p.finish(3);
    p.finish(4);
    expect(p.toCommit()).toBe(2);
    expect(p.pending).toBe(3);
    p.finish(2);
    expect(p.toCommit()).toBe(5);
    expect(p.pending).toBe(0);
  });

  it('does not offer an offset already committed, and commits never move back', () => {
    const p = new PartitionOffsets(0);
    p.start(10);
    p.start(11);
    p.finish(10);
    expect(p.toCommit()).toBe(11);
    p.committed(11);
    expect(p.toCommit()).toBeUndefined();
    p.committed(5);
    expect(p.lastCommitted).toBe(11);
    p.finish(11);
    expect(p.toCommit()).toBe(12);
  });

  it('skips gaps in offsets (compaction, transaction markers)', () => {
    const p = new PartitionOffsets(0);
    p.start(5);
    p.finish(5);
    expect(p.toCommit()).toBe(6);
    p.start(9);
    expect(p.toCommit()).toBe(9);
    p.start(12);
    p.finish(12);
    expect(p.toCommit()).toBe(9);
    p.finish(9);
    expect(p.toCommit()).toBe(13);
  });

  it('finish is idempotent for offsets below the watermark; rejects unknown and out-of-order offsets', () => {
    const p = new PartitionOffsets(1);
    p.start(0);
    p.finish(0);
    p.finish(0);
    expect(p.toCommit()).toBe(1);
    expect(() => p.finish(7)).toThrow(/offset 7 of partition 1 was finished without being started/);
    p.start(3);
    expect(() => p.start(3)).toThrow(/started out of order/);
    expect(() => p.start(2)).toThrow(/started out of order/);
    expect(() => p.start(-1)).toThrow(/not a non-negative integer/);
  });

  it('stays correct over many records finished in reverse blocks (compaction of its index)', () => {
    const p = new PartitionOffsets(0);
    let next = 0;
    for (let block = 0; block < 50; block++) {
      const offs = Array.from({ length: 100 }, () => next++);
      for (const o of offs) p.start(o);
      for (const o of [...offs].reverse().slice(0, 99)) p.finish(o);
      expect(p.toCommit()).toBe(offs[0]);
      p.finish(offs[0] as number);
      expect(p.toCommit()).toBe(next);
    }
    expect(p.pending).toBe(0);
  });
});

describe('OffsetTracker', () => {
  it('lists the partitions whose watermark moved, in partition order', () => {
    const t = new OffsetTracker();
    t.partition(2).start(0);
    t.partition(0).start(7);
    t.partition(1).start(3);
    t.partition(2).finish(0);
    t.partition(0).finish(7);
    expect(t.toCommit()).toEqual([
      { partition: 0, offset: 8 },
      { partition: 1, offset: 3 },
      { partition: 2, offset: 1 },
    ]);
    t.partition(0).committed(8);
    t.partition(1).committed(3);
    expect(t.toCommit()).toEqual([{ partition: 2, offset: 1 }]);
    expect(t.pending).toBe(1);
  });
});
