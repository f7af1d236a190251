/**
 * probe:overload — more events than the backlog cap against a slow subscriber, on a Memory and a Redis broker
 * (annotation wisp.dev/max-backlog: --backlog, default 2000). Each Trigger has wisp.dev/max-in-flight 2 and the
 * subscriber answers after 20 ms (~100 ev/s per Trigger), while keep-alive producers (32 for Redis; 400 for Memory,
 * whose ingress paces producers before it refuses) send as fast as they can for --duration seconds (default 20):
 * single events, and one request in ten a batch of 10. Redis memory is sampled
 * (INFO used_memory every 500 ms; the probe's own key prefix by MEMORY USAGE at the end of the load). Then the
 * subscriber turns fast and the probe waits (up to 60 s) until every accepted event arrived.
 * Invariants: 503 with Retry-After appears on both classes; every 503 carries Retry-After; no other 5xx;
 * nothing accepted is lost; no event of a refused batch is delivered; the Redis prefix holds at most cap + 200
 * keys and cap × 4 KiB + 8 MiB (one hash key per waiting job, so an unenforced cap passes it within seconds).
 */
import { isMain, parseProbeArgs, runAsScript } from './lib/cli.js';
import { binaryHeaders, post, structuredEvent, until } from './lib/events.js';
import { keepAliveAgent } from './lib/http.js';
import { closedLoop } from './lib/load.js';
import { Platform } from './lib/platform.js';
import { RedisMemory } from './lib/redis-memory.js';
import { invariant, type Invariant, type ProbeReport, statusClass, Tally } from './lib/report.js';
import { lossAndDuplicates, ProbeSubscriber } from './lib/subscriber.js';

const CLASSES = ['Memory', 'Redis'] as const;
type Cls = (typeof CLASSES)[number];
const DRAIN_MS = 60_000;
const WORKERS = 32;
/** Memory's producers: more than its paced Trigger drains per second (see the loops below); under the per-client cap of 512. */
const MEMORY_WORKERS = 400;
const SLOW_CONCURRENCY = 2;
const SLOW_MS = 20;
const MiB = 1024 * 1024;

export async function probeOverload(opts: { durationS: number; backlog?: number }): Promise<ProbeReport> {
  const started = performance.now();
  const backlog = opts.backlog ?? 2000;
  const sub = await new ProbeSubscriber().start();
  // Slow phase: each answer after SLOW_MS; with the Triggers' max-in-flight that caps deliveries per Trigger.
  let slow = true;
  sub.policy = () => ({ kind: 'answer', status: 202, ...(slow ? { delayMs: SLOW_MS } : {}) });
  let platform: Platform | undefined;
  const agent = keepAliveAgent(WORKERS);
  const memoryAgent = keepAliveAgent(MEMORY_WORKERS);
  const redisMem = new RedisMemory();
  try {
    platform = await Platform.start();
    const p = platform;
    for (const cls of CLASSES) {
      const b = `overload-${cls.toLowerCase()}`;
      await p.broker({ name: b, brokerClass: cls, annotations: { 'wisp.dev/max-backlog': String(backlog) } });
      await p.trigger({
        name: `${b}-all`,
        broker: b,
        subscriber: `${sub.url}/${cls}`,
        // Few deliveries at a time per Trigger make the subscriber slow; the timeout is far above an answer's 20 ms.
        annotations: { 'wisp.dev/max-in-flight': String(SLOW_CONCURRENCY) },
        delivery: { retry: 10, backoffPolicy: 'linear', backoffDelay: 'PT0.1S', timeout: 'PT30S' },
      });
    }
    const baseline = await redisMem.usedMemory();
    let peak = baseline;
    const sampler = setInterval(() => {
      redisMem.usedMemory().then((m) => (peak = Math.max(peak, m)), () => undefined);
    }, 500);

    const accepted = { Memory: new Set<string>(), Redis: new Set<string>() };
    const refusedBatchIds = { Memory: new Set<string>(), Redis: new Set<string>() };
    const answers = { Memory: new Tally(), Redis: new Tally() };
    const batchAnswers = { Memory: new Tally(), Redis: new Tally() };
    let bad5xx = 0;
    let n503NoRetryAfter = 0;
    // One closed loop per class, side by side: the Memory class paces its producers (a publish that finds the
    // Trigger's queue at its high-water mark waits, up to 1 s, for the consumer), so one shared loop would hold the
    // Redis producers behind Memory's waits. Memory refuses past the cap only once more producers wait than its
    // Trigger drains per second: MEMORY_WORKERS against ~100 ev/s fills the cap within a few seconds.
    const seq = { Memory: 0, Redis: 0 };
    const loop = (cls: Cls, workers: number, agentOf: typeof agent) =>
      closedLoop({
        workers,
        seconds: opts.durationS,
        stop: () => !p.alive,
        send: async () => {
          const i = seq[cls]++;
          const path = `/default/overload-${cls.toLowerCase()}`;
          const isBatch = i % 10 === 5;
          const ids = isBatch ? Array.from({ length: 10 }, (_, k) => `ov-${cls}-${i}-${k}`) : [`ov-${cls}-${i}`];
          const r = isBatch
            ? await post({ port: p.ports.broker, path, headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(ids.map((id) => structuredEvent(id))), agent: agentOf })
            : await post({ port: p.ports.broker, path, headers: binaryHeaders(ids[0] as string), body: `{"i":${i}}`, agent: agentOf });
          const label = r.status === 503 ? (r.retryAfter ? '503+Retry-After' : '503 without Retry-After') : statusClass(r.status, r.failure);
          (isBatch ? batchAnswers : answers)[cls].add(label);
          if (r.status === 503 && !r.retryAfter) n503NoRetryAfter++;
          if (r.status !== undefined && r.status >= 500 && r.status !== 503) bad5xx++;
          if (r.status === 202) for (const id of ids) accepted[cls].add(id);
          else if (isBatch) for (const id of ids) refusedBatchIds[cls].add(id);
        },
      });
    await Promise.all([loop('Memory', MEMORY_WORKERS, memoryAgent), loop('Redis', WORKERS, agent)]);
    clearInterval(sampler);
    const prefixAtPeak = await redisMem.prefixUsage(p.redisPrefix).catch(() => ({ keys: -1, bytes: -1 }));
    const loadS = (performance.now() - started) / 1000;
    peak = Math.max(peak, await redisMem.usedMemory());

    slow = false;
    const drainStart = performance.now();
    await until(() => CLASSES.every((cls) => [...accepted[cls]].every((id) => sub.delivered(`/${cls}`).has(id))) || !p.alive, DRAIN_MS, 250);
    const drainS = (performance.now() - drainStart) / 1000;
    // Deliveries of refused batches would have arrived by now too.
    const healthy = await p.healthy();
    const crashed = p.crashes.length > 0 || !p.alive || !healthy;
    // A waiting BullMQ job is one hash key of well under 4 KiB here; the queue's own keys are a handful.
    const boundKeys = backlog + 200;
    const bound = backlog * 4 * 1024 + 8 * MiB;

    const rows: [string, number | string][] = [
      ['crashes (wisp up died)', crashed ? 1 : 0],
      ['ingress 5xx other than 503', bad5xx],
      ['503 without Retry-After', n503NoRetryAfter],
      ['Redis used_memory baseline / peak (MiB, whole server)', `${(baseline / MiB).toFixed(1)} / ${(peak / MiB).toFixed(1)}`],
      ['Redis keys / MiB under the probe prefix at end of load', `${prefixAtPeak.keys} / ${(prefixAtPeak.bytes / MiB).toFixed(1)} (bounds ${boundKeys} keys, ${(bound / MiB).toFixed(0)} MiB)`],
      ['drain after load (s)', Number(drainS.toFixed(1))],
    ];
    const invariants: Invariant[] = [
      invariant('no crash', !crashed, crashed ? p.crashes.join('\n') || `alive ${p.alive}, /healthz ${healthy}` : 'wisp up alive, /healthz 200'),
      invariant('no ingress 5xx but 503', bad5xx === 0, String(bad5xx)),
      invariant('every 503 carries Retry-After', n503NoRetryAfter === 0, String(n503NoRetryAfter)),
      invariant('Redis memory bounded by the backlog cap (probe prefix)', prefixAtPeak.keys >= 0 && prefixAtPeak.keys <= boundKeys && prefixAtPeak.bytes <= bound, `${prefixAtPeak.keys} keys, ${(prefixAtPeak.bytes / MiB).toFixed(1)} MiB; bounds ${boundKeys} keys (cap + 200), ${(bound / MiB).toFixed(0)} MiB (cap × 4 KiB + 8 MiB)`),
    ];
    let totalLost = 0;
    let totalDup = 0;
    let refusedDeliveredTotal = 0;
    for (const cls of CLASSES) {
      const { lost, duplicates } = lossAndDuplicates(accepted[cls], sub.delivered(`/${cls}`));
      const refusedDelivered = [...refusedBatchIds[cls]].filter((id) => sub.delivered(`/${cls}`).has(id));
      totalLost += lost.length;
      totalDup += duplicates;
      refusedDeliveredTotal += refusedDelivered.length;
      const n503 = answers[cls].get('503+Retry-After') + batchAnswers[cls].get('503+Retry-After');
      rows.push(
        [`${cls}: single events`, answers[cls].summary()],
        [`${cls}: batches of 10`, batchAnswers[cls].summary()],
        [`${cls}: events accepted`, accepted[cls].size],
        [`${cls}: lost`, lost.length],
        [`${cls}: duplicates`, duplicates],
        [`${cls}: events of refused batches delivered`, `${refusedDelivered.length} of ${refusedBatchIds[cls].size}`],
      );
      invariants.push(
        invariant(`${cls}: 503 with Retry-After past the backlog cap`, n503 > 0, `${n503} 503s`),
        invariant(`${cls}: nothing accepted is lost`, lost.length === 0, `${lost.length} of ${accepted[cls].size}${lost.length ? ` (e.g. ${lost.slice(0, 4).join(', ')})` : ''}`),
        invariant(`${cls}: no event of a refused batch is delivered`, refusedDelivered.length === 0, `${refusedDelivered.length} of ${refusedBatchIds[cls].size}${refusedDelivered.length ? ` (e.g. ${refusedDelivered.slice(0, 4).join(', ')})` : ''}`),
      );
    }
    return {
      probe: 'overload',
      method: [
        `${opts.durationS} s closed loop of ${WORKERS} keep-alive producers, alternating a Memory and a Redis broker (wisp.dev/max-backlog ${backlog}); every 10th request a batch of 10.`,
        `Slow subscriber: Trigger wisp.dev/max-in-flight ${SLOW_CONCURRENCY}, each answer after ${SLOW_MS} ms; then fast, and up to ${DRAIN_MS / 1000} s to drain (load phase ended at ${loadS.toFixed(1)} s).`,
        'Redis memory: INFO used_memory sampled every 500 ms (shared server: noisy), and MEMORY USAGE of every key under the probe prefix at the end of the load.',
      ],
      rows,
      invariants,
      seconds: (performance.now() - started) / 1000,
      totals: { requests: CLASSES.reduce((n, c) => n + answers[c].total() + batchAnswers[c].total(), 0), crashes: crashed ? 1 : 0, fiveXX: bad5xx + n503NoRetryAfter, busy: CLASSES.reduce((n, c) => n + answers[c].get('503+Retry-After') + batchAnswers[c].get('503+Retry-After'), 0), lost: totalLost, duplicates: totalDup, note: `cap ${backlog}; Redis prefix ${prefixAtPeak.keys} keys / ${(prefixAtPeak.bytes / MiB).toFixed(1)} MiB at peak; refused-batch events delivered ${refusedDeliveredTotal}` },
    };
  } finally {
    agent.destroy();
    memoryAgent.destroy();
    redisMem.close();
    await platform?.cleanup();
    await sub.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseProbeArgs(process.argv.slice(2), { durationS: 20, extra: { backlog: 2000 } });
  await runAsScript(async () => [await probeOverload({ durationS: args.durationS, backlog: args.extra['backlog'] ?? 2000 })]);
}
