import { describe, expect, it } from 'vitest';
import { ProduceBatcher, type ProduceBatcherOptions } from '../../../../broker/backends/kafka/produce-batcher.js';
import { ManualClock } from '../../../support/clock.js';

class QueueFull extends Error {}
class Closed extends Error {}

interface Request {
  topic: string;
  records: string[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A batcher over a fake send that the test answers request by request. */
function setup(extra: Partial<ProduceBatcherOptions<string>> = {}) {
  const clock = new ManualClock();
  const requests: Request[] = [];
  const batcher = new ProduceBatcher<string>({
    clock,
    send: (topic, records) =>
      new Promise<void>((resolve, reject) => {
        requests.push({ topic, records, resolve, reject });
      }),
    sizeOf: (r) => r.length,
    queueFull: (topic, n) => new QueueFull(`${topic} ${n}`),
    closed: (topic) => new Closed(topic),
    ...extra,
  });
  return { clock, requests, batcher };
}

/** Lets queued microtasks and promise continuations run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

function track(p: Promise<void>) {
  const state: { v: 'pending' | 'ok' | unknown } = { v: 'pending' };
  p.then(
    () => (state.v = 'ok'),
    (e: unknown) => (state.v = e),
  );
  return state;
}

describe('ProduceBatcher', () => {
  it('idle: a lone record goes out at once in its own request and resolves on its ack', async () => {
    const { requests, batcher } = setup();
    const a = track(batcher.add('t', 'a'));
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a']]);
    expect(a.v).toBe('pending');
    requests[0]?.resolve();
    await settle();
    expect(a.v).toBe('ok');
    expect(batcher.stats()).toEqual({ queued: 0, inFlight: 0, requests: 1, records: 1 });
  });

  it('records added in the same turn share one request', async () => {
    const { requests, batcher } = setup();
    const all = Promise.all(['a', 'b', 'c'].map((r) => batcher.add('t', r)));
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a', 'b', 'c']]);
    requests[0]?.resolve();
    await expect(all).resolves.toHaveLength(3);
  });

  it('while a request is in flight, later records wait and leave together, in order, after its ack', async () => {
    const { requests, batcher } = setup();
    const first = track(batcher.add('t', 'a'));
    await settle();
    const later = ['b', 'c', 'd'].map((r) => track(batcher.add('t', r)));
    await settle();
    expect(requests).toHaveLength(1);
    expect(batcher.stats()).toMatchObject({ queued: 3, inFlight: 1 });
    requests[0]?.resolve();
    await settle();
    expect(first.v).toBe('ok');
    expect(later.map((s) => s.v)).toEqual(['pending', 'pending', 'pending']);
    expect(requests.map((r) => r.records)).toEqual([['a'], ['b', 'c', 'd']]);
    requests[1]?.resolve();
    await settle();
    expect(later.map((s) => s.v)).toEqual(['ok', 'ok', 'ok']);
  });

  it('a failed request rejects every record it carried with its error; the next batch still goes out', async () => {
    const { requests, batcher } = setup();
    const a = track(batcher.add('t', 'a'));
    const b = track(batcher.add('t', 'b'));
    await settle();
    const c = track(batcher.add('t', 'c'));
    await settle();
    const boom = new Error('kafka down');
    requests[0]?.reject(boom);
    await settle();
    expect(a.v).toBe(boom);
    expect(b.v).toBe(boom);
    expect(c.v).toBe('pending');
    expect(requests[1]?.records).toEqual(['c']);
    requests[1]?.resolve();
    await settle();
    expect(c.v).toBe('ok');
  });

  it('a send that throws synchronously rejects its records', async () => {
    const boom = new Error('sync');
    const { batcher } = setup({
      send: () => {
        throw boom;
      },
    });
    await expect(batcher.add('t', 'a')).rejects.toBe(boom);
    expect(batcher.stats()).toMatchObject({ queued: 0, inFlight: 0 });
  });

  it('topics batch independently: each has its own request in flight', async () => {
    const { requests, batcher } = setup();
    void batcher.add('t1', 'a');
    void batcher.add('t2', 'x');
    await settle();
    void batcher.add('t1', 'b');
    await settle();
    expect(requests.map((r) => [r.topic, r.records])).toEqual([
      ['t1', ['a']],
      ['t2', ['x']],
    ]);
    requests[0]?.resolve();
    await settle();
    expect(requests.map((r) => [r.topic, r.records])[2]).toEqual(['t1', ['b']]);
  });

  it('splits a backlog at maxBatchRecords and maxBatchBytes, keeping order; an oversized record goes alone', async () => {
    const { requests, batcher } = setup({ maxBatchRecords: 3, maxBatchBytes: 10 });
    void batcher.add('t', 'first');
    await settle();
    for (const r of ['1', '2', '3', '4', 'aaaa', 'bbbb', 'cccc', 'this-is-too-big', 'z']) void batcher.add('t', r);
    await settle();
    const sent = (): string[][] => requests.map((r) => r.records);
    for (let i = 0; i < 6; i++) {
      requests[i]?.resolve();
      await settle();
    }
    expect(sent()).toEqual([['first'], ['1', '2', '3'], ['4', 'aaaa', 'bbbb'], ['cccc'], ['this-is-too-big'], ['z']]);
  });

  it('maxInFlightPerTopic 2: a second request starts only for a full batch', async () => {
    const { requests, batcher } = setup({ maxInFlightPerTopic: 2, maxBatchRecords: 2 });
    void batcher.add('t', 'a');
    await settle();
    void batcher.add('t', 'b');
    await settle();
    expect(requests).toHaveLength(1);
    void batcher.add('t', 'c');
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a'], ['b', 'c']]);
    void batcher.add('t', 'd');
    await settle();
    expect(requests).toHaveLength(2);
    requests[0]?.resolve();
    await settle();
    expect(requests).toHaveLength(2); // one request still in flight: a partial batch waits for it
    requests[1]?.resolve();
    await settle();
    expect(requests.map((r) => r.records)[2]).toEqual(['d']);
  });

  it('a full queue rejects new records with queueFull and takes them again once it drained', async () => {
    const { requests, batcher } = setup({ maxQueuedPerTopic: 2 });
    void batcher.add('t', 'a');
    await settle();
    void batcher.add('t', 'b');
    void batcher.add('t', 'c');
    await expect(batcher.add('t', 'd')).rejects.toBeInstanceOf(QueueFull);
    requests[0]?.resolve();
    await settle();
    await settle();
    const e = track(batcher.add('t', 'e'));
    requests[1]?.resolve();
    await settle();
    requests[2]?.resolve();
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a'], ['b', 'c'], ['e']]);
    expect(e.v).toBe('ok');
  });

  it('close sends what is queued, waits for the acks and then refuses new records', async () => {
    const { requests, batcher } = setup();
    const a = track(batcher.add('t', 'a'));
    await settle();
    const b = track(batcher.add('t', 'b'));
    const closing = track(batcher.close(5_000));
    await expect(batcher.add('t', 'late')).rejects.toBeInstanceOf(Closed);
    requests[0]?.resolve();
    await settle();
    expect(requests[1]?.records).toEqual(['b']);
    expect(closing.v).toBe('pending');
    requests[1]?.resolve();
    await settle();
    expect([a.v, b.v, closing.v]).toEqual(['ok', 'ok', 'ok']);
  });

  it('close is bounded: after the timeout records still queued are rejected with closed', async () => {
    const { clock, requests, batcher } = setup();
    const a = track(batcher.add('t', 'a'));
    await settle();
    const b = track(batcher.add('t', 'b'));
    const closing = track(batcher.close(5_000));
    await clock.advanceAsync(4_999, 1_000);
    expect(closing.v).toBe('pending');
    await clock.advanceAsync(1);
    expect(closing.v).toBe('ok');
    expect(b.v).toBeInstanceOf(Closed);
    expect(a.v).toBe('pending');
    requests[0]?.reject(new Error('disconnected'));
    await settle();
    expect(a.v).toBeInstanceOf(Error);
    expect(requests).toHaveLength(1);
  });

  it('close with nothing queued resolves at once', async () => {
    const { clock, batcher } = setup();
    await batcher.close(1_000);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('ProduceBatcher linger (adaptive)', () => {
  it('a lone record goes at once; records soon after a request wait until lingerMs after its start, then go together', async () => {
    const { clock, requests, batcher } = setup({ lingerMs: 5 });
    const a = batcher.add('t', 'a');
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a']]); // quiet topic: no wait
    requests[0]?.resolve();
    await a;
    clock.advance(1);
    const b = track(batcher.add('t', 'b'));
    clock.advance(2);
    const c = track(batcher.add('t', 'c'));
    await settle();
    expect(requests).toHaveLength(1); // 3 ms after the last request started: lingering
    clock.advance(1);
    await settle();
    expect(requests).toHaveLength(1);
    clock.advance(1); // 5 ms after 'a' left
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a'], ['b', 'c']]);
    expect([b.v, c.v]).toEqual(['pending', 'pending']); // resolved only by the ack
    requests[1]?.resolve();
    await settle();
    expect([b.v, c.v]).toEqual(['ok', 'ok']);
    clock.advance(20);
    batcher.add('t', 'd').catch(() => undefined);
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['a'], ['b', 'c'], ['d']]); // quiet again: at once
  });

  it('a full batch does not wait out the linger, and close() sends what lingers at once', async () => {
    const { requests, batcher } = setup({ lingerMs: 50, maxBatchRecords: 3 });
    const first = batcher.add('t', 'x');
    await settle();
    requests[0]?.resolve();
    await first;
    const lingering = ['1', '2'].map((r) => batcher.add('t', r));
    await settle();
    expect(requests).toHaveLength(1);
    lingering.push(batcher.add('t', '3')); // 3 = maxBatchRecords
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['x'], ['1', '2', '3']]);
    requests[1]?.resolve();
    await Promise.all(lingering);
    const late = batcher.add('t', 'late');
    await settle();
    expect(requests).toHaveLength(2); // lingering (the last request started 0 ms ago on the manual clock)
    const closing = batcher.close(1_000);
    await settle();
    expect(requests.map((r) => r.records)).toEqual([['x'], ['1', '2', '3'], ['late']]);
    requests[2]?.resolve();
    await late;
    await closing;
  });
});
