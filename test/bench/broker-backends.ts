/**
 * Backend-class benchmark: the Redis and Kafka EventBackends alone, in this process, without HTTP ingress or
 * delivery (test/bench/broker.ts measures the whole broker). It isolates what a class costs per event, which on a
 * shared machine is steadier than throughput:
 *  - publish: N single-event publishes from C concurrent publishers to a broker with 1 durable Trigger whose consumer
 *    is stopped (the ingress path alone);
 *  - consume: the consumer started on those N events (the dispatch path alone; the handler answers done at once);
 *  - @RATE: open loop, RATE single publishes/s for S seconds with the consumer running: publish latency (the 202)
 *    and publish → handler latency.
 * Each phase prints wall time, events/s, CPU µs per event of this process and of the backend server (Redis: INFO cpu;
 * Kafka: the JVM listening on the broker port, via /proc), and for Redis the commands Redis ran per event (INFO
 * commandstats, scripts' inner calls included). Redis: 127.0.0.1:6379 (WISP_REDIS_URL), unique key prefix, deleted
 * afterwards. Kafka: WISP_KAFKA_BROKERS, else a local Kafka started (and stopped) here; a 10-partition topic.
 *
 * Run: npm run build && node dist/test/bench/broker-backends.js [--class redis|kafka ...] [--events N] [--concurrency C]
 *      (WISP_BENCH_SECONDS = S of the open-loop phase, default 4; RATE 1000)
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CloudEvent } from 'cloudevents';
import { Redis } from 'ioredis';
import { KafkaBackend, RedisBackend } from '../../broker/backends/index.js';
import { EventData } from '../../broker/event-data.js';
import type { BrokerRef, EventBackend, TriggerSubscription } from '../../broker/types.js';
import { systemClock } from '../../src/clock.js';
import { startKafka, type RunningKafka } from '../support/kafka/kafka.js';
import { pidListeningOn } from './broker/cpu.js';

const { values } = parseArgs({
  options: { class: { type: 'string', multiple: true }, events: { type: 'string' }, concurrency: { type: 'string' } },
  strict: true,
});
const CLASSES = (values.class ?? ['redis', 'kafka']).map((c) => c.toLowerCase());
const N = Number(values.events ?? 8_000);
const CONCURRENCY = Number(values.concurrency ?? 64);
const SECONDS = Number(process.env['WISP_BENCH_SECONDS'] ?? 4);
const RATE = 1_000;
const REDIS_URL = process.env['WISP_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => void process.stderr.write(`${m}\n`), debug: () => undefined };

/** utime + stime of a process in µs (/proc), NaN when unknown. */
function procCpuUs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
  } catch {
    return NaN;
  }
}

interface Meter {
  /** Backend server CPU so far, µs. */
  serverCpu(): Promise<number>;
  /** Commands the server ran so far (Redis only). */
  commands(): Promise<number>;
}

function redisMeter(redis: Redis): Meter {
  return {
    serverCpu: async () => {
      const s = await redis.info('cpu');
      return (Number(/used_cpu_sys:([\d.]+)/.exec(s)?.[1]) + Number(/used_cpu_user:([\d.]+)/.exec(s)?.[1])) * 1e6;
    },
    commands: async () => {
      let n = 0;
      for (const m of (await redis.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) if (m[1] !== 'info') n += Number(m[2]);
      return n;
    },
  };
}

function jvmMeter(pid: number | undefined): Meter {
  return { serverCpu: () => Promise.resolve(procCpuUs(pid)), commands: () => Promise.resolve(NaN) };
}

let seq = 0;
function benchEvent(): CloudEvent<unknown> {
  const data = new EventData(Buffer.from('{"hello":"wisp"}'), 'json');
  return new CloudEvent<unknown>({ id: `e${seq++}`, source: '/bench', type: 'dev.wisp.bench', datacontenttype: 'application/json', data } as never, false);
}

const pct = (xs: number[], p: number): string => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? '-' : (s[Math.min(s.length - 1, Math.floor(s.length * p))] as number).toFixed(2);
};

async function measure<T>(meter: Meter, events: () => number, run: () => Promise<T>): Promise<{ result: T; line: string }> {
  const [s0, k0] = [await meter.serverCpu(), await meter.commands()];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const [s1, k1] = [await meter.serverCpu(), await meter.commands()];
  const n = events();
  const cmds = Number.isNaN(k1 - k0) ? '' : `, ${((k1 - k0) / n).toFixed(1)} server commands/ev`;
  const line = `${n} ev in ${ms.toFixed(0)} ms = ${((n * 1000) / ms).toFixed(0)} ev/s; cpu µs/ev: wisp ${((c.user + c.system) / n).toFixed(0)}, server ${((s1 - s0) / n).toFixed(0)}${cmds}`;
  return { result, line };
}

async function runClass(cls: string, backend: EventBackend & { publishStats?: () => unknown; produceStats?: () => unknown }, meter: Meter): Promise<void> {
  const broker: BrokerRef = { namespace: 'bench', name: `b${Date.now().toString(36)}` };
  await backend.ensureBroker(broker, { partitions: 10, replicationFactor: 1, maxBacklog: 1_000_000 });
  const sub: TriggerSubscription = { broker, trigger: 'bench/t1', maxInFlight: 100 };
  let handled = 0;
  const sentAt = new Map<string, number>();
  const lat: number[] = [];
  const handler = async (s: { event: CloudEvent<unknown> }) => {
    handled++;
    const t = sentAt.get(s.event.id);
    if (t !== undefined) lat.push(performance.now() - t);
    return { kind: 'done' as const };
  };
  const drained = async (n: number): Promise<void> => {
    const end = Date.now() + 120_000;
    while (handled < n && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
  };
  try {
    await (await backend.subscribe(sub, handler)).close(); // durable subscription, nobody consuming yet
    for (let i = 0; i < 200; i++) await backend.publish(broker, benchEvent()); // warm-up (consumed below)
    let left = N;
    const pub = await measure(meter, () => N, () =>
      Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) await backend.publish(broker, benchEvent());
      })),
    );
    console.log(`${cls} publish   c=${CONCURRENCY}: ${pub.line}  ${JSON.stringify(backend.publishStats?.() ?? backend.produceStats?.() ?? {})}`);
    const consumer = await backend.subscribe(sub, handler);
    const con = await measure(meter, () => N, () => drained(N + 200));
    console.log(`${cls} consume  inflight 100: ${con.line}`);
    const base = handled;
    const publishLat: number[] = [];
    let accepted = 0;
    const open = await measure(meter, () => accepted, async () => {
      const t0 = performance.now();
      const pending: Promise<void>[] = [];
      for (let i = 0; i < SECONDS * RATE; i++) {
        const wait = t0 + (i * 1000) / RATE - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const e = benchEvent();
        const ts = performance.now();
        sentAt.set(e.id, ts);
        pending.push(backend.publish(broker, e).then(() => void (accepted++, publishLat.push(performance.now() - ts)), () => undefined));
      }
      await Promise.all(pending);
      await drained(base + accepted);
    });
    console.log(`${cls} @${RATE}/s open loop: ${open.line}; publish p50/p99 ${pct(publishLat, 0.5)}/${pct(publishLat, 0.99)} ms, publish→handler p50/p99/max ${pct(lat, 0.5)}/${pct(lat, 0.99)}/${pct(lat, 1)} ms`);
    await consumer.close();
  } finally {
    await backend.unsubscribe(sub).catch(() => undefined);
    await backend.deleteBroker(broker).catch(() => undefined);
    await backend.close();
  }
}

async function main(): Promise<void> {
  console.log(`broker backends bench: ${N} events, ${CONCURRENCY} publishers, open loop ${RATE}/s for ${SECONDS} s`);
  for (const cls of CLASSES) {
    if (cls === 'redis') {
      const prefix = `wisp-bench-backends-${Date.now().toString(36)}`;
      const redis = new Redis(REDIS_URL);
      try {
        await runClass('Redis', new RedisBackend({ url: REDIS_URL, prefix, clock: systemClock, logger: quiet }), redisMeter(redis));
      } finally {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
        redis.disconnect();
      }
    } else if (cls === 'kafka') {
      let local: RunningKafka | undefined;
      const given = process.env['WISP_KAFKA_BROKERS'];
      try {
        if (given === undefined || given === '') local = await startKafka({});
        const brokers = (given !== undefined && given !== '' ? given : (local as RunningKafka).brokers).split(',');
        const port = Number(/:(\d+)$/.exec(brokers[0] ?? '')?.[1]);
        await runClass('Kafka', new KafkaBackend({ brokers, clock: systemClock, logger: quiet }), jvmMeter(pidListeningOn(port)));
      } finally {
        await local?.stop();
      }
    } else throw new Error(`--class: unknown class '${cls}' (want redis or kafka)`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
