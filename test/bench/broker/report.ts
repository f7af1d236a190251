/** What the broker bench prints: per-phase lines, the per-class tables with ratios to direct, and the per-class summary. */
import { cpus } from 'node:os';
import { type LoadResult, quantile } from './load.js';
import type { EventingCounters } from './platform.js';
import type { CpuShare } from './cpu.js';
import type { SubscriberStats } from './subscriber.js';
import { type BenchClass, EV_TARGET } from './classes.js';

export interface BenchShape {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  rate: number;
  fanout: number;
  p99TargetMs: number;
  ratioTarget: number;
}

export interface Row {
  name: string;
  mode: string;
  triggers: number;
  load: LoadResult;
  stats: SubscriberStats;
  expected: number;
  drainMs: number;
  wisp?: EventingCounters;
  cpu: CpuShare;
  /** CPU time of `wisp up` per accepted event (all its Triggers' deliveries included), µs, first send to last delivery. */
  wispCpuUsPerEvent?: number;
}

export const f = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

/** Deliveries per second at the subscriber, from the first send to the last delivery. */
export function deliveryRate(r: Row): number {
  const span = Math.max(r.stats.lastAt, r.load.endedAt) - r.load.startedAt;
  return r.stats.count / (span / 1000);
}

export function ingestRate(r: Row): number {
  return r.load.accepted / ((r.load.endedAt - r.load.startedAt) / 1000);
}

export function report(r: Row): void {
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

export function table(rows: Row[]): void {
  const withBackend = rows.some((r) => !Number.isNaN(r.cpu.backend));
  const head = ['phase', 'mode', 'ingested ev/s', 'deliveries/s', 'delivered ev/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'resp p50', 'resp p99', 'errors', 'missing', 'cpu% gen/wisp/sub', 'wisp µs/ev'];
  if (withBackend) head.push('backend cpu%');
  head.push('other cpu%');
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
      r.triggers > 0 ? f(r.wispCpuUsPerEvent, 0) : '-',
      ...(withBackend ? [Number.isNaN(r.cpu.backend) ? '-' : f(r.cpu.backend, 0)] : []),
      f(r.cpu.others, 0),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}


/** The phases of one class; `error` when the class could not be measured to the end. */
export interface ClassResult {
  cls: BenchClass;
  describe: string;
  one?: Row;
  oneRate?: Row;
  fan?: Row;
  error?: string;
}

const mark = (ok: boolean): string => (ok ? 'ok' : 'MISSED');

export function printMethod(shape: BenchShape, results: ClassResult[]): void {
  const { concurrency, seconds, warmupSeconds, rate, fanout } = shape;
  console.log('');
  console.log('method:');
  console.log(`  processes: load generator (this process, undici keep-alive pools), \`wisp up\` (broker ingress, backend client and`);
  console.log(`  dispatcher in one node process, WISP_LOG_LEVEL=warn; a fresh one per class), subscriber (test/fixtures/bench-subscriber.js,`);
  console.log(`  node:http, 202 at once), and the class's backend server:`);
  for (const r of results) console.log(`    ${r.cls}: ${r.describe}`);
  console.log(`  events: binary-mode CloudEvents, 14-byte JSON body, type dev.wisp.bench; Triggers filter on that type (all match).`);
  console.log(`  throughput: closed loop, ${concurrency} concurrent keep-alive requests, ${seconds} s after a ${warmupSeconds} s warm-up (excluded).`);
  console.log(`  fixed rate: open loop, ${rate} ev/s for ${seconds} s, sends scheduled on a 1 ms timer regardless of responses.`);
  console.log(`  direct phases run once per run (before any wisp up), and every class's table shows them beside its own rows.`);
  console.log(`  latency: producer send -> subscriber receive (extension benchsentat = performance.timeOrigin + performance.now()),`);
  console.log(`  for every delivery (with ${fanout} Triggers: ${fanout} latencies per event). Includes any queueing inside the broker.`);
  console.log(`  ingested ev/s: 202s / generator run time; deliveries/s: deliveries at the subscriber / (first send -> last delivery);`);
  console.log(`  p50..max: send -> subscriber (ms); resp p50/p99: send -> response at the producer (the ingress's 202, or the direct 202).`);
  console.log(`  cpu%: CPU time of each process during the generator's run, in % of one core (wisp idles in direct phases);`);
  console.log(`  backend cpu%: the Redis server / Kafka JVM when found on this machine (listening socket -> pid);`);
  console.log(`  other cpu%: the rest of the machine's busy time meanwhile (other processes competing for the ${cpus().length} cores).`);
  console.log(`  wisp µs/ev: CPU time (utime+stime) of wisp up from the first send until the last delivery arrived, per accepted event`);
  console.log(`  (with ${fanout} Triggers: per event fanned out ${fanout}×). The figure to compare across runs on a busy machine.`);
  console.log(`  delivered ev/s = deliveries/s / Triggers. Every phase waits until all deliveries arrived before reading stats.`);
  console.log(`  machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), shared by all of the above; node ${process.version}.`);
}

/** The class's table (direct rows beside its rows) and its ratios to direct and targets. */
export function printClassSummary(shape: BenchShape, res: ClassResult, direct: Row, directRate: Row): void {
  const { fanout, rate } = shape;
  console.log('');
  console.log(`=== ${res.cls} ===`);
  if (res.error !== undefined) console.log(`!!! ${res.cls} not measured to the end: ${res.error}`);
  const rows = [direct, res.one, directRate, res.oneRate, res.fan].filter((r): r is Row => r !== undefined);
  table(rows);
  console.log('');
  const d = deliveryRate(direct);
  if (res.one) {
    const ratio1 = deliveryRate(res.one) / d;
    const ratioNote = res.cls === 'Memory' ? `  (target >= ${shape.ratioTarget}: ${mark(ratio1 >= shape.ratioTarget)})` : '';
    console.log(`1 Trigger delivered ev/s / direct:         ${f(ratio1, 2)}${ratioNote}`);
    console.log(`1 Trigger wisp CPU per event:              ${f(res.one.wispCpuUsPerEvent, 0)} µs (${f(1e6 / (res.one.wispCpuUsPerEvent ?? NaN), 0)} ev/s per core of wisp)`);
    const evTarget = EV_TARGET[res.cls];
    if (evTarget !== undefined) {
      const ev = deliveryRate(res.one);
      console.log(`1 Trigger delivered ev/s:                  ${f(ev, 0)}  (target >= ${evTarget}: ${mark(ev >= evTarget)})`);
    }
  }
  if (res.fan) {
    console.log(`${fanout} Triggers deliveries/s / direct:       ${f(deliveryRate(res.fan) / d, 2)}  (the subscriber's load per second, comparable with direct)`);
    console.log(`${fanout} Triggers delivered ev/s / direct:     ${f(deliveryRate(res.fan) / fanout / d, 3)}  (events fully fanned out per second)`);
  }
  if (res.oneRate) {
    const p99 = res.oneRate.stats.p99 ?? NaN;
    console.log(`p99 ingress->subscriber @${rate} ev/s, 1 Trigger: ${f(p99, 2)} ms (direct ${f(directRate.stats.p99, 2)} ms; target <= ${shape.p99TargetMs} ms: ${mark(p99 <= shape.p99TargetMs)})`);
  }
  const busy = rows.filter((r) => r.cpu.others > 25);
  if (busy.length > 0) {
    const list = busy.map((r) => `${r.name} ${f(r.cpu.others, 0)}%`).join(', ');
    console.log(`!!! other processes competed for the CPU (of one core) during: ${list}; those rows are not representative.`);
  }
  const missing = rows.filter((r) => r.stats.count < r.expected);
  if (missing.length > 0) console.log(`!!! ${missing.length} phase(s) with accepted events that were NOT delivered: ${missing.map((r) => r.name).join(', ')}`);
  else console.log('every accepted event was delivered to every Trigger (no shortfall).');
}

/** One line per class: the numbers that decide the targets. */
export function printCompact(shape: BenchShape, results: ClassResult[], direct: Row, directRate: Row): void {
  const { fanout, rate } = shape;
  const head = ['class', '1T ev/s', '1T p50', '1T p99', '1T wisp µs/ev', `${fanout}T deliveries/s`, `@${rate} p50`, `@${rate} p99`, 'ratio 1T/direct', 'missing', 'targets'];
  const d = deliveryRate(direct);
  const lines: string[][] = [
    ['direct', f(d, 0), f(direct.stats.p50, 2), f(direct.stats.p99, 2), '-', '-', f(directRate.stats.p50, 2), f(directRate.stats.p99, 2), '1.00', String(Math.max(0, direct.expected - direct.stats.count) + Math.max(0, directRate.expected - directRate.stats.count)), ''],
  ];
  for (const r of results) {
    const rows = [r.one, r.oneRate, r.fan].filter((x): x is Row => x !== undefined);
    const missing = rows.reduce((a, x) => a + Math.max(0, x.expected - x.stats.count), 0);
    const ev = r.one ? deliveryRate(r.one) : NaN;
    const ratio = ev / d;
    const p99 = r.oneRate?.stats.p99 ?? NaN;
    const evTarget = EV_TARGET[r.cls];
    const targets = [
      evTarget !== undefined ? `ev/s>=${evTarget} ${mark(ev >= evTarget)}` : `ratio>=${shape.ratioTarget} ${mark(ratio >= shape.ratioTarget)}`,
      `p99<=${shape.p99TargetMs}ms ${mark(p99 <= shape.p99TargetMs)}`,
    ];
    if (r.error !== undefined) targets.push('INCOMPLETE');
    lines.push([
      r.cls,
      f(ev, 0),
      f(r.one?.stats.p50, 2),
      f(r.one?.stats.p99, 2),
      f(r.one?.wispCpuUsPerEvent, 0),
      f(r.fan ? deliveryRate(r.fan) : NaN, 0),
      f(r.oneRate?.stats.p50, 2),
      f(p99, 2),
      f(ratio, 2),
      String(missing),
      targets.join(', '),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const last = head.length - 1;
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === last ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  console.log('');
  console.log(`summary (1T = 1 Trigger closed loop c=${shape.concurrency}, p50/p99 in ms send -> subscriber; ${fanout}T = ${fanout} Triggers closed loop; @${rate} = 1 Trigger at ${rate} ev/s open loop):`);
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
  console.log(`targets: Memory 1T/direct >= ${shape.ratioTarget}; Redis >= ${EV_TARGET.Redis} ev/s delivered (1T); Kafka >= ${EV_TARGET.Kafka} ev/s delivered (1T); every class p99 <= ${shape.p99TargetMs} ms @${rate} ev/s.`);
}
