/**
 * probe:crash — `kill -9` of `wisp up` mid-stream, then a restart on the same state dir and Redis prefix.
 * Requests go at --rate per second (default 200, alternating a Redis and a Memory broker; every 10th a batch of 5
 * events to Redis, which must be delivered whole or not at all when its request got no 202) for --duration seconds
 * (default 20); `wisp up` is killed with SIGKILL at 40 % (and, from 10 s on, again at 75 %) of the run and
 * started again at once. Afterwards the probe waits (up to 60 s: a job that a killed worker held comes back after
 * BullMQ's lock duration + stalled interval, ~35 s) until every accepted Redis event arrived.
 * Invariants: Redis loses nothing accepted; restarts succeed and nothing else dies. Memory is best effort by design:
 * its losses are reported, split into events accepted before the last kill and after the last restart, not failed.
 */
import { isMain, parseProbeArgs, runAsScript } from './lib/cli.js';
import { binaryHeaders, post, structuredEvent, until } from './lib/events.js';
import { keepAliveAgent } from './lib/http.js';
import { openLoop } from './lib/load.js';
import { Platform } from './lib/platform.js';
import { invariant, type ProbeReport, Tally } from './lib/report.js';
import { lossAndDuplicates, ProbeSubscriber } from './lib/subscriber.js';

const DRAIN_MS = 60_000;

export async function probeCrash(opts: { durationS: number; rate?: number }): Promise<ProbeReport> {
  const started = performance.now();
  const rate = opts.rate ?? 200;
  const sub = await new ProbeSubscriber().start();
  let platform: Platform | undefined;
  let agent = keepAliveAgent(64);
  try {
    platform = await Platform.start();
    const p = platform;
    const delivery = { retry: 20, backoffPolicy: 'linear', backoffDelay: 'PT0.05S' };
    await p.broker({ name: 'crash-redis', brokerClass: 'Redis' });
    await p.broker({ name: 'crash-mem', brokerClass: 'Memory' });
    await p.trigger({ name: 'crash-redis-all', broker: 'crash-redis', subscriber: `${sub.url}/redis`, delivery });
    await p.trigger({ name: 'crash-mem-all', broker: 'crash-mem', subscriber: `${sub.url}/mem`, delivery });

    const killAt = (opts.durationS >= 10 ? [0.4, 0.75] : [0.4]).map((f) => f * opts.durationS * 1000);
    /** Epoch = kills done when the 202 arrived: Memory events of the last epoch must all arrive. */
    let epoch = 0;
    let down = false;
    const restartMs: number[] = [];
    const accepted = { redis: new Map<string, number>(), mem: new Map<string, number>() };
    const answers = new Tally();
    /** Batches without a 202 (refused, reset by a kill, ...): each must be delivered whole or not at all. */
    const unansweredBatches: string[][] = [];
    let bad5xx = 0;
    const loadStart = Date.now();
    const chaos = (async () => {
      for (const at of killAt) {
        const wait = loadStart + at - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        down = true;
        await p.kill9();
        agent.destroy();
        agent = keepAliveAgent(64);
        epoch++;
        const t = performance.now();
        await p.restart();
        restartMs.push(performance.now() - t);
        down = false;
      }
    })();
    const sent = await openLoop({
      rate,
      seconds: opts.durationS,
      maxInFlight: 128,
      send: async (i) => {
        const cls = i % 2 === 0 ? 'redis' : 'mem';
        const e = epoch;
        // Every 10th request (Redis) is a batch of 5: stored whole or not at all, also when the process dies.
        const isBatch = i % 10 === 4;
        const ids = isBatch ? Array.from({ length: 5 }, (_, k) => `cr-${cls}-${i}-${k}`) : [`cr-${cls}-${i}`];
        const r = isBatch
          ? await post({ port: p.ports.broker, path: `/default/crash-${cls}`, headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(ids.map((id) => structuredEvent(id))), agent, timeoutMs: 5000 })
          : await post({ port: p.ports.broker, path: `/default/crash-${cls}`, headers: binaryHeaders(ids[0] as string), body: `{"i":${i}}`, agent, timeoutMs: 5000 });
        answers.add(r.status === undefined ? `${r.failure}${down ? ' (while down)' : ''}` : String(r.status));
        if (r.status !== undefined && r.status >= 500 && !(r.status === 503 && r.retryAfter)) bad5xx++;
        // An answer that started before a kill and came back after it still belongs to the epoch it was sent in.
        if (r.status === 202) for (const id of ids) accepted[cls].set(id, e);
        else if (isBatch) unansweredBatches.push(ids);
      },
    });
    await chaos;
    const drainStart = performance.now();
    const redisOk = sub.delivered('/redis');
    await until(() => [...accepted.redis.keys()].every((id) => redisOk.has(id)), DRAIN_MS, 250);
    const drainS = (performance.now() - drainStart) / 1000;
    // Memory delivers within milliseconds; a short settle for its last events.
    const memOk = sub.delivered('/mem');
    const lastMem = [...accepted.mem].filter(([, e]) => e === epoch).map(([id]) => id);
    await until(() => lastMem.every((id) => memOk.has(id)), 10_000, 100);

    const healthy = await p.healthy();
    const crashed = p.crashes.length > 0 || !p.alive || !healthy;
    const redis = lossAndDuplicates(accepted.redis.keys(), sub.delivered('/redis'));
    const mem = lossAndDuplicates(accepted.mem.keys(), sub.delivered('/mem'));
    const memLastLost = lossAndDuplicates(lastMem, sub.delivered('/mem')).lost;
    const redisGot = sub.delivered('/redis');
    const partial = unansweredBatches.filter((ids) => {
      const n = ids.filter((id) => redisGot.has(id)).length;
      return n > 0 && n < ids.length;
    });
    const wholeDelivered = unansweredBatches.filter((ids) => ids.every((id) => redisGot.has(id))).length;
    const rows: [string, number | string][] = [
      ['requests sent', sent],
      ['ingress answers', answers.summary()],
      ['kill -9', `${killAt.length} (at ${killAt.map((t) => (t / 1000).toFixed(1)).join(', ')} s)`],
      ['restart to ready (ms)', restartMs.map((m) => Math.round(m)).join(', ')],
      ['unexpected deaths of wisp up', p.crashes.length],
      ['ingress 5xx other than 503+Retry-After', bad5xx],
      ['Redis: accepted', accepted.redis.size],
      ['Redis: delivered', accepted.redis.size - redis.lost.length],
      ['Redis: lost', redis.lost.length],
      ['Redis: duplicates', redis.duplicates],
      ['Redis: drain after load (s)', Number(drainS.toFixed(1))],
      ['Redis: batches without a 202: delivered whole / none / partly', `${wholeDelivered} / ${unansweredBatches.length - wholeDelivered - partial.length} / ${partial.length}`],
      ['Memory: accepted', accepted.mem.size],
      ['Memory: delivered', accepted.mem.size - mem.lost.length],
      ['Memory: lost (best effort: report only)', mem.lost.length],
      ['Memory: lost of those accepted after the last restart', memLastLost.length],
      ['Memory: duplicates', mem.duplicates],
    ];
    return {
      probe: 'crash',
      method: [
        `${opts.durationS} s at ${rate} requests/s (keep-alive; even ones to a Redis broker, odd to a Memory broker; every 10th a Redis batch of 5), one Trigger each (retry 20, linear 50 ms).`,
        `SIGKILL of wisp up at ${killAt.map((t) => (t / 1000).toFixed(1)).join(' and ')} s, restarted at once on the same state dir and Redis prefix; requests meanwhile fail (not accepted).`,
        `Then up to ${DRAIN_MS / 1000} s for every accepted Redis event. Accepted = 202; delivered = subscriber answered 2xx.`,
      ],
      rows,
      invariants: [
        invariant('no crash besides the kills; restarts come up', !crashed, crashed ? p.crashes.join('\n') || `alive ${p.alive}, /healthz ${healthy}` : `${restartMs.length} restart(s), /healthz 200`),
        invariant('no ingress 5xx but 503 with Retry-After', bad5xx === 0, String(bad5xx)),
        invariant('Redis: a batch is delivered whole or not at all, across kill -9', partial.length === 0, `${partial.length} of ${unansweredBatches.length} batches without a 202 partly delivered`),
        invariant('Redis: nothing accepted is lost across kill -9', redis.lost.length === 0, `${redis.lost.length} lost of ${accepted.redis.size}${redis.lost.length ? ` (e.g. ${redis.lost.slice(0, 5).join(', ')})` : ''}; ${redis.duplicates} duplicates`),
      ],
      seconds: (performance.now() - started) / 1000,
      totals: { requests: sent, crashes: p.crashes.length, fiveXX: bad5xx, busy: answers.get('503'), lost: redis.lost.length, duplicates: redis.duplicates, note: `Redis; ${killAt.length} kill -9; Memory (best effort) lost ${mem.lost.length} of ${accepted.mem.size}, ${memLastLost.length} of them after the last restart` },
    };
  } finally {
    agent.destroy();
    await platform?.cleanup();
    await sub.stop();
  }
}

if (isMain(import.meta.url)) {
  const args = parseProbeArgs(process.argv.slice(2), { durationS: 20, extra: { rate: 200 } });
  await runAsScript(async () => [await probeCrash({ durationS: args.durationS, rate: args.extra['rate'] ?? 200 })]);
}
