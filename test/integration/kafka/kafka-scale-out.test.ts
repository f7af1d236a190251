import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../../support/http.js';
import { kafkaBrokers } from '../../support/kafka/index.js';
import { Recorder } from '../../support/recorder.js';
import { waitFor } from '../../support/wait.js';
import { WispProcess } from '../../support/wisp.js';
import { applyBrokerAndTrigger } from '../crash/scenario.js';

describe('Kafka class scale-out (two wisp up processes, one consumer group per Trigger)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('delivers each event once and splits the partitions between the processes', async () => {
    const sub = await new Recorder().start();
    cleanups.push(() => sub.stop());
    const env = { WISP_KAFKA_BROKERS: kafkaBrokers() };
    const procs = [await WispProcess.create(env), await WispProcess.create(env)];
    for (const p of procs) {
      cleanups.push(() => p.cleanup());
      await p.start();
    }
    const broker = `shared-${randomUUID().slice(0, 6)}`;
    for (const p of procs) await applyBrokerAndTrigger(p, { brokerClass: 'Kafka', broker, subscriber: sub.url });

    const total = 300;
    for (let i = 0; i < total; i++) {
      const res = await httpRequest({
        port: procs[i % 2]!.ports.broker,
        path: `/default/${broker}`,
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': `k-${i}`, 'ce-source': '/e2e', 'ce-type': 't', 'ce-partitionkey': `key-${i % 20}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(202);
    }
    await waitFor(() => new Set(sub.requests.map((r) => r.headers['ce-id'])).size === total, { timeoutMs: 60_000, what: `${total} distinct deliveries` });
    await new Promise((r) => setTimeout(r, 500));
    expect(sub.requests.length).toBe(total);
    const delivered = await Promise.all(
      procs.map(async (p) => {
        const text = await (await p.fetch(`/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('wisp_trigger_events_delivered_total') && l.includes(`trigger="default/${broker}-all"`));
        return Number(line?.split(' ').at(-1) ?? 0);
      }),
    );
    console.log(`Kafka scale-out: process A delivered ${delivered[0]}, process B delivered ${delivered[1]}`);
    expect(delivered[0]! + delivered[1]!).toBe(total);
    expect(delivered[0]).toBeGreaterThan(0);
    expect(delivered[1]).toBeGreaterThan(0);
  }, 180_000);
});
