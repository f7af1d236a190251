/**
 * Idle memory of `wisp up -f examples/quickstart`: `npm run bench:rss`.
 *
 * Starts `wisp up` as a user runs it (no Node memory flags), on free ports and in a temp state dir, waits until
 * every Service, Broker and Trigger of the quickstart is Ready, lets it idle `IDLE_MS` (default 10 s), then reads
 * the Wisp process's VmRSS and VmHWM from /proc (its replicas are processes of their own and not counted) and
 * its V8 heap from its own /metrics (`wisp_process_nodejs_heap_size_*`, after the RSS reading). Then it stops
 * Wisp (SIGTERM: its replicas go with it) and removes the state dir.
 *
 * `wisp up` runs one memory-reducing GC 5 s after start-up has settled (src/platform/startup-memory.ts): with the
 * default `IDLE_MS` the reading follows it; `IDLE_MS=60000` shows that the idle figure holds.
 *
 * `WISP_BIN=<path to bin/wisp.js>` measures another checkout (e.g. main's) with the same script, side by side.
 * `RUNS=<n>` (default 1) repeats the measurement with a fresh `wisp up` each time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = join(import.meta.dirname, '../../..');
const WISP = resolve(process.env.WISP_BIN ?? join(ROOT, 'bin/wisp.js'));
const QUICKSTART = join(ROOT, 'examples/quickstart');
const IDLE_MS = Number(process.env.IDLE_MS ?? 10_000);
const RUNS = Number(process.env.RUNS ?? 1);
const READY_TIMEOUT_MS = 60_000;

interface Sample {
  rssMB: number;
  hwmMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  readyMs: number;
}

async function measure(): Promise<Sample> {
  const dir = await mkdtemp(join(tmpdir(), 'wisp-rss-'));
  const [ingress, broker, api] = [await freePort(), await freePort(), await freePort()];
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [WISP, 'up', '-f', QUICKSTART, '--state-dir', dir, '--ingress-port', String(ingress), '--broker-port', String(broker), '--api-port', String(api)],
    { cwd: dirnameOf(WISP), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  try {
    const base = `http://127.0.0.1:${api}`;
    const token = await until(async () => (await readFile(join(dir, 'token'), 'utf8').catch(() => '')).trim() || undefined, child, () => output);
    const headers = { authorization: `Bearer ${token}` };
    await until(async () => ((await allReady(base, headers)) ? true : undefined), child, () => output);
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const metrics = await (await fetch(`${base}/metrics`, { headers })).text();
    const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    return {
      rssMB: kb('VmRSS') / 1024,
      hwmMB: kb('VmHWM') / 1024,
      heapUsedMB: gauge('wisp_process_nodejs_heap_size_used_bytes') / 1048576,
      heapTotalMB: gauge('wisp_process_nodejs_heap_size_total_bytes') / 1048576,
      readyMs,
    };
  } finally {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every Service, Broker and Trigger listed by the control API has condition Ready True (and there is at least one). */
async function allReady(base: string, headers: Record<string, string>): Promise<boolean> {
  const paths = ['/apis/serving.knative.dev/v1/services', '/apis/eventing.knative.dev/v1/brokers', '/apis/eventing.knative.dev/v1/triggers'];
  for (const p of paths) {
    const res = await fetch(base + p, { headers }).catch(() => undefined);
    if (res?.status !== 200) return false;
    const body = (await res.json()) as { items?: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }> };
    const items = body.items ?? [];
    if (items.length === 0 || !items.every((o) => o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) return false;
  }
  return true;
}

async function until<T>(probe: () => Promise<T | undefined>, child: ChildProcess, output: () => string): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`wisp up exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`wisp up not Ready within ${READY_TIMEOUT_MS} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolvePort(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

function dirnameOf(bin: string): string {
  return resolve(bin, '../..');
}

const f = (n: number): string => n.toFixed(1).padStart(7);

console.log(`Idle memory of \`wisp up -f examples/quickstart\` (${WISP}), ${IDLE_MS} ms idle after Ready, Node ${process.version}, no memory flags.`);
console.log('run   VmRSS MB   VmHWM MB   heap used MB   heap total MB   ready after ms');
for (let i = 1; i <= RUNS; i++) {
  const s = await measure();
  console.log(`${String(i).padEnd(4)} ${f(s.rssMB)}    ${f(s.hwmMB)}    ${f(s.heapUsedMB)}        ${f(s.heapTotalMB)}         ${s.readyMs.toFixed(0).padStart(6)}`);
}
