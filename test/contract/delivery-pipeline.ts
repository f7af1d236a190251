/**
 * The delivery contract every broker class passes end to end: ingress → backend → dispatcher → HTTP subscriber,
 * on real time and real HTTP. Run against Memory, Redis (real Redis) and Kafka (real Kafka) with the same cases:
 * store-then-202, one consumer per Trigger, retries on the DeliverySpec schedule, dead letter, replies.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline } from './pipeline.js';
import { inject as lightInject } from 'light-my-request';
import type { DeliverySpec, EventBackend } from '../../broker/types.js';
import { Recorder, type Responder } from '../support/recorder.js';
import { waitFor } from '../support/wait.js';

export interface PipelineFixture {
  backend: EventBackend;
  cleanup(): Promise<void>;
}

export function describeDeliveryPipelineContract(name: string, factory: () => Promise<PipelineFixture>): void {
  describe(`${name}: delivery pipeline contract`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    /** A broker on the backend, its ingress and a dispatcher; `trigger()` adds Triggers. */
    async function pipeline() {
      const fixture = await factory();
      cleanups.push(() => fixture.cleanup());
      const { broker, ingress, addTrigger } = await startPipeline(fixture.backend, cleanups, 'pipe');
      const trigger = async (opts: { responder?: Responder; type?: string; delivery?: DeliverySpec; deadLetter?: Recorder }): Promise<Recorder> => {
        const sub = await new Recorder(opts.responder).start();
        cleanups.push(() => sub.stop());
        await addTrigger({ subscriberUri: sub.url, ...(opts.type !== undefined && { type: opts.type }), ...(opts.delivery !== undefined && { delivery: opts.delivery }), ...(opts.deadLetter !== undefined && { deadLetterUri: opts.deadLetter.url }) });
        return sub;
      };
      const post = async (type: string, id: string = randomUUID()): Promise<number> => {
        const res = await lightInject(ingress.handle, {
          method: 'POST',
          url: `/${broker.namespace}/${broker.name}`,
          headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/pipeline', 'ce-type': type, 'content-type': 'application/json' },
          payload: '{"n":1}',
        });
        return res.statusCode;
      };
      return { trigger, post, backend: fixture.backend, broker };
    }

    it('answers 202 once the event is stored, and delivers it once to each Trigger', async () => {
      const p = await pipeline();
      const a = await p.trigger({});
      const b = await p.trigger({});
      expect(await p.post('dev.wisp.pipe', 'one')).toBe(202);
      await waitFor(() => a.requests.length === 1 && b.requests.length === 1, { timeoutMs: 20_000 });
      expect(a.requests[0]?.headers['ce-id']).toBe('one');
      expect(a.requests[0]?.headers['ce-knativearrivaltime']).toBeTruthy();
    });

    it('retries on the DeliverySpec schedule (exponential) and then delivers', async () => {
      const p = await pipeline();
      const dls = await new Recorder().start();
      cleanups.push(() => dls.stop());
      const flaky = await p.trigger({ responder: (_r, i) => ({ status: i < 2 ? 500 : 202 }), delivery: { retry: 3, backoffDelay: 'PT0.05S' }, deadLetter: dls });
      expect(await p.post('dev.wisp.pipe')).toBe(202);
      await waitFor(() => flaky.requests.length === 3, { timeoutMs: 20_000 });
      const [t0, t1, t2] = flaky.requests.map((r) => r.at) as [number, number, number];
      // k-th retry waits backoffDelay × 2^k: 100 ms, then 200 ms (timer granularity allowed below, none above needed)
      expect(t1 - t0).toBeGreaterThanOrEqual(95);
      expect(t2 - t1).toBeGreaterThanOrEqual(195);
      await new Promise((r) => setTimeout(r, 300));
      expect(flaky.requests.length).toBe(3);
      expect(dls.requests.length).toBe(0);
    });

    it('dead-letters after the last retry with the error extensions', async () => {
      const p = await pipeline();
      const dls = await new Recorder().start();
      cleanups.push(() => dls.stop());
      const broken = await p.trigger({ responder: () => ({ status: 500, body: 'nope' }), delivery: { retry: 2, backoffDelay: 'PT0.02S' }, deadLetter: dls });
      expect(await p.post('dev.wisp.pipe', 'dead-1')).toBe(202);
      await waitFor(() => dls.requests.length === 1, { timeoutMs: 20_000 });
      expect(broken.requests.length).toBe(3);
      expect(dls.requests[0]?.headers['ce-id']).toBe('dead-1');
      expect(dls.requests[0]?.headers['ce-knativeerrorcode']).toBe('500');
      expect(dls.requests[0]?.headers['ce-knativeerrordest']).toBe(broken.url);
    });

    it('puts a reply back into the broker, where another Trigger gets it', async () => {
      const p = await pipeline();
      await p.trigger({
        type: 'dev.wisp.ask',
        responder: () => ({
          status: 200,
          headers: { 'ce-specversion': '1.0', 'ce-id': 'answer-1', 'ce-source': '/replier', 'ce-type': 'dev.wisp.answer', 'content-type': 'application/json' },
          body: '{"ok":true}',
        }),
      });
      const answers = await p.trigger({ type: 'dev.wisp.answer' });
      expect(await p.post('dev.wisp.ask')).toBe(202);
      await waitFor(() => answers.requests.length === 1, { timeoutMs: 20_000 });
      expect(answers.requests[0]?.headers['ce-id']).toBe('answer-1');
      expect(answers.requests[0]?.body).toBe('{"ok":true}');
    });
  });
}

