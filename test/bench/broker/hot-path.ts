/**
 * CPU per event of the broker's in-process hot path, without sockets (so it can be compared on a busy machine):
 * parsing an ingress request into an event with the CloudEvents SDK's constructor (the reference) and with the fast
 * builder, and a prom-client counter child's `inc()` against a counted child's. Each case runs in rounds, alternating,
 * and reports the median µs per call of its rounds (process.cpuUsage, user + system).
 *
 * Run: npm run build && node dist/test/bench/broker/hot-path.js
 */
import { Counter, Registry } from 'prom-client';
import { countedChild, flushCounted } from '../../../broker/counted.js';
import { fastCloudEvent, parseMessage, sdkCloudEvent } from '../../../broker/ingress/index.js';

const N = Number(process.env['WISP_BENCH_CALLS'] ?? 20_000);
const ROUNDS = 7;
const STAMP = { knativearrivaltime: '2026-12-04T10:00:00.000Z' };
const binary = {
  headers: { 'ce-specversion': '1.0', 'ce-id': 'id-1', 'ce-source': '/wisp/bench', 'ce-type': 'dev.wisp.bench', 'ce-benchsentat': '1764842400000.123', 'content-type': 'application/json' },
  body: Buffer.from('{"bench":true}'),
};
const structured = {
  headers: { 'content-type': 'application/cloudevents+json' },
  body: Buffer.from(JSON.stringify({ specversion: '1.0', id: 'id-2', source: 'https://example.com/orders', type: 'com.example.order.created', time: '2026-12-04T10:00:00.123Z', subject: 'o-1', data: { order: 1, items: [1, 2] } })),
};

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function measure(fn: () => void): number {
  const t0 = cpuUs();
  for (let i = 0; i < N; i++) fn();
  return (cpuUs() - t0) / N;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const registry = new Registry();
const plain = new Counter({ name: 'plain_total', help: 'h', labelNames: ['broker', 'trigger'], registers: [registry] });
const counted = new Counter({ name: 'counted_total', help: 'h', labelNames: ['broker', 'trigger'], registers: [registry], collect() { flushCounted(this); } });
const labels = { broker: 'default/bench', trigger: 'default/bench-t0' };
const plainChild = plain.labels(labels);
const countedOne = countedChild(counted, 'default/bench\ndefault/bench-t0', labels);

const cases: Array<[string, () => void]> = [
  ['parse binary event, SDK constructor', () => void parseMessage(binary, STAMP, sdkCloudEvent)],
  ['parse binary event, fast builder', () => void parseMessage(binary, STAMP, fastCloudEvent)],
  ['parse structured event with time, SDK constructor', () => void parseMessage(structured, STAMP, sdkCloudEvent)],
  ['parse structured event with time, fast builder', () => void parseMessage(structured, STAMP, fastCloudEvent)],
  ['prom-client counter child inc()', () => plainChild.inc()],
  ['counted child inc()', () => countedOne.inc()],
];

const results = new Map<string, number[]>();
for (const [name, fn] of cases) for (let i = 0; i < 1000; i++) fn(); // warm-up (JIT, memo)
for (let r = 0; r < ROUNDS; r++) for (const [name, fn] of cases) (results.get(name) ?? results.set(name, []).get(name))?.push(measure(fn));
console.log(`broker hot path, ${N} calls × ${ROUNDS} alternating rounds, median CPU µs per call (node ${process.version}):`);
for (const [name] of cases) console.log(`  ${name.padEnd(52)} ${median(results.get(name) ?? []).toFixed(2)} µs`);
void registry.metrics();
