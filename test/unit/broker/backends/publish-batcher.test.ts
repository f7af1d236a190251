/** PublishBatcher (Redis class ingress micro-batching): one batch per key and loop turn, every item settled on its own outcome. */
import { describe, expect, it } from 'vitest';
import { PublishBatcher } from '../../../../broker/backends/redis/publish-batcher.js';

type Flush = { ctx: string; items: readonly number[]; resolve: (o: ReadonlyArray<Error | undefined>) => void; reject: (e: unknown) => void };

function setup(maxBatch = 100, maxInFlightPerKey?: number) {
  const flushes: Flush[] = [];
  const batcher = new PublishBatcher<string, number>({
    maxBatch,
    ...(maxInFlightPerKey !== undefined ? { maxInFlightPerKey } : {}),
    flush: (ctx, items) => new Promise((resolve, reject) => flushes.push({ ctx, items, resolve, reject })),
  });
  return { flushes, batcher };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('PublishBatcher', () => {
  it('stores the items of one turn per key together, in add order; the next turn starts a new batch', async () => {
    const { flushes, batcher } = setup();
    const a = [batcher.add('b1', 'ctx-1', 1), batcher.add('b2', 'ctx-2', 10), batcher.add('b1', 'ctx-1', 2), batcher.add('b1', 'ctx-1', 3)];
    expect(flushes).toHaveLength(0); // nothing leaves before the turn ends
    await turn();
    expect(flushes.map((f) => [f.ctx, f.items])).toEqual([
      ['ctx-1', [1, 2, 3]],
      ['ctx-2', [10]],
    ]);
    const later = batcher.add('b1', 'ctx-1', 4);
    await turn();
    expect(flushes.map((f) => f.items)).toEqual([[1, 2, 3], [10], [4]]);
    for (const f of flushes) f.resolve(f.items.map(() => undefined));
    await Promise.all([...a, later]);
    expect(batcher.stats()).toEqual({ batches: 3, items: 5, inFlight: 0 });
  });

  it('settles each item on its own outcome: a refused item rejects with its error, the others resolve', async () => {
    const { flushes, batcher } = setup();
    const full = new Error('trigger t is full');
    const ps = [1, 2, 3].map((n) => batcher.add('b', 'c', n));
    await turn();
    flushes[0]?.resolve([undefined, full, undefined]);
    const settled = await Promise.allSettled(ps);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBe(full);
  });

  it('a failed flush fails every item of the batch with that error; a wrong number of outcomes fails them too', async () => {
    const { flushes, batcher } = setup();
    const down = new Error('Redis unavailable');
    const first = [1, 2].map((n) => batcher.add('b', 'c', n));
    await turn();
    flushes[0]?.reject(down);
    for (const s of await Promise.allSettled(first)) expect(s).toEqual({ status: 'rejected', reason: down });
    const second = [3, 4].map((n) => batcher.add('b', 'c', n));
    await turn();
    flushes[1]?.resolve([undefined]);
    for (const s of await Promise.allSettled(second)) expect(s.status).toBe('rejected');
  });

  it('a batch that reaches maxBatch goes at once; flushNow() starts what is open and settled() waits for it', async () => {
    const { flushes, batcher } = setup(2);
    const ps = [1, 2, 3].map((n) => batcher.add('b', 'c', n));
    expect(flushes.map((f) => f.items)).toEqual([[1, 2]]); // full: started in the same turn
    batcher.flushNow();
    expect(flushes.map((f) => f.items)).toEqual([[1, 2], [3]]);
    let waited = false;
    const done = batcher.settled().then(() => (waited = true));
    await turn();
    expect(waited).toBe(false);
    for (const f of flushes) f.resolve(f.items.map(() => undefined));
    await done;
    await Promise.all(ps);
    expect(batcher.stats().inFlight).toBe(0);
  });

  it('a flush that throws synchronously fails its items instead of escaping', async () => {
    const boom = new Error('boom');
    const batcher = new PublishBatcher<string, number>({
      maxBatch: 10,
      flush: () => {
        throw boom;
      },
    });
    await expect(batcher.add('b', 'c', 1)).rejects.toBe(boom);
  });

  it('maxInFlightPerKey 1: a lone item leaves at once; what arrives while its store runs leaves together once it settled', async () => {
    const { flushes, batcher } = setup(100, 1);
    const first = batcher.add('b', 'c', 1);
    await turn();
    expect(flushes.map((f) => f.items)).toEqual([[1]]);
    const waiting = [2, 3].map((n) => batcher.add('b', 'c', n));
    const other = batcher.add('x', 'cx', 9); // another key has its own limit
    await turn();
    await turn();
    expect(flushes.map((f) => f.items)).toEqual([[1], [9]]); // 2 and 3 wait for the store of 1
    const four = batcher.add('b', 'c', 4);
    flushes[0]?.resolve([undefined]);
    await first;
    await turn(); // the settle is seen after `first` resolved; the waiting batch leaves in the turn after it
    await turn();
    expect(flushes.map((f) => f.items)).toEqual([[1], [9], [2, 3, 4]]); // in add order, one batch
    flushes[2]?.resolve([undefined, undefined, undefined]);
    flushes[1]?.resolve([undefined]);
    await Promise.all([...waiting, four, other]);
    const later = batcher.add('b', 'c', 5); // nothing in flight again: at once
    await turn();
    expect(flushes.map((f) => f.items)).toEqual([[1], [9], [2, 3, 4], [5]]);
    flushes[3]?.resolve([undefined]);
    await later;
    await batcher.settled();
    expect(batcher.stats()).toEqual({ batches: 4, items: 6, inFlight: 0 });
  });

  it('maxInFlightPerKey 1: a failed store still lets the waiting batch go; a full batch and flushNow() do not wait', async () => {
    const { flushes, batcher } = setup(2, 1);
    const down = new Error('Redis unavailable');
    const first = batcher.add('b', 'c', 1);
    await turn();
    const full = [2, 3].map((n) => batcher.add('b', 'c', n)); // reaches maxBatch: started although 1 is in flight
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3]]);
    const late = batcher.add('b', 'c', 4);
    batcher.flushNow(); // close(): nothing is left waiting
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3], [4]]);
    flushes[0]?.reject(down);
    await expect(first).rejects.toBe(down);
    const after = batcher.add('b', 'c', 5);
    for (const f of flushes.slice(1)) f.resolve(f.items.map(() => undefined));
    await Promise.all([...full, late]);
    await turn();
    expect(flushes.map((f) => f.items)).toEqual([[1], [2, 3], [4], [5]]);
    flushes[3]?.resolve([undefined]);
    await after;
    await batcher.settled();
    expect(batcher.stats().inFlight).toBe(0);
  });
});
