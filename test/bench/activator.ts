/**
 * Activator benchmark: one hello replica, loaded directly, through the Activator (standalone process, cc 0),
 * through nginx (upstream keepalive pool) and through Wisp's serve mode (`--serve-engine haproxy`: haproxy nbthread 1
 * serving the warm revision, configured by the ServeEngine in a Wisp process of its own that also runs the activator
 * and polls haproxy's stats), with the same generators for all columns, measured round-robin:
 *  - max throughput: wrk, 1 thread, 50 connections, 3 round-robin rounds of 3 s per column (see THREADS below for why one thread);
 *  - latency at a fixed 1 000 req/s: an open-loop generator in this process (node:http keep-alive agent),
 *    latency measured from send to the end of the body, with a 1 ms timer scheduler (no busy spin).
 * Every process this bench starts is stopped in a finally block (and on SIGINT/SIGTERM).
 *
 * Run: npm run bench:activator
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import { Registry } from 'prom-client';
import { Activator } from '../../activator/index.js';
import { systemClock } from '../../src/clock.js';
import { ServeEngine, findHaproxy } from '../../src/platform/serve-engine/index.js';
import { freePort } from '../support/wait.js';
import { runCommand } from './run-command.js';

const HOST = 'hello.default.localhost';
const WRK = '/usr/bin/wrk';
const NGINX = '/usr/sbin/nginx';
/** wrk threads: the machine has 2 cores shared by wrk, the proxy and the replica. One wrk thread drives
 * well over 50k req/s, more than a single-threaded Node replica serves, and leaves the second core to the
 * system under test. Two threads would only steal CPU from the processes being measured. */
const THREADS = 1;
const CONNECTIONS = 50;
const WRK_SECONDS = Number(process.env['WISP_BENCH_SECONDS'] ?? 10);
const RATE = 1000;
const RATE_SECONDS = Number(process.env['WISP_BENCH_SECONDS'] ?? 10);
/** The machine is shared: columns are measured round-robin (ROUNDS short runs each, medians reported) so a
 * burst of outside load hits all of them alike instead of whichever column happened to run then. */
const ROUNDS = 3;
const WARMUP_SECONDS = 3;
/** wrk -d takes whole seconds. */
const ROUND_SECONDS = Math.max(1, Math.round(WRK_SECONDS / ROUNDS));
/** Linux USER_HZ, the unit of utime/stime in /proc/<pid>/stat. */
const TICKS_PER_SECOND = 100;

const mode = process.argv[2];
if (mode === '--replica') runReplica(Number(process.argv[3]));
else if (mode === '--activator') void runActivator(Number(process.argv[3]), Number(process.argv[4]));
else if (mode === '--serve') void runServe(Number(process.argv[3]), Number(process.argv[4]), process.argv[5]!);
else void main();

function runReplica(port: number): void {
  const body = Buffer.from('hello world\n');
  createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  }).listen(port, '127.0.0.1');
}

async function runActivator(port: number, replicaPort: number): Promise<void> {
  const key = 'default/hello-00001';
  const activator = new Activator({ clock: systemClock, registry: new Registry(), reporter: { report() {}, poke() {} } });
  activator.setRouting({ hosts: new Map([[HOST, { namespace: 'default', service: 'hello', targets: [{ revision: key, percent: 100 }] }]]) });
  activator.upsertRevision({
    key,
    namespace: 'default',
    service: 'hello',
    revision: 'hello-00001',
    containerConcurrency: 0,
    timeoutSeconds: 300,
    endpoints: [{ id: 'hello-00001-1', host: '127.0.0.1', port: replicaPort }],
  });
  await activator.listen({ port });
  const stop = (): void => void activator.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * Wisp's serve mode as `wisp up --serve-engine haproxy` runs it: the ServeEngine starts haproxy on `port` in front of
 * an activator on an internal port, and the revision (target-burst-capacity 0, one ready replica) is served by
 * haproxy. Writes haproxy's master pid to `<dir>/serve.pid` once the host points at the revision's backend.
 */
async function runServe(port: number, replicaPort: number, dir: string): Promise<void> {
  const key = 'default/hello-00001';
  const quiet = { debug() {}, info() {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };
  const engine = new ServeEngine({ binary: await findHaproxy({ pathEnv: process.env['PATH'] ?? '' }), threads: 1, dir: join(dir, 'haproxy'), clock: systemClock, log: quiet });
  const activator = new Activator({ clock: systemClock, registry: new Registry(), reporter: { report() {}, poke() {} } });
  const internal = await activator.listen({ port: 0 });
  await engine.start({ activator, ingressHost: '127.0.0.1', ingressPort: port, activatorPort: internal.port, autoscaler: { report() {}, spec: () => ({ targetBurstCapacity: 0 }) } });
  engine.setRouting({ hosts: new Map([[HOST, { namespace: 'default', service: 'hello', targets: [{ revision: key, percent: 100 }] }]]) });
  engine.upsertRevision({
    key,
    namespace: 'default',
    service: 'hello',
    revision: 'hello-00001',
    containerConcurrency: 0,
    timeoutSeconds: 300,
    endpoints: [{ id: 'hello-00001-1', host: '127.0.0.1', port: replicaPort }],
  });
  await engine.settled();
  if (engine.appliedMode(key) !== 'serve') throw new Error('bench: the revision is not in serve mode');
  writeFileSync(join(dir, 'serve.pid'), String(engine.pid));
  const stop = (): void => void engine.close().then(() => activator.close()).then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

interface Column {
  name: string;
  port: number;
  /** The process that serves this column (replica, activator, nginx worker): its CPU time is measured. */
  pid?: number;
  /** More processes whose CPU time counts for this column (the serve column: haproxy's worker besides Wisp). */
  extraPids?: number[];
  rps?: number;
  /** CPU time (user+sys) of `pid` per request during the wrk runs, microseconds. */
  cpuUs?: number;
  rounds?: { rps: number; p50: number; p99: number; cpuUs: number }[];
  /** Per process of the column (pid → CPU µs per request), summed over the recorded rounds. */
  parts?: Map<number, { name: string; ticks: number }>;
  partNames?: Map<number, string>;
  requests?: number;
  wrkP50?: number;
  wrkP99?: number;
  p50?: number;
  p99?: number;
  errors?: number;
}

const children = new Set<ChildProcess>();

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const kill = setTimeout(() => c.kill('SIGKILL'), 3000);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return runCommand(cmd, args, children);
}

function parseDuration(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** utime+stime of a process in clock ticks (Linux /proc; NaN elsewhere). */
function cpuTicks(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

/** One wrk run of `seconds`; with `record`, adds a round (req/s, p50, p99, CPU µs per request) to the column. */
async function wrk(col: Column, seconds: number, record: boolean): Promise<void> {
  const pids = [col.pid, ...(col.extraPids ?? [])];
  const ticksNow = (): number => pids.reduce((sum: number, p) => sum + cpuTicks(p), 0);
  const each = pids.map((p) => cpuTicks(p));
  const before = ticksNow();
  const out = await run(WRK, [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-H', `Host: ${HOST}`, `http://127.0.0.1:${col.port}/`]);
  const ticks = ticksNow() - before;
  if (!record) return;
  if (col.partNames !== undefined) {
    col.parts ??= new Map();
    pids.forEach((p, i) => {
      if (p === undefined) return;
      const part = col.parts!.get(p) ?? { name: col.partNames!.get(p) ?? String(p), ticks: 0 };
      part.ticks += cpuTicks(p) - each[i]!;
      col.parts!.set(p, part);
    });
    const n = /(\d+) requests in/.exec(out);
    col.requests = (col.requests ?? 0) + (n ? Number(n[1]) : 0);
  }
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  const p50 = /\s50%\s+(\S+)/.exec(out);
  const p99 = /\s99%\s+(\S+)/.exec(out);
  const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  (col.rounds ??= []).push({
    rps: rps ? Number(rps[1]) : NaN,
    p50: p50 ? parseDuration(p50[1]!) : NaN,
    p99: p99 ? parseDuration(p99[1]!) : NaN,
    cpuUs: total ? (ticks * (1e6 / TICKS_PER_SECOND)) / Number(total[1]) : NaN,
  });
  if (errs) col.errors = (col.errors ?? 0) + Number(errs[1]);
}

function median(values: number[]): number {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

/** Per column: the median over rounds of req/s, wrk p50/p99 and CPU per request. */
function summarise(col: Column): void {
  const r = col.rounds ?? [];
  col.rps = median(r.map((x) => x.rps));
  col.wrkP50 = median(r.map((x) => x.p50));
  col.wrkP99 = median(r.map((x) => x.p99));
  col.cpuUs = median(r.map((x) => x.cpuUs));
}

/** Open loop at RATE req/s for RATE_SECONDS; latency from send to the end of the body. */
async function fixedRate(col: Column, seconds: number, samples: number[]): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(RATE * seconds);
  const lat = new Float64Array(total);
  let done = 0;
  let errors = 0;
  const t0 = performance.now() + 50;
  const interval = 1000 / RATE;
  await new Promise<void>((resolve) => {
    let sent = 0;
    const fire = (i: number, scheduled: number): void => {
      const req = request({ agent, host: '127.0.0.1', port: col.port, path: '/', headers: { host: HOST } }, (res) => {
        if (res.statusCode !== 200) errors++;
        res.on('data', () => {});
        res.on('end', () => {
          lat[i] = performance.now() - scheduled;
          if (++done === total) resolve();
        });
      });
      req.on('error', () => {
        errors++;
        lat[i] = NaN;
        if (++done === total) resolve();
      });
      req.end();
    };
    // A 1 ms timer tick sends every request that is due (open loop: never waits for responses). Latency
    // runs from the moment a request is handed to the socket layer, so the generator's own timer jitter
    // (the same for every column) does not blur the comparison; a busy-spin scheduler would steal a core.
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) {
        fire(sent, performance.now());
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 50);
  });
  agent.destroy();
  for (const v of lat) if (!Number.isNaN(v)) samples.push(v);
  col.errors = (col.errors ?? 0) + errors;
}

function quantiles(col: Column, samples: number[]): void {
  const sorted = Float64Array.from(samples).sort();
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  col.p50 = q(0.5);
  col.p99 = q(0.99);
}

/** The single worker of an nginx master (Linux /proc), so its CPU time can be read. */
function nginxWorker(master: number | undefined): number | undefined {
  if (master === undefined) return undefined;
  try {
    const kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).map(Number);
    return kids.find((k) => Number.isInteger(k) && k > 0);
  } catch {
    return undefined;
  }
}

function nginxConfig(dir: string, port: number, replicaPort: number): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream replica {
    server 127.0.0.1:${replicaPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://replica;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header Forwarded "for=$remote_addr;host=$host;proto=$scheme";
    }
  }
}
`;
}

const f = (v: number | undefined, digits = 2): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'wisp-bench-'));
  const onSignal = (): void => void stopAll().then(() => process.exit(130));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const replicaPort = await freePort();
    const replica = start(process.execPath, [self, '--replica', String(replicaPort)]);
    await waitPort(replicaPort);
    const cols: Column[] = [{ name: 'direct', port: replicaPort, ...(replica.pid === undefined ? {} : { pid: replica.pid }) }];

    // WISP_BENCH_ACTIVATOR_FLAGS: extra node flags for the activator process (e.g. --max-semi-space-size=32, or
    // --cpu-prof --cpu-prof-dir=/tmp/prof, then node dist/test/bench/cpuprofile-summary.js /tmp/prof/<file>).
    const flags = (process.env['WISP_BENCH_ACTIVATOR_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
    // WISP_BENCH_BASELINE: another build's dist/test/bench/activator.js (e.g. a `git worktree` of main), measured as a
    // column of its own in the same rounds, so a change is compared side by side under the same outside load.
    const baseline = process.env['WISP_BENCH_BASELINE'];
    for (const [name, entry] of [...(baseline === undefined ? [] : [['baseline', baseline] as const]), ['activator', self] as const]) {
      const port = await freePort();
      const proc = start(process.execPath, [...flags, entry, '--activator', String(port), String(replicaPort)]);
      await waitPort(port);
      cols.push({ name, port, ...(proc.pid === undefined ? {} : { pid: proc.pid }) });
    }

    let nginx: Column | undefined;
    if (existsSync(NGINX)) {
      const nginxPort = await freePort();
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, nginxConfig(dir, nginxPort, replicaPort));
      const master = start(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf]);
      await waitPort(nginxPort);
      nginx = { name: 'nginx', port: nginxPort };
      const worker = nginxWorker(master.pid);
      if (worker !== undefined) nginx.pid = worker;
      cols.push(nginx);
    } else {
      console.log(`note: ${NGINX} not found; skipping the nginx column`);
    }

    let serve: Column | undefined;
    const haproxyBinary = await findHaproxy({ pathEnv: process.env['PATH'] ?? '' }).catch(() => undefined);
    if (haproxyBinary !== undefined) {
      const servePort = await freePort();
      const wisp = start(process.execPath, [...flags, self, '--serve', String(servePort), String(replicaPort), dir]);
      await waitFor(() => existsSync(join(dir, 'serve.pid')), 10_000);
      const master = Number(readFileSync(join(dir, 'serve.pid'), 'utf8'));
      const worker = nginxWorker(master);
      // haproxy's master relays the engine's CLI commands (the stats poll): its CPU counts too.
      serve = { name: 'wisp serve', port: servePort, ...(wisp.pid === undefined ? {} : { pid: wisp.pid }), extraPids: [...(worker === undefined ? [] : [worker]), master] };
      serve.partNames = new Map([
        [wisp.pid ?? -1, 'wisp process'],
        [worker ?? -1, 'haproxy worker'],
        [master, 'haproxy master'],
      ]);
      cols.push(serve);
    } else {
      console.log('note: haproxy not found; skipping the wisp serve column');
    }

    for (const col of cols) await wrk(col, WARMUP_SECONDS, false); // warm-up (connections, JIT)
    const samples = new Map<Column, number[]>(cols.map((c) => [c, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const col of cols) await wrk(col, ROUND_SECONDS, true);
      for (const col of cols) await fixedRate(col, RATE_SECONDS / ROUNDS, samples.get(col)!);
      console.log(`round ${round}/${ROUNDS}: done`);
    }
    for (const col of cols) {
      summarise(col);
      quantiles(col, samples.get(col)!);
    }

    console.log('');
    console.log('method:');
    console.log(`  one hello replica (node:http, 12-byte body); the activator is its own node process with default flags`);
    console.log(`  (containerConcurrency 0, metrics on); nginx: worker_processes 1, upstream keepalive 64, access_log off,`);
    console.log(`  setting the same forwarding headers the activator adds (Host, X-Forwarded-For/-Proto/-Host, Forwarded).`);
    console.log(`  throughput: wrk -t${THREADS} -c${CONNECTIONS} --latency, same for all three columns, after one ${WARMUP_SECONDS} s warm-up run each;`);
    console.log(`    ${ROUNDS} round-robin rounds of ${ROUND_SECONDS} s per column, medians reported; cpu us/req = the serving process's`);
    console.log(`    user+sys CPU time per request during those runs (replica for direct, activator, nginx worker; wisp serve:`);
    console.log(`    haproxy's worker (nbthread 1) + haproxy's master + the Wisp process that runs the engine, its stats poll every 100 ms and the activator).`);
    console.log(`  latency: open loop at ${RATE} req/s, ${ROUNDS} round-robin rounds of ${f(RATE_SECONDS / ROUNDS, 1)} s per column from this process`);
    console.log(`    (node:http keep-alive agent), send to end of body; percentiles over all rounds' samples.`);
    console.log(`  machine: ${cpus().length} cores shared by wrk, the replica and the proxy under test.`);
    console.log('');
    console.log('column        req/s(wrk)  wrk p50 ms  wrk p99 ms  cpu us/req  @1000/s p50 ms  @1000/s p99 ms  errors');
    for (const c of cols) {
      console.log(
        `${c.name.padEnd(12)}  ${f(c.rps, 0).padStart(10)}  ${f(c.wrkP50).padStart(10)}  ${f(c.wrkP99).padStart(10)}  ${f(c.cpuUs, 1).padStart(10)}  ${f(c.p50, 3).padStart(14)}  ${f(c.p99, 3).padStart(14)}  ${String(c.errors ?? 0).padStart(6)}`,
      );
    }
    console.log(`per round req/s: ${cols.map((c) => `${c.name} ${(c.rounds ?? []).map((r) => f(r.rps, 0)).join('/')}`).join(', ')}`);
    const direct = cols[0]!;
    const act = cols.find((c) => c.name === 'activator')!;
    const base = cols.find((c) => c.name === 'baseline');
    const added = (c: Column, q: 'p50' | 'p99'): string => f((c[q] ?? NaN) - (direct[q] ?? NaN), 3);
    console.log('');
    console.log(`activator/direct throughput: ${f((act.rps ?? NaN) / (direct.rps ?? NaN))}`);
    if (nginx) console.log(`activator/nginx  throughput: ${f((act.rps ?? NaN) / (nginx.rps ?? NaN))}  (target >= 0.90)`);
    console.log(`added at ${RATE} req/s (activator - direct): p50 ${added(act, 'p50')} ms, p99 ${added(act, 'p99')} ms  (target p99 <= nginx's + 0.5 ms)`);
    if (nginx) console.log(`added at ${RATE} req/s (nginx - direct):     p50 ${added(nginx, 'p50')} ms, p99 ${added(nginx, 'p99')} ms`);
    if (nginx) console.log(`activator/nginx  cpu us/req: ${f((act.cpuUs ?? NaN) / (nginx.cpuUs ?? NaN))}  (target <= 1.3)`);
    if (base) {
      console.log(`activator/baseline cpu us/req: ${f((act.cpuUs ?? NaN) / (base.cpuUs ?? NaN))}, throughput: ${f((act.rps ?? NaN) / (base.rps ?? NaN))}`);
      console.log(`added at ${RATE} req/s (baseline - direct):  p50 ${added(base, 'p50')} ms, p99 ${added(base, 'p99')} ms`);
    }
    if (serve?.parts !== undefined && serve.requests) {
      const per = [...serve.parts.values()].map((p) => `${p.name} ${f((p.ticks * (1e6 / TICKS_PER_SECOND)) / serve!.requests!, 1)}`);
      console.log(`wisp serve cpu us/req by process (all rounds): ${per.join(', ')}`);
    }
    if (serve && nginx) {
      console.log(`wisp serve/nginx throughput: ${f((serve.rps ?? NaN) / (nginx.rps ?? NaN))}  (target >= 0.90)`);
      console.log(`wisp serve/nginx cpu us/req: ${f((serve.cpuUs ?? NaN) / (nginx.cpuUs ?? NaN))}  (target <= 1.30)`);
      console.log(`added at ${RATE} req/s (wisp serve - direct): p50 ${added(serve, 'p50')} ms, p99 ${added(serve, 'p99')} ms  (target p99 <= nginx's + 0.5 ms)`);
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
