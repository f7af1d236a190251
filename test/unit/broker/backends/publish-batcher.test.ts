/** PublishBatcher (Redis class ingress micro-batching): one batch per key and loop turn, every item settled on its own outcome. */
import { describe, expect, it } from 'vitest';
import { PublishBatcher } from '../../../../broker/backends/redis/publish-batcher.js';

type Flush = { ctx: string; items: readonly number[]; resolve: (o: ReadonlyArray<Error | undefined>) => void; reject: (e: unknown) => void };

function setup(maxBatch = 100) {
  const flushes: Flush[] = [];
  const batcher = new PublishBatcher<string, number>({
    maxBatch,
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
});
