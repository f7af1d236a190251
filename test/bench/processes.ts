/**
 * Data-plane processes benchmark: `wisp up` with 1 data-plane process against `--data-plane-processes 2`, side by
 * side in one run (both running at once, measured round-robin so outside load hits both alike).
 *
 *  - activator: one hello replica per `wisp up` (containerConcurrency 0, min = max scale 1), wrk -t1 -c50 against
 *    the Service ingress; a third column runs 2 processes with NODE_CLUSTER_SCHED_POLICY=none (the kernel hands
 *    connections to the workers, instead of node:cluster's round robin in the primary).
 *  - broker (Memory, Redis): one Broker, one Trigger to test/fixtures/bench-subscriber.js (its own per column),
 *    closed loop of 64 keep-alive producers (undici), delivered ev/s = deliveries / (last delivery - first send).
 * CPU per request/event: utime+stime (/proc) of each process during the round: the primary, each worker, the
 * replica. On a machine where wrk, the replica and the workers share 2 cores the ratio is bounded by those cores,
 * so the bench also prints what the CPU per request allows where every worker has a core of its own.
 *
 * Run: npm run bench:processes [-- --part activator|broker|all] (default all)
 *      WISP_BENCH_SECONDS=3 (per round; 3 rounds), WISP_BENCH_CLASSES=Memory,Redis
 */
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { httpRequest } from '../support/http.js';
import { childPids } from '../support/proc-sockets.js';
import { waitFor } from '../support/wait.js';
import { ROOT, WispUp } from './broker/wisp.js';
import { closedLoop, openLoop, type Target } from './broker/load.js';
import { applyBroker, applyTriggers } from './broker/platform.js';
import { Subscriber } from './broker/subscriber.js';
import { benchBroker, setupClass, type BenchClass, type ClassSetup } from './broker/classes.js';
import { runCommand } from './run-command.js';

const SECONDS = Math.max(1, Math.round(Number(process.env['WISP_BENCH_SECONDS'] ?? 3)));
const ROUNDS = 3;
const WRK = '/usr/bin/wrk';
const CONNECTIONS = 50;
const PRODUCERS = 64;
const RATE = 1000;
const BROKER_RATE = 300;
const HOST = 'hello.default.localhost';
const TICK_US = 1e6 / 100; // USER_HZ
const RUN_ID = `${Date.now().toString(36)}${process.pid.toString(36)}`;

const children = new Set<ChildProcess>();
const wisps = new Set<WispUp>();
const subscribers = new Set<Subscriber>();
const setups = new Set<ClassSetup>();

interface Column {
  name: string;
  processes: number;
  wisp: WispUp;
  /** The data-plane processes: the workers, or `wisp up` itself with one process. */
  dataPlane: number[];
  replica?: number;
  subscriber?: Subscriber;
  target?: Target;
  rounds: Round[];
}

interface Round {
  rate: number;
  count: number;
  /** CPU µs per request/event: the data plane (all its processes), each of them, the primary (N > 1), the replica. */
  dataPlaneUs: number;
  perProcessUs: number[];
  primaryUs: number;
  replicaUs: number;
}

function ticks(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return runCommand(cmd, args, children);
}

async function cli(wisp: WispUp, yaml: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-bench-yaml-'));
  try {
    await writeFile(join(dir, 'r.yaml'), yaml);
    const res = await wisp.cli(['apply', '-f', join(dir, 'r.yaml')]);
    if (res.code !== 0) throw new Error(`wisp apply: ${res.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function startWisp(name: string, processes: number, env: Record<string, string>): Promise<Column> {
  const wisp = await WispUp.create({ WISP_DATA_PLANE_PROCESSES: String(processes), WISP_LOG_LEVEL: 'error', ...env });
  wisps.add(wisp);
  await wisp.start();
  const dataPlane = processes > 1 ? childPids(wisp.pid!, 'worker-main') : [wisp.pid!];
  if (dataPlane.length !== processes) throw new Error(`${name}: ${dataPlane.length} data-plane processes, want ${processes}`);
  return { name, processes, wisp, dataPlane, rounds: [] };
}

/** Samples CPU ticks of a column's processes around `work`, which returns how many requests/events it made. */
async function measured(col: Column, work: () => Promise<{ count: number; seconds: number }>): Promise<void> {
  const pids = [...col.dataPlane, col.wisp.pid!, ...(col.replica !== undefined ? [col.replica] : [])];
  const before = pids.map(ticks);
  const { count, seconds } = await work();
  const used = pids.map((p, i) => (ticks(p) - before[i]!) * TICK_US);
  const per = (us: number): number => us / count;
  const perProcess = used.slice(0, col.dataPlane.length).map(per);
  col.rounds.push({
    rate: count / seconds,
    count,
    dataPlaneUs: perProcess.reduce((a, b) => a + b, 0) + (col.processes > 1 ? per(used[col.dataPlane.length]!) : 0),
    perProcessUs: perProcess,
    primaryUs: col.processes > 1 ? per(used[col.dataPlane.length]!) : NaN,
    replicaUs: col.replica !== undefined ? per(used.at(-1)!) : NaN,
  });
}

async function wrk(col: Column, seconds: number): Promise<{ count: number; seconds: number }> {
  const out = await run(WRK, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-H', `Host: ${HOST}`, `http://127.0.0.1:${col.wisp.ports.ingress}/`]);
  const total = Number(/(\d+) requests in ([\d.]+)(ms|s)/.exec(out)?.[1] ?? NaN);
  const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (errs) throw new Error(`${col.name}: ${errs[1]} non-2xx responses`);
  return { count: total, seconds };
}

/** Open loop at `rate` req/s for `seconds` from this process (keep-alive agent, a 1 ms timer sends what is due). */
async function fixedRate(col: Column, rate: number, seconds: number): Promise<{ count: number; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const total = Math.round(rate * seconds);
  let done = 0;
  let failed = 0;
  const t0 = performance.now() + 20;
  await new Promise<void>((resolve) => {
    let sent = 0;
    const finish = (): void => {
      if (++done === total) resolve();
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && t0 + (sent * 1000) / rate <= now) {
        sent++;
        const req = request({ agent, host: '127.0.0.1', port: col.wisp.ports.ingress, path: '/', headers: { host: HOST } }, (res) => {
          if (res.statusCode !== 200) failed++;
          res.resume();
          res.on('end', finish);
        });
        req.on('error', () => {
          failed++;
          finish();
        });
        req.end();
      }
      if (sent < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 20);
  });
  agent.destroy();
  if (failed > 0) throw new Error(`${col.name}: ${failed} failed requests at ${rate} req/s`);
  return { count: total, seconds };
}

const median = (v: number[]): number => {
  const s = v.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};
const f = (v: number, d = 1): string => (Number.isNaN(v) ? 'n/a' : v.toFixed(d));

function print(title: string, unit: string, cols: Column[]): void {
  console.log('');
  console.log(`${title}`);
  console.log(`column                 ${unit.padStart(9)}  cpu us/${unit === 'req/s' ? 'req' : 'ev '} data plane  per process (workers)      primary  replica`);
  for (const c of cols) {
    const r = c.rounds;
    const perProcess = c.dataPlane.map((_, i) => f(median(r.map((x) => x.perProcessUs[i]!)))).join(' / ');
    console.log(
      `${c.name.padEnd(22)} ${f(median(r.map((x) => x.rate)), 0).padStart(9)}  ${f(median(r.map((x) => x.dataPlaneUs))).padStart(21)}  ${perProcess.padEnd(25)} ${f(median(r.map((x) => x.primaryUs))).padStart(7)}  ${f(median(r.map((x) => x.replicaUs))).padStart(7)}`,
    );
  }
  console.log(`per round ${unit}: ${cols.map((c) => `${c.name} ${c.rounds.map((x) => f(x.rate, 0)).join('/')}`).join('; ')}`);
  const one = cols[0]!;
  for (const c of cols.slice(1)) {
    const ratio = median(c.rounds.map((x) => x.rate)) / median(one.rounds.map((x) => x.rate));
    console.log(`${c.name} / ${one.name}: ${f(ratio, 2)} (measured here)`);
  }
  // What the CPU per request allows with a core of its own for every data-plane process (and for the primary, the
  // replica and the load generator): process i uses u_i µs of CPU per request of the whole stream, so the stream can
  // reach 1e6 / max(u_i) req/s before one of them saturates its core.
  const med = (c: Column, pick: (r: Round) => number): number => median(c.rounds.map(pick));
  const bound = (c: Column): number => {
    const us = c.dataPlane.map((_, i) => med(c, (x) => x.perProcessUs[i]!));
    if (c.processes > 1) us.push(med(c, (x) => x.primaryUs));
    return 1e6 / Math.max(...us);
  };
  for (const c of cols.slice(1)) {
    console.log(
      `with a free core per process (CPU bound of the data plane, from the us/${unit === 'req/s' ? 'req' : 'ev'} above): ${one.name} ${f(bound(one), 0)} ${unit}, ${c.name} ${f(bound(c), 0)} ${unit}: ${f(bound(c) / bound(one), 2)}x`,
    );
  }
  const replica = med(one, (x) => x.replicaUs);
  if (!Number.isNaN(replica)) console.log(`(the single-threaded replica itself tops out near ${f(1e6 / replica, 0)} req/s at its ${f(replica)} us/req: past that, more replicas, not more activators)`);
}

async function activatorPart(): Promise<void> {
  const variants: [string, number, Record<string, string>][] = [
    ['1 process', 1, {}],
    ['2 processes (rr)', 2, {}],
    ['2 processes (sched none)', 2, { NODE_CLUSTER_SCHED_POLICY: 'none' }],
  ];
  const cols: Column[] = [];
  for (const [name, n, env] of variants) {
    const col = await startWisp(name, n, env);
    await cli(
      col.wisp,
      `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: default}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1", autoscaling.knative.dev/max-scale: "1"}
    spec:
      containerConcurrency: 0
      containers:
        - command: ["${process.execPath}", "hello.js"]
          workingDir: ${join(ROOT, 'examples/quickstart')}
`,
    );
    const replica = await waitFor(() => childPids(col.wisp.pid!, 'hello.js')[0], { timeoutMs: 30_000, what: `${name}: hello replica` });
    col.replica = replica;
    await waitFor(async () => (await httpRequest({ port: col.wisp.ports.ingress, host: HOST }).catch(() => undefined))?.status === 200, { what: `${name}: hello answering` });
    cols.push(col);
  }
  for (const c of cols) await wrk(c, 1); // warm-up
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of cols) await measured(c, () => wrk(c, SECONDS));
    console.log(`activator round ${round}/${ROUNDS} done`);
  }
  print(`activator: wrk -t1 -c${CONNECTIONS}, ${ROUNDS} round-robin rounds of ${SECONDS} s, medians`, 'req/s', cols);
  // The same at a fixed 1 000 req/s, where no core is saturated: the CPU a request costs without contention.
  const atRate = cols.map((c) => ({ ...c, rounds: [] as Round[] }));
  for (let round = 1; round <= ROUNDS; round++) for (const c of atRate) await measured(c, () => fixedRate(c, RATE, SECONDS));
  print(`activator at a fixed ${RATE} req/s (open loop from the bench process), ${ROUNDS} round-robin rounds of ${SECONDS} s, medians`, 'req/s', atRate);
  for (const c of cols) await stopWisp(c);
}

async function brokerPart(cls: BenchClass): Promise<void> {
  const cols: Column[] = [];
  for (const [name, n] of [['1 process', 1], ['2 processes', 2]] as const) {
    const setup = await setupClass(cls, `${RUN_ID}${n}`, (m) => console.log(m));
    setups.add(setup);
    const col = await startWisp(`${cls} ${name}`, n, setup.env);
    const sub = await Subscriber.start();
    subscribers.add(sub);
    col.subscriber = sub;
    const broker = benchBroker(cls, `${RUN_ID}${n}`);
    await applyBroker(col.wisp, broker);
    await applyTriggers(col.wisp, broker.name, sub.origin, 0, 1);
    col.target = { origin: `http://127.0.0.1:${col.wisp.ports.broker}`, path: `/default/${broker.name}` };
    cols.push(col);
  }
  const load = async (c: Column, seconds: number): Promise<{ count: number; seconds: number }> => {
    await c.subscriber!.reset();
    const r = await closedLoop(c.target!, { concurrency: PRODUCERS, seconds, idPrefix: `${c.name}-${Date.now()}` });
    const s = await c.subscriber!.drain(r.accepted, 5_000, 60_000);
    if (s.count < r.accepted) console.log(`!!! ${c.name}: ${s.count} of ${r.accepted} accepted events delivered`);
    if (r.errors > 0) console.log(`!!! ${c.name}: ${r.errors} producer errors ${JSON.stringify([...r.errorKinds])}`);
    return { count: s.count, seconds: (s.lastAt - r.startedAt) / 1000 };
  };
  for (const c of cols) await load(c, 1); // warm-up
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of cols) await measured(c, () => load(c, SECONDS));
    console.log(`${cls} round ${round}/${ROUNDS} done`);
  }
  print(`broker ${cls}, 1 Trigger: ${PRODUCERS} closed-loop producers, delivered ev/s, ${ROUNDS} round-robin rounds of ${SECONDS} s, medians`, 'ev/s', cols);
  // At a fixed rate no core is saturated: the CPU an event costs in 1 and in 2 processes without contention.
  const atRate = cols.map((c) => ({ ...c, rounds: [] as Round[] }));
  const rated = async (c: Column): Promise<{ count: number; seconds: number }> => {
    await c.subscriber!.reset();
    const r = await openLoop(c.target!, { rate: BROKER_RATE, seconds: SECONDS, idPrefix: `${c.name}-rate-${Date.now()}` });
    const s = await c.subscriber!.drain(r.accepted, 5_000, 60_000);
    if (s.count < r.accepted || r.errors > 0) console.log(`!!! ${c.name}: ${s.count} of ${r.accepted} delivered, ${r.errors} producer errors`);
    return { count: s.count, seconds: SECONDS };
  };
  for (let round = 1; round <= ROUNDS; round++) for (const c of atRate) await measured(c, () => rated(c));
  print(`broker ${cls} at a fixed ${BROKER_RATE} ev/s (open loop), ${ROUNDS} round-robin rounds of ${SECONDS} s, medians`, 'ev/s', atRate);
  for (const c of cols) await stopWisp(c);
}

async function stopWisp(c: Column): Promise<void> {
  await c.wisp.cleanup();
  wisps.delete(c.wisp);
  if (c.subscriber) {
    await c.subscriber.stop();
    subscribers.delete(c.subscriber);
  }
}

async function stopAll(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  await Promise.allSettled([...wisps].map((w) => w.cleanup()));
  await Promise.allSettled([...subscribers].map((s) => s.stop()));
  for (const s of setups) {
    const line = await s.cleanup().catch((err: unknown) => `cleanup failed: ${String(err)}`);
    if (line !== undefined) console.log(`  (${line})`);
  }
  setups.clear();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { part: { type: 'string', default: 'all' } }, strict: true });
  const part = values.part;
  if (!['activator', 'broker', 'all'].includes(part)) throw new Error(`--part: want activator, broker or all, not ${part}`);
  const classes = (process.env['WISP_BENCH_CLASSES'] ?? 'Memory,Redis').split(',').map((s) => s.trim()) as BenchClass[];
  const onSignal = (): void => void stopAll().then(() => process.exit(130));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  console.log(`machine: ${cpus().length} cores, shared by the load generator, the replica/subscriber, wisp up's processes (and whatever else runs)`);
  try {
    if (part !== 'broker') await activatorPart();
    if (part !== 'activator') for (const cls of classes) await brokerPart(cls);
  } finally {
    await stopAll();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
