/**
 * Broker benchmark: what a Broker costs between a producer and a subscriber, per Broker class.
 *
 * Processes: this one (the load generator), `wisp up` (broker ingress + backend client + dispatcher; a
 * fresh one per class), test/fixtures/bench-subscriber.js (answers 202 at once, records latencies), and
 * the backend's server for Redis (the Redis at WISP_REDIS_URL, default 127.0.0.1:6379) and Kafka
 * (WISP_KAFKA_BROKERS, or a local Kafka started for the run and stopped after it).
 * Phases, each WISP_BENCH_SECONDS long (default 10) after a warm-up:
 *  - once per run: direct to the subscriber, closed loop (CONCURRENCY keep-alive connections, undici) and
 *    at a fixed RATE ev/s (open loop);
 *  - per class: through the broker with 1 Trigger (closed loop, and RATE ev/s open loop), and with
 *    10 Triggers (fan-out ×10, closed loop).
 * Latency is producer send → subscriber receive (`benchsentat` extension, epoch ms on the same clock).
 * Between phases it waits until every accepted event has been delivered to every Trigger and reports any
 * shortfall loudly. Every process it starts is stopped in `finally` and on SIGINT/SIGTERM.
 *
 * Run: npm run bench:broker [-- --class Memory|Redis|Kafka|all ...]   (default Memory; --class repeatable;
 *      WISP_BENCH_SECONDS=5 for a quicker run; WISP_BENCH_CPU_PROF=DIR writes a --cpu-prof of each wisp up into DIR)
 */
import { cpus } from 'node:os';
import { WispUp } from './broker/wisp.js';
import { type LoadResult, type Target, closedLoop, openLoop, sendOne } from './broker/load.js';
import { NAMESPACE, applyBroker, applyTriggers, counters, deleteBench, diff } from './broker/platform.js';
import { cpuShare, sampleCpu } from './broker/cpu.js';
import { Subscriber } from './broker/subscriber.js';
import { type BenchClass, type ClassSetup, benchBroker, parseClasses, setupClass } from './broker/classes.js';
import { type BenchShape, type ClassResult, type Row, printClassSummary, printCompact, printMethod, report } from './broker/report.js';

const SECONDS = Number(process.env['WISP_BENCH_SECONDS'] ?? 10);
const WARMUP_SECONDS = Math.max(1, Math.min(2, SECONDS / 5));
const CONCURRENCY = 64;
const RATE = 1000;
const FANOUT = 10;
const CPU_PROF_DIR = process.env['WISP_BENCH_CPU_PROF'];
/** The goals of issue 13: p99 producer -> subscriber at RATE ev/s, and Memory's delivered ev/s / direct POST. */
const P99_TARGET_MS = 25;
const RATIO_TARGET = 0.6;
/** Unique per run: names the Brokers (so Kafka topics and groups are new) and the Redis key prefix. */
const RUN_ID = `${Date.now().toString(36)}${process.pid.toString(36)}`;

let wisp: WispUp | undefined;
let interrupted: NodeJS.Signals | undefined;
let subscriber: Subscriber | undefined;
/** The backend server's pid of the class being measured (its CPU share), when known. */
let backendPid: number | undefined;
/** Class setups not yet cleaned up (Redis keys, a local Kafka). */
const setups = new Set<ClassSetup>();

async function cleanupSetup(setup: ClassSetup): Promise<void> {
  setups.delete(setup);
  try {
    const line = await setup.cleanup();
    if (line !== undefined) console.log(`  (${line})`);
  } catch (err) {
    console.log(`!!! cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Stops wisp up and the subscriber, then undoes the class setups (after wisp, so nothing recreates their keys). */
async function stopAll(): Promise<void> {
  await Promise.allSettled([wisp?.cleanup(), subscriber?.stop()]);
  await Promise.allSettled([...setups].map(cleanupSetup));
}

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
  opts: {
    name: string;
    target: Target;
    triggers: number;
    broker?: string;
    run: (idPrefix: string, seconds: number) => Promise<LoadResult>;
    mode: string;
    warmup: boolean;
  },
): Promise<Row> {
  const viaBroker = opts.triggers > 0 && opts.broker !== undefined;
  const fanout = Math.max(1, opts.triggers);
  await sub.reset();
  if (opts.warmup) {
    const w = await opts.run(`warm-${opts.name}`, WARMUP_SECONDS);
    const ws = await sub.drain(w.accepted * fanout);
    if (ws.count !== w.accepted * fanout) console.log(`!!! warm-up of ${opts.name}: ${ws.count} of ${w.accepted * fanout} deliveries arrived`);
  }
  await sub.reset();
  const broker = opts.broker ?? '';
  const before = viaBroker && wisp ? await counters(wisp, broker) : undefined;
  const pids = { wisp: viaBroker ? wisp?.pid : undefined, subscriber: sub.child.pid, backend: viaBroker ? backendPid : undefined };
  const cpu0 = sampleCpu(pids);
  const load = await opts.run(opts.name, SECONDS);
  const cpu = cpuShare(cpu0, sampleCpu(pids));
  const expected = load.accepted * fanout;
  const drainStart = Date.now();
  const stats = await sub.drain(expected);
  const drainMs = Date.now() - drainStart;
  // Wisp's CPU from the first send until every delivery arrived (a backlog drained after the run is work too).
  const drained = sampleCpu(pids);
  const wispCpuUs = viaBroker && load.accepted > 0 ? ((drained.wisp - cpu0.wisp) * 1000) / load.accepted : NaN;
  const row: Row = { name: opts.name, mode: opts.mode, triggers: opts.triggers, load, stats, expected, drainMs, cpu, wispCpuUsPerEvent: wispCpuUs };
  if (before && wisp) row.wisp = diff(await counters(wisp, broker), before);
  report(row);
  return row;
}

const SHAPE: BenchShape = {
  seconds: SECONDS,
  warmupSeconds: WARMUP_SECONDS,
  concurrency: CONCURRENCY,
  rate: RATE,
  fanout: FANOUT,
  p99TargetMs: P99_TARGET_MS,
  ratioTarget: RATIO_TARGET,
};

const closed = (target: Target) => (idPrefix: string, seconds: number) => closedLoop(target, { concurrency: CONCURRENCY, seconds, idPrefix });
const open = (target: Target) => (idPrefix: string, seconds: number) => openLoop(target, { rate: RATE, seconds, idPrefix });
const closedMode = `closed c=${CONCURRENCY}`;
const openMode = `open ${RATE}/s`;

/** One class: its backend, a fresh `wisp up`, its Broker and Triggers, the three broker phases; always torn down. */
async function runClass(sub: Subscriber, cls: BenchClass): Promise<ClassResult> {
  console.log('');
  console.log(`--- ${cls} broker class ---`);
  const res: ClassResult = { cls, describe: '(not set up)' };
  let setup: ClassSetup | undefined;
  try {
    setup = await setupClass(cls, RUN_ID, (m) => console.log(`  ${m}`));
    setups.add(setup);
    res.describe = setup.describe;
    backendPid = setup.backendPid;
    console.log(`  backend: ${setup.describe}${backendPid !== undefined ? ` (pid ${backendPid})` : ''}`);
    const env: Record<string, string> = { ...setup.env, ...(CPU_PROF_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}` } : {}) };
    wisp = await WispUp.create(env);
    await wisp.start();
    const w = wisp;
    const b = benchBroker(cls, RUN_ID);
    await applyBroker(w, b);
    await applyTriggers(w, b.name, sub.origin, 0, 1);
    const broker: Target = { origin: `http://127.0.0.1:${w.ports.broker}`, path: `/${NAMESPACE}/${b.name}` };
    await probe(sub, broker, 1);
    const base = { target: broker, broker: b.name };
    res.one = await phase(sub, { ...base, name: `1 Trigger`, mode: closedMode, triggers: 1, run: closed(broker), warmup: true });
    res.oneRate = await phase(sub, { ...base, name: `1 Trigger @${RATE}`, mode: openMode, triggers: 1, run: open(broker), warmup: false });
    await applyTriggers(w, b.name, sub.origin, 1, FANOUT);
    await probe(sub, broker, FANOUT);
    res.fan = await phase(sub, { ...base, name: `${FANOUT} Triggers`, mode: closedMode, triggers: FANOUT, run: closed(broker), warmup: true });
    // Everything but the startup banner: warnings and errors wisp logged during the run.
    const logged = w.output.split('\n').filter((l) => l.startsWith('{') || /error|warn/i.test(l));
    if (logged.length > 0) console.log(`\n${cls}: wisp up logged (warn and above, last 20):\n${logged.slice(-20).join('\n')}`);
    // Durable backends drop the Triggers' queues / consumer groups and the Broker's topic.
    await deleteBench(w, b, FANOUT, sub.origin).catch((err: unknown) => console.log(`  (deleting the bench Broker and Triggers failed: ${String(err)})`));
  } catch (err) {
    if (interrupted) throw err;
    res.error = err instanceof Error ? err.message : String(err);
    console.log(`!!! ${cls}: ${res.error}`);
    if (wisp) {
      const tail = wisp.output.split('\n').slice(-15).join('\n');
      if (tail.trim() !== '') console.log(`  wisp up output (last 15 lines):\n${tail}`);
    }
  } finally {
    await wisp?.cleanup();
    wisp = undefined;
    backendPid = undefined;
    if (setup) await cleanupSetup(setup);
  }
  return res;
}

async function main(): Promise<void> {
  const classes = parseClasses(process.argv.slice(2));
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    void stopAll().then(() => {
      console.error(`interrupted by ${signal}; stopped wisp up, the subscriber and the class backends`);
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results: ClassResult[] = [];
  try {
    subscriber = await Subscriber.start();
    const sub = subscriber;
    console.log(
      `broker bench: classes ${classes.join(', ')}; ${SECONDS} s per phase (after a ${WARMUP_SECONDS} s warm-up for closed-loop phases), ${cpus().length} cores, run ${RUN_ID}`,
    );
    const direct: Target = { origin: sub.origin, path: '/direct' };
    const directRow = await phase(sub, { name: 'direct', mode: closedMode, target: direct, triggers: 0, run: closed(direct), warmup: true });
    const directRate = await phase(sub, { name: `direct @${RATE}`, mode: openMode, target: direct, triggers: 0, run: open(direct), warmup: false });

    for (const cls of classes) results.push(await runClass(sub, cls));

    printMethod(SHAPE, results);
    for (const r of results) printClassSummary(SHAPE, r, directRow, directRate);
    printCompact(SHAPE, results, directRow, directRate);
    const failed = results.filter((r) => r.error !== undefined);
    if (failed.length > 0) process.exitCode = 1;
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (CPU_PROF_DIR) console.log(`\ncpu profiles of wisp up written to ${CPU_PROF_DIR}`);
}

main().catch((err: unknown) => {
  if (interrupted) return void console.error(`interrupted by ${interrupted}; stopped wisp up, the subscriber and the class backends`);
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
