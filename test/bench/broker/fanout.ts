/**
 * CPU per published event of a Memory Broker's fan-out to T Triggers, without sockets (so it can be compared on a
 * busy machine): the real MemoryBackend and Dispatcher, Triggers with attribute, prefix and CESQL filters in turn
 * (as bench:scale part b), each event matching ONE Trigger. The subscriber is a Sender that answers 202 in process:
 * what is measured is filtering, queueing and handling, not HTTP (bench:broker and bench:scale measure that). Also the
 * cost of one evaluation of each kind of filter. Medians of alternating rounds (process.cpuUsage, user + system).
 *
 * Run: npm run build && node dist/test/bench/broker/fanout.js   (WISP_BENCH_TRIGGERS=1,10,100,1000)
 */
import { CloudEvent } from 'cloudevents';
import { Registry } from 'prom-client';
import { MemoryBackend } from '../../../broker/backends/memory.js';
import { resolveDelivery } from '../../../broker/delivery/index.js';
import type { Sender, SendResult } from '../../../broker/delivery/types.js';
import { Dispatcher } from '../../../broker/dispatcher/index.js';
import { compileTriggerFilter, type TriggerFilterSpec } from '../../../broker/filters/index.js';
import { systemClock } from '../../../src/clock.js';

const TYPE = 'dev.wisp.bench.scale';
const STEPS = (process.env['WISP_BENCH_TRIGGERS'] ?? '1,10,100,1000').split(',').map(Number);
const EVENTS = 2_000;
const ROUNDS = 5;
const KINDS = ['attributes', 'prefix', 'cesql'] as const;

function spec(kind: (typeof KINDS)[number], i: number): TriggerFilterSpec {
  const subject = `k${i}/`;
  if (kind === 'attributes') return { filter: { attributes: { type: TYPE, subject } } };
  if (kind === 'prefix') return { filters: [{ prefix: { subject } }] };
  return { filters: [{ cesql: `type = '${TYPE}' AND subject = '${subject}'` }] };
}

const event = (n: number, keys: number): CloudEvent<unknown> =>
  new CloudEvent<unknown>({ id: `e-${n}`, source: '/wisp/bench', type: TYPE, subject: `k${n % keys}/`, data: { n } }) as unknown as CloudEvent<unknown>;

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const ACCEPTED: SendResult = { kind: 'response', status: 202, headers: {}, body: Buffer.alloc(0), truncated: false };

async function fanout(triggers: number): Promise<{ usPerEvent: number; delivered: number }> {
  let delivered = 0;
  const sender: Sender = {
    send: () => {
      delivered++;
      return Promise.resolve(ACCEPTED);
    },
    close: () => Promise.resolve(),
  };
  const backend = new MemoryBackend({ clock: systemClock, closeTimeoutMs: 0 });
  const broker = { namespace: 'default', name: 'bench' };
  await backend.ensureBroker(broker);
  const dispatcher = new Dispatcher({ clock: systemClock, registry: new Registry(), sender, publishReply: () => Promise.resolve(), logger: { info: () => {}, warn: () => {} } });
  for (let i = 0; i < triggers; i++) {
    const kind = KINDS[i % KINDS.length] ?? 'attributes';
    await dispatcher.upsertTrigger(
      { key: `default/t${i}`, namespace: 'default', name: `t${i}`, broker: 'bench', filter: compileTriggerFilter(spec(kind, i)), subscriberUri: 'http://127.0.0.1:1/', delivery: resolveDelivery({}), maxInFlight: 100 },
      backend,
    );
  }
  const events = Array.from({ length: EVENTS }, (_, n) => event(n, triggers));
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuUs();
    for (const e of events) await backend.publish(broker, e);
    await new Promise((resolve) => setImmediate(resolve));
    rounds.push((cpuUs() - t0) / EVENTS);
  }
  await dispatcher.close();
  await backend.close();
  return { usPerEvent: median(rounds), delivered };
}

function filterCost(kind: (typeof KINDS)[number]): number {
  const filters = Array.from({ length: 1_000 }, (_, i) => compileTriggerFilter(spec(kind, i)));
  const events = Array.from({ length: 200 }, (_, n) => event(n + 1_000, 1_000_000));
  const rounds: number[] = [];
  let matched = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuUs();
    for (const e of events) for (const f of filters) if (f(e)) matched++;
    rounds.push((cpuUs() - t0) / (events.length * filters.length));
  }
  if (matched !== 0) throw new Error(`filter bench: ${matched} unexpected matches`);
  return median(rounds);
}

async function main(): Promise<void> {
  console.log(`Memory fan-out, socket-free: ${EVENTS} events per round, ${ROUNDS} rounds, each event matches one Trigger; node ${process.version}`);
  for (const kind of KINDS) console.log(`  one ${kind} filter saying no: ${filterCost(kind).toFixed(3)} µs`);
  console.log('Triggers  CPU µs/event  µs/(event·Trigger) added  delivered');
  let first: { t: number; us: number } | undefined;
  for (const t of STEPS) {
    const { usPerEvent, delivered } = await fanout(t);
    const added = first === undefined || t === first.t ? '-' : ((usPerEvent - first.us) / (t - first.t)).toFixed(3);
    first ??= { t, us: usPerEvent };
    console.log(`${String(t).padEnd(9)} ${usPerEvent.toFixed(1).padStart(12)}  ${added.padStart(24)}  ${delivered}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
