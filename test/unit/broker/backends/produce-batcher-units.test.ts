/** ProduceBatcher.addAll: an ingress batch is one unit, queued whole or not at all and never split between requests. */
import { describe, expect, it } from 'vitest';
import { ProduceBatcher, type ProduceBatcherOptions } from '../../../../broker/backends/kafka/produce-batcher.js';
import { ManualClock } from '../../../support/clock.js';

class QueueFull extends Error {}
class TooLarge extends Error {}

function setup(extra: Partial<ProduceBatcherOptions<string>> = {}) {
  const requests: Array<{ records: string[]; resolve: () => void; reject: (e: unknown) => void }> = [];
  const batcher = new ProduceBatcher<string>({
    clock: new ManualClock(),
    send: (_topic, records) => new Promise<void>((resolve, reject) => requests.push({ records, resolve, reject })),
    sizeOf: (r) => r.length,
    queueFull: (topic, n) => new QueueFull(`${topic} ${n}`),
    tooLarge: (topic, n, limit) => new TooLarge(`${topic} ${n}>${limit}`),
    closed: (topic) => new Error(`closed ${topic}`),
    ...extra,
  });
  return { requests, batcher };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ProduceBatcher units (addAll)', () => {
  it('refuses a unit that does not fit whole, queueing none of it; a unit that fits goes in one request', async () => {
    const { requests, batcher } = setup({ maxQueuedPerTopic: 10 });
    const first = batcher.addAll('t', ['a1']); // goes out at once: request 1 in flight
    await settle();
    const fits = batcher.addAll('t', ['b1', 'b2', 'b3', 'b4', 'b5', 'b6']); // 6 queued
    const refused = batcher.addAll('t', ['c1', 'c2', 'c3', 'c4', 'c5']); // 6 + 5 > 10
    await expect(refused).rejects.toBeInstanceOf(QueueFull);
    expect(batcher.stats().queued).toBe(6);
    requests[0]?.resolve();
    await first;
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a1'], ['b1', 'b2', 'b3', 'b4', 'b5', 'b6']]);
    requests[1]?.resolve();
    await fits;
  });

  it('never splits a unit between requests: a unit over maxBatchRecords goes alone, after the one before it', async () => {
    const { requests, batcher } = setup({ maxBatchRecords: 3 });
    const p1 = batcher.addAll('t', ['x']);
    await settle();
    const p2 = batcher.addAll('t', ['a', 'b']);
    const p3 = batcher.addAll('t', ['c', 'd', 'e', 'f', 'g']);
    requests[0]?.resolve();
    await settle();
    requests[1]?.resolve();
    await settle();
    requests[2]?.resolve();
    await Promise.all([p1, p2, p3]);
    expect(requests.map((r) => r.records)).toEqual([['x'], ['a', 'b'], ['c', 'd', 'e', 'f', 'g']]);
  });

  it('a unit larger than the whole queue is refused with tooLarge; a failed request rejects the whole unit', async () => {
    const { requests, batcher } = setup({ maxQueuedPerTopic: 4 });
    await expect(batcher.addAll('t', ['1', '2', '3', '4', '5'])).rejects.toBeInstanceOf(TooLarge);
    expect(batcher.stats().queued).toBe(0);
    const unit = batcher.addAll('t', ['1', '2', '3']);
    await settle();
    requests[0]?.reject(new Error('NOT_LEADER'));
    await expect(unit).rejects.toThrow('NOT_LEADER');
    await expect(batcher.addAll('t', [])).resolves.toBeUndefined();
  });
});
