/**
 * Cold-start overhead: `npm run bench:coldstart`.
 *
 * Each trial sends one request to a revision at zero replicas, through the real activator, autoscaler
 * and local runtime, and measures the first response time minus the replica's own spawn-to-listen time
 * (from the runtime's spawn to the moment the replica's server is listening, as the replica itself reports).
 * What is left is what Wisp adds: the poke, the scale decision, spawning, readiness detection, dispatch
 * and proxying. Readiness detection follows probe-schedule.ts (a 1 ms doubling ladder after spawn, dense probing
 * around the revision's previous start, `probeIntervalMs` otherwise); the run is repeated with a 5 ms period.
 *
 * A fresh replica answers its very first request slower than later ones (its HTTP code paths are still cold), and
 * that time also lands in "overhead". The floor row measures it without Wisp: the same replica spawned directly,
 * connected to every millisecond until it listens, then sent the same first request. overhead − floor is what
 * Wisp alone adds.
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { Activator } from '../../activator/index.js';
import { Autoscaler, DEFAULT_AUTOSCALER_CONFIG } from '../../autoscaler/index.js';
import { systemClock } from '../../src/clock.js';
import { LocalRuntime } from '../../src/runtime/index.js';
import type { RevisionRuntimeStatus } from '../../src/runtime/types.js';

const TRIALS = Number(process.env.TRIALS ?? 20);
const ROOT = join(import.meta.dirname, '../../..');
const KEY = 'default/cold-00001';
const HOST = 'cold.default.localhost';
const nowMs = (): number => performance.timeOrigin + performance.now();

interface Trial {
  total: number;
  own: number;
  overhead: number;
  probeLag: number;
}

async function runSeries(probeIntervalMs: number): Promise<Trial[]> {
  const runtime = new LocalRuntime({ clock: systemClock, probeIntervalMs });
  let spawnAt = 0;
  let detectedAt = 0;
  let wasZero = true;
  const scaler = {
    scale(key: string, n: number): void {
      if (n > 0 && wasZero) spawnAt = nowMs();
      wasZero = n === 0;
      runtime.scale(key, n);
    },
  };
  const config = { ...DEFAULT_AUTOSCALER_CONFIG, allowZeroInitialScale: true, initialScale: 0 };
  const autoscaler = new Autoscaler({ clock: systemClock, scaler, config });
  const activator = new Activator({ clock: systemClock, reporter: autoscaler, registry: new Registry() });
  const base = { key: KEY, namespace: 'default', service: 'cold', revision: 'cold-00001', containerConcurrency: 0, timeoutSeconds: 30 };
  let last: RevisionRuntimeStatus | undefined;
  runtime.onChange((key, status) => {
    if (status.ready.length > 0 && (last?.ready.length ?? 0) === 0) detectedAt = nowMs();
    last = status;
    autoscaler.setReadyReplicas(key, status.ready.length);
    activator.upsertRevision({ ...base, endpoints: status.ready, ...(status.failure ? { failure: status.failure } : {}) });
  });
  runtime.deploy({
    key: KEY,
    namespace: 'default',
    service: 'cold',
    configuration: 'cold',
    revision: 'cold-00001',
    container: { command: [process.execPath, 'ready-stamp.js'] },
    baseDir: join(ROOT, 'test/fixtures/functions'),
    timeoutSeconds: 5,
  });
  activator.upsertRevision({ ...base, endpoints: [] });
  activator.setRouting({ hosts: new Map([[HOST, { namespace: 'default', service: 'cold', targets: [{ revision: KEY, percent: 100 }] }]]) });
  const { port } = await activator.listen({ port: 0, host: '127.0.0.1' });

  const trials: Trial[] = [];
  try {
    for (let i = 0; i < TRIALS + 1; i++) {
      autoscaler.upsert(KEY, { containerConcurrency: 0 });
      const t0 = nowMs();
      const status = await get(port);
      const t1 = nowMs();
      if (status !== 200) throw new Error(`trial ${i}: status ${status}`);
      const stamp = runtime.logs('default', 'cold').filter((l) => l.line.startsWith('READY ')).at(-1);
      const readyAt = Number(stamp?.line.slice(6));
      const own = readyAt - spawnAt;
      // The first trial warms up the OS page cache and the activator's code paths; it is not counted.
      if (i > 0) trials.push({ total: t1 - t0, own, overhead: t1 - t0 - own, probeLag: detectedAt - readyAt });
      autoscaler.remove(KEY);
      scaler.scale(KEY, 0);
      await until(() => (runtime.status(KEY)?.ready.length ?? 1) === 0 && runtime.status(KEY)?.starting === 0);
    }
  } finally {
    autoscaler.close();
    await activator.close();
    await runtime.close();
  }
  return trials;
}

/** The replica's own first response after it listens, asked directly (no Wisp): the floor of `overhead`. */
async function runFloor(): Promise<number[]> {
  const floors: number[] = [];
  for (let i = 0; i < TRIALS + 1; i++) {
    const port = await freeLocalPort();
    const child = spawn(process.execPath, ['ready-stamp.js'], {
      cwd: join(ROOT, 'test/fixtures/functions'),
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      while (!(await canConnect(port))) await new Promise((r) => setTimeout(r, 1));
      const status = await get(port, `127.0.0.1:${port}`);
      const t1 = nowMs();
      if (status !== 200) throw new Error(`floor trial ${i}: status ${status}`);
      await until(() => out.includes('\n'), 5_000, 0);
      const readyAt = Number(/READY (\S+)/.exec(out)?.[1]);
      if (i > 0) floors.push(t1 - readyAt);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
  return floors;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(false)));
  });
}

function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

function get(port: number, host = HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path: '/', headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(check: () => boolean, timeoutMs = 10_000, settleMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the revision to reach zero');
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, settleMs));
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

const f = (n: number): string => n.toFixed(1).padStart(7);

async function main(): Promise<void> {
  console.log(`Cold start from zero, ${TRIALS} trials per row (ms). overhead = first response − replica's own spawn-to-listen.\n`);
  const floor = await runFloor();
  const floorP50 = pct(floor, 50);
  console.log(`floor: the replica's own first response after listening, asked directly: p50 ${f(floorP50)}  p99 ${f(pct(floor, 99))}\n`);
  console.log('probe period     total p50  own p50   overhead p50  overhead p99   probe lag p50   overhead−probe lag p50   overhead−floor p50');
  for (const interval of [50, 5]) {
    const t = await runSeries(interval);
    const net = t.map((x) => x.overhead - x.probeLag);
    console.log(
      `${`${interval} ms`.padEnd(14)} ${f(pct(t.map((x) => x.total), 50))}  ${f(pct(t.map((x) => x.own), 50))}   ${f(pct(t.map((x) => x.overhead), 50))}       ${f(pct(t.map((x) => x.overhead), 99))}        ${f(pct(t.map((x) => x.probeLag), 50))}          ${f(pct(net, 50))}                ${f(pct(t.map((x) => x.overhead), 50) - floorP50)}`,
    );
  }
}

await main();
