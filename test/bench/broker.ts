/**
 * Broker benchmark: what the in-memory Broker costs between a producer and a subscriber.
 *
 * Three processes: this one (the load generator), `wisp up` (broker ingress + in-memory backend +
 * dispatcher), and test/fixtures/bench-subscriber.js (answers 202 at once, records latencies).
 * Phases, each WISP_BENCH_SECONDS long (default 10) after a warm-up:
 *  - max throughput, closed loop (CONCURRENCY keep-alive connections, undici): direct to the subscriber,
 *    through the broker with 1 Trigger, and with 10 Triggers (fan-out ×10);
 *  - a fixed rate of RATE ev/s, open loop, direct and with 1 Trigger.
 * Latency is producer send → subscriber receive (`benchsentat` extension, epoch ms on the same clock).
 * Between phases it waits until every accepted event has been delivered to every Trigger and reports any
 * shortfall loudly. Every process it starts is stopped in `finally` and on SIGINT/SIGTERM.
 *
 * Run: npm run bench:broker   (WISP_BENCH_SECONDS=5 for a quicker run;
 *      WISP_BENCH_CPU_PROF=DIR writes a --cpu-prof of the wisp process into DIR)
 */
import { cpus } from 'node:os';
import { WispUp } from './broker/wisp.js';
import { type LoadResult, type Target, closedLoop, openLoop, quantile, sendOne } from './broker/load.js';
import { BROKER, type EventingCounters, NAMESPACE, applyBroker, applyTriggers, counters, diff } from './broker/platform.js';
import { type CpuShare, cpuShare, sampleCpu } from './broker/cpu.js';
import { Subscriber, type SubscriberStats } from './broker/subscriber.js';

const SECONDS = Number(process.env['WISP_BENCH_SECONDS'] ?? 10);
const WARMUP_SECONDS = Math.max(1, Math.min(2, SECONDS / 5));
const CONCURRENCY = 64;
const RATE = 1000;
const FANOUT = 10;
const CPU_PROF_DIR = process.env['WISP_BENCH_CPU_PROF'];

interface Row {
  name: string;
  mode: string;
  triggers: number;
  load: LoadResult;
  stats: SubscriberStats;
  expected: number;
  drainMs: number;
  wisp?: EventingCounters;
  cpu: CpuShare;
}

let wisp: WispUp | undefined;
let interrupted: NodeJS.Signals | undefined;
let subscriber: Subscriber | undefined;

async function stopAll(): Promise<void> {
  await Promise.allSettled([wisp?.cleanup(), subscriber?.stop()]);
}

const f = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

/** Sends one event through the broker and waits until every Trigger delivered it: the dispatch path is live. */
async function probe(sub: Subscriber, target: Target, triggers: number): Promise<void> {
  await sub.reset();
  const status = await sendOne(target, `probe-${triggers}`);
  if (status !== 202) throw new Error(`probe event answered ${status}, want 202`);
  const s = await sub.drain(triggers, 15_000);
  if (s.count !== triggers) throw new Error(`probe: ${s.count} of ${triggers} deliveries arrived (${JSON.stringify(s.paths)})`);
  await sub.reset();
}

async function phase(
  sub: Subscriber,
  opts: { name: string; target: Target; triggers: number; run: (idPrefix: string, seconds: number) => Promise<LoadResult>; mode: string; warmup: boolean },
): Promise<Row> {
  const viaBroker = opts.triggers > 0;
  const fanout = Math.max(1, opts.triggers);
  await sub.reset();
  if (opts.warmup) {
    const w = await opts.run(`warm-${opts.name}`, WARMUP_SECONDS);
    const ws = await sub.drain(w.accepted * fanout);
    if (ws.count !== w.accepted * fanout) console.log(`!!! warm-up of ${opts.name}: ${ws.count} of ${w.accepted * fanout} deliveries arrived`);
  }
  await sub.reset();
  const before = viaBroker && wisp ? await counters(wisp) : undefined;
  const pids = { wisp: wisp?.pid, subscriber: sub.child.pid };
  const cpu0 = sampleCpu(pids);
  const load = await opts.run(opts.name, SECONDS);
  const cpu = cpuShare(cpu0, sampleCpu(pids));
  const expected = load.accepted * fanout;
  const drainStart = Date.now();
  const stats = await sub.drain(expected);
  const drainMs = Date.now() - drainStart;
  const row: Row = { name: opts.name, mode: opts.mode, triggers: opts.triggers, load, stats, expected, drainMs, cpu };
  if (before && wisp) row.wisp = diff(await counters(wisp), before);
  report(row);
  return row;
}

/** Deliveries per second at the subscriber, from the first send to the last delivery. */
function deliveryRate(r: Row): number {
  const span = Math.max(r.stats.lastAt, r.load.endedAt) - r.load.startedAt;
  return r.stats.count / (span / 1000);
}

function ingestRate(r: Row): number {
  return r.load.accepted / ((r.load.endedAt - r.load.startedAt) / 1000);
}

function report(r: Row): void {
  const errs = r.load.errors > 0 ? `, ${r.load.errors} errors (${[...r.load.errorKinds].map(([k, n]) => `${k}×${n}`).join(', ')})` : '';
  console.log(
    `${r.name}: ${r.load.accepted} accepted${errs}, ${r.stats.count}/${r.expected} deliveries, drained ${r.drainMs} ms after the last response` +
      (r.load.maxSendLagMs !== undefined ? `, max generator send lag ${f(r.load.maxSendLagMs)} ms` : ''),
  );
  if (r.stats.count < r.expected) {
    console.log('');
    console.log(`!!! SHORTFALL in "${r.name}": ${r.load.accepted} events accepted × ${Math.max(1, r.triggers)} Trigger(s) = ${r.expected} deliveries expected,`);
    console.log(`!!! only ${r.stats.count} arrived (${r.expected - r.stats.count} missing) after waiting for delivery progress to stop.`);
    console.log(`!!! per Trigger path: ${JSON.stringify(r.stats.paths)}`);
    if (r.wisp) console.log(`!!! wisp counters for the phase: ${JSON.stringify(r.wisp)}`);
    console.log('');
  } else if (r.stats.count > r.expected) {
    console.log(`!!! "${r.name}": ${r.stats.count - r.expected} deliveries MORE than expected (${r.stats.duplicates} duplicate ce-id per path)`);
  }
  if (r.wisp && (r.wisp.retried > 0 || r.wisp.dropped > 0 || r.wisp.deadLettered > 0 || r.wisp.rejected > 0)) {
    console.log(`    note: wisp counted ${JSON.stringify(r.wisp)} in this phase`);
  }
  if (r.stats.overflow > 0) console.log(`    note: the subscriber's latency array overflowed (${r.stats.overflow} latencies not recorded)`);
}

function table(rows: Row[]): void {
  const head = ['phase', 'mode', 'ingested ev/s', 'deliveries/s', 'delivered ev/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'resp p50', 'resp p99', 'errors', 'missing', 'cpu% gen/wisp/sub', 'other cpu%'];
  const lines = rows.map((r) => {
    const fan = Math.max(1, r.triggers);
    return [
      r.name,
      r.mode,
      f(ingestRate(r), 0),
      f(deliveryRate(r), 0),
      f(deliveryRate(r) / fan, 0),
      f(r.stats.p50, 2),
      f(r.stats.p90, 2),
      f(r.stats.p99, 2),
      f(r.stats.max, 1),
      f(quantile(r.load.responseMs, 0.5), 2),
      f(quantile(r.load.responseMs, 0.99), 2),
      String(r.load.errors),
      String(Math.max(0, r.expected - r.stats.count)),
      `${f(r.cpu.generator, 0)}/${r.triggers > 0 ? f(r.cpu.wisp, 0) : '-'}/${f(r.cpu.subscriber, 0)}`,
      f(r.cpu.others, 0),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    void stopAll().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const rows: Row[] = [];
  try {
    subscriber = await Subscriber.start();
    const sub = subscriber;
    const env: Record<string, string> = CPU_PROF_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}` } : {};
    wisp = await WispUp.create(env);
    await wisp.start();
    const w = wisp;
    await applyBroker(w);
    await applyTriggers(w, sub.origin, 0, 1);

    const direct: Target = { origin: sub.origin, path: '/direct' };
    const broker: Target = { origin: `http://127.0.0.1:${w.ports.broker}`, path: `/${NAMESPACE}/${BROKER}` };
    await probe(sub, broker, 1);

    console.log(`broker bench: ${SECONDS} s per phase (after a ${WARMUP_SECONDS} s warm-up for closed-loop phases), ${cpus().length} cores`);
    const closed = (target: Target) => (idPrefix: string, seconds: number) => closedLoop(target, { concurrency: CONCURRENCY, seconds, idPrefix });
    const open = (target: Target) => (idPrefix: string, seconds: number) => openLoop(target, { rate: RATE, seconds, idPrefix });
    const closedMode = `closed c=${CONCURRENCY}`;
    const openMode = `open ${RATE}/s`;

    rows.push(await phase(sub, { name: 'direct', mode: closedMode, target: direct, triggers: 0, run: closed(direct), warmup: true }));
    rows.push(await phase(sub, { name: '1 Trigger', mode: closedMode, target: broker, triggers: 1, run: closed(broker), warmup: true }));
    rows.push(await phase(sub, { name: `direct @${RATE}`, mode: openMode, target: direct, triggers: 0, run: open(direct), warmup: false }));
    rows.push(await phase(sub, { name: `1 Trigger @${RATE}`, mode: openMode, target: broker, triggers: 1, run: open(broker), warmup: false }));

    await applyTriggers(w, sub.origin, 1, FANOUT);
    await probe(sub, broker, FANOUT);
    rows.push(await phase(sub, { name: `${FANOUT} Triggers`, mode: closedMode, target: broker, triggers: FANOUT, run: closed(broker), warmup: true }));

    printSummary(rows);
    // Everything but the startup banner: warnings and errors wisp logged during the run.
    const logged = w.output.split('\n').filter((l) => l.startsWith('{') || /error|warn/i.test(l));
    if (logged.length > 0) console.log(`\nwisp up logged (warn and above, last 20):\n${logged.slice(-20).join('\n')}`);
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (CPU_PROF_DIR) console.log(`\ncpu profile of wisp up written to ${CPU_PROF_DIR}`);
}

function printSummary(rows: Row[]): void {
  const [direct, one, directRate, oneRate, fan] = rows as [Row, Row, Row, Row, Row];
  console.log('');
  console.log('method:');
  console.log(`  processes: load generator (this process, undici keep-alive pools), \`wisp up\` (memory broker: ingress, backend and`);
  console.log(`  dispatcher in one node process, WISP_LOG_LEVEL=warn), subscriber (test/fixtures/bench-subscriber.js, node:http, 202 at once).`);
  console.log(`  events: binary-mode CloudEvents, 14-byte JSON body, type ${'dev.wisp.bench'}; Triggers filter on that type (all match).`);
  console.log(`  throughput: closed loop, ${CONCURRENCY} concurrent keep-alive requests, ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up (excluded).`);
  console.log(`  fixed rate: open loop, ${RATE} ev/s for ${SECONDS} s, sends scheduled on a 1 ms timer regardless of responses.`);
  console.log(`  latency: producer send -> subscriber receive (extension benchsentat = performance.timeOrigin + performance.now()),`);
  console.log(`  for every delivery (with ${FANOUT} Triggers: ${FANOUT} latencies per event). Includes any queueing inside the broker.`);
  console.log(`  ingested ev/s: 202s / generator run time; deliveries/s: deliveries at the subscriber / (first send -> last delivery);`);
  console.log(`  p50..max: send -> subscriber (ms); resp p50/p99: send -> response at the producer (the ingress's 202, or the direct 202).`);
  console.log(`  cpu%: CPU time of each process during the generator's run, in % of one core (wisp idles in direct phases);`);
  console.log(`  other cpu%: the rest of the machine's busy time meanwhile (other processes competing for the ${cpus().length} cores).`);
  console.log(`  delivered ev/s = deliveries/s / Triggers. Every phase waits until all deliveries arrived before reading stats.`);
  console.log(`  machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), shared by the generator, wisp and the subscriber; node ${process.version}.`);
  console.log('');
  table(rows);
  console.log('');
  const d = deliveryRate(direct);
  const ratio1 = deliveryRate(one) / d;
  const ratioFanEv = deliveryRate(fan) / FANOUT / d;
  const ratioFanDel = deliveryRate(fan) / d;
  const mark = (ok: boolean): string => (ok ? 'ok' : 'MISSED');
  console.log(`1 Trigger delivered ev/s / direct:         ${f(ratio1, 2)}  (target >= 0.5: ${mark(ratio1 >= 0.5)})`);
  console.log(`${FANOUT} Triggers deliveries/s / direct:       ${f(ratioFanDel, 2)}  (the subscriber's load per second, comparable with direct)`);
  console.log(`${FANOUT} Triggers delivered ev/s / direct:     ${f(ratioFanEv, 3)}  (events fully fanned out per second)`);
  const p99 = oneRate.stats.p99 ?? NaN;
  console.log(`p99 ingress->subscriber @${RATE} ev/s, 1 Trigger: ${f(p99, 2)} ms (direct ${f(directRate.stats.p99, 2)} ms; target <= 50 ms: ${mark(p99 <= 50)})`);
  const busy = rows.filter((r) => r.cpu.others > 25);
  if (busy.length > 0) {
    const list = busy.map((r) => `${r.name} ${f(r.cpu.others, 0)}%`).join(', ');
    console.log(`!!! other processes competed for the CPU (of one core) during: ${list}; those rows are not representative.`);
  }
  const missing = rows.filter((r) => r.stats.count < r.expected);
  if (missing.length > 0) console.log(`!!! ${missing.length} phase(s) with accepted events that were NOT delivered: ${missing.map((r) => r.name).join(', ')}`);
  else console.log('every accepted event was delivered to every Trigger (no shortfall).');
}

main().catch((err: unknown) => {
  if (interrupted) return void console.error(`interrupted by ${interrupted}; stopped wisp up and the subscriber`);
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
