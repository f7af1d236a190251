import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpSender } from '../../../broker/delivery/index.js';
import { PingSourceRunner, type PingOutcome, type PingRunSpec } from '../../../src/importers/index.js';
import { ManualClock } from '../../support/clock.js';
import { waitFor } from '../../support/wait.js';
import { TestSink } from './sink.js';

const START = Date.UTC(2026, 0, 1);

describe('PingSourceRunner', () => {
  let clock: ManualClock;
  let sink: TestSink;
  let sender: HttpSender;
  let runner: PingSourceRunner | undefined;
  let outcomes: PingOutcome[];
  let errors: Error[];
  let ids: number;

  beforeEach(async () => {
    clock = new ManualClock(START);
    sink = await new TestSink().start();
    sender = new HttpSender();
    outcomes = [];
    errors = [];
    ids = 0;
  });

  afterEach(async () => {
    runner?.stop();
    await sink.close();
    await runner?.drained();
    runner = undefined;
    await sender.close();
  });

  function start(spec: Partial<PingRunSpec> = {}, delivery = {}): PingSourceRunner {
    runner = new PingSourceRunner({
      spec: { namespace: 'ops', name: 'tick', schedule: '*/2 * * * * *', payload: { contentType: 'application/json', data: '{"msg":"hi"}', extensions: { team: 'ops' } }, sinkUri: sink.url, ...spec },
      clock,
      sender,
      delivery: { backoffDelayMs: 100, timeoutMs: 5000, ...delivery },
      newId: () => `ev-${++ids}`,
      onOutcome: (o) => outcomes.push(o),
      onError: (e) => errors.push(e),
    });
    runner.start();
    return runner;
  }

  it('posts one ping event per tick, every 2 s of clock time, with the schedule\'s time', async () => {
    start();
    clock.advance(1999);
    expect(sink.received).toHaveLength(0);
    clock.advance(1);
    await waitFor(() => outcomes.length === 1);
    clock.advance(2000);
    await waitFor(() => outcomes.length === 2);
    expect(sink.received).toHaveLength(2);
    const [first, second] = sink.received;
    expect(first?.headers).toMatchObject({
      'ce-type': 'dev.knative.sources.ping',
      'ce-source': '/apis/v1/namespaces/ops/pingsources/tick',
      'ce-id': 'ev-1',
      'ce-time': '2026-01-01T00:00:02.000Z',
      'ce-team': 'ops',
      'ce-specversion': '1.0',
      'content-type': 'application/json',
    });
    expect(first?.body).toBe('{"msg":"hi"}');
    expect(second?.headers['ce-id']).toBe('ev-2');
    expect(second?.headers['ce-time']).toBe('2026-01-01T00:00:04.000Z');
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered']);
    expect(errors).toEqual([]);
  });

  it('retries the same event with back-off on 500 without delaying the next tick', async () => {
    sink.script.push(500, 500);
    start();
    clock.advance(2000);
    await waitFor(() => sink.received.length === 1);
    // The failed attempt's retry timer joins the next tick's timer.
    await waitFor(() => clock.pendingTimers() === 2);
    clock.advance(200); // first retry waits 100 ms × 2
    await waitFor(() => sink.received.length === 2);
    await waitFor(() => clock.pendingTimers() === 2);
    clock.advance(400); // second retry waits 100 ms × 4
    await waitFor(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ kind: 'delivered', attempts: 3, status: 200, fireAt: START + 2000 });
    expect(sink.received.map((r) => r.headers['ce-id'])).toEqual(['ev-1', 'ev-1', 'ev-1']);
    // The next tick is still due at 4 s.
    clock.advance(4000 - 2600);
    await waitFor(() => outcomes.length === 2);
    expect(sink.received[3]?.headers['ce-id']).toBe('ev-2');
  });

  it('gives up after its retries, and at once on a permanent status', async () => {
    sink.script.push(503, 503, 400);
    start({}, { retry: 1 });
    clock.advance(2000);
    await waitFor(() => clock.pendingTimers() === 2);
    clock.advance(200);
    await waitFor(() => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ kind: 'failed', attempts: 2 });
    expect(errors[0]).toMatchObject({ code: 'WISP_ERR_SOURCE_DELIVERY', retriable: true });
    expect(errors[0]?.message).toBe(`PingSource ops/tick: event not delivered to ${sink.url} after 2 attempt(s): HTTP 503`);
    clock.advance(1800);
    await waitFor(() => outcomes.length === 2);
    expect(outcomes[1]).toMatchObject({ kind: 'failed', attempts: 1 });
    expect(errors[1]).toMatchObject({ retriable: false });
  });

  it('caps deliveries in flight: a hanging sink makes later ticks skip, not pile up', async () => {
    sink.script.push('hang', 'hang');
    start({}, { maxInFlight: 1 });
    clock.advance(2000);
    await waitFor(() => sink.received.length === 1);
    clock.advance(2000);
    expect(runner?.inFlight).toBe(1);
    expect(outcomes).toEqual([expect.objectContaining({ kind: 'skipped', fireAt: START + 4000 })]);
    expect(errors[0]).toMatchObject({ code: 'WISP_ERR_SOURCE_OVERLOADED' });
    expect(sink.received).toHaveLength(1);
  });

  it('sends dataBase64 as bytes and stops cleanly', async () => {
    start({ payload: { contentType: 'text/plain', dataBase64: Buffer.from('hello ping').toString('base64') } });
    clock.advance(2000);
    await waitFor(() => outcomes.length === 1);
    expect(sink.received[0]?.body).toBe('hello ping');
    expect(sink.received[0]?.headers['content-type']).toBe('text/plain');
    runner?.stop();
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(10_000);
    await runner?.drained();
    expect(sink.received).toHaveLength(1);
    expect(() => runner?.start()).toThrow(/cannot start when stopped/);
  });

  it('stop() abandons a pending retry', async () => {
    sink.script.push(500);
    start();
    clock.advance(2000);
    await waitFor(() => clock.pendingTimers() === 2);
    runner?.stop();
    await runner?.drained();
    expect(clock.pendingTimers()).toBe(0);
    expect(outcomes[0]).toMatchObject({ kind: 'failed', attempts: 1 });
    expect(errors).toEqual([]);
  });
});
