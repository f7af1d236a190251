/**
 * Side-by-side CPU of two activator builds under the SAME load at the SAME time: one hello replica, the two
 * activators (this build and another build's dist/test/bench/activator.js), each driven by its own wrk
 * (-t1 -c50) concurrently, ROUNDS rounds of SECONDS s; per round each activator's user+sys CPU time per request
 * (Linux /proc) and the ratio. On a shared machine a sequential comparison mixes the change with the outside load
 * of the moment; running both at once gives both the same load, so the per-round ratio is what to read.
 *
 * Run: node dist/test/bench/activator-ab.js <other build>/dist/test/bench/activator.js [rounds=8] [seconds=2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/wait.js';

const WRK = '/usr/bin/wrk';
const HOST = 'hello.default.localhost';
const TICK_US = 10_000; // Linux USER_HZ 100

const baseline = process.argv[2];
const rounds = Number(process.argv[3] ?? 8);
const seconds = Number(process.argv[4] ?? 2);
const children = new Set<ChildProcess>();

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function waitPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** wrk against `port` for `secs`; resolves with the number of requests completed. */
function wrk(port: number, secs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, ['-t1', '-c50', `-d${secs}s`, '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', () => {
      children.delete(child);
      const m = /(\d+) requests in/.exec(out);
      if (m === null) reject(new Error(`wrk gave no request count: ${out}`));
      else resolve(Number(m[1]));
    });
  });
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? NaN;

async function main(): Promise<void> {
  if (baseline === undefined) {
    console.error('usage: node dist/test/bench/activator-ab.js <other build>/dist/test/bench/activator.js [rounds=8] [seconds=2]');
    process.exit(2);
  }
  const self = fileURLToPath(new URL('./activator.js', import.meta.url));
  try {
    const replicaPort = await freePort();
    start([self, '--replica', String(replicaPort)]);
    await waitPort(replicaPort);
    const cols = [
      { name: 'baseline', entry: baseline },
      { name: 'this build', entry: self },
    ];
    const procs: { name: string; port: number; pid: number; cpu: number[] }[] = [];
    for (const c of cols) {
      const port = await freePort();
      const p = start([c.entry, '--activator', String(port), String(replicaPort)]);
      await waitPort(port);
      procs.push({ name: c.name, port, pid: p.pid ?? -1, cpu: [] });
    }
    await Promise.all(procs.map((p) => wrk(p.port, 2))); // warm-up (JIT, connections)
    const ratios: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      const before = procs.map((p) => cpuTicks(p.pid));
      const counts = await Promise.all(procs.map((p) => wrk(p.port, seconds)));
      const us = procs.map((p, i) => ((cpuTicks(p.pid) - before[i]!) * TICK_US) / counts[i]!);
      procs.forEach((p, i) => p.cpu.push(us[i]!));
      ratios.push(us[1]! / us[0]!);
      console.log(`round ${r}: ${procs.map((p, i) => `${p.name} ${counts[i]} req ${us[i]!.toFixed(1)} us/req`).join(', ')}, ratio ${(us[1]! / us[0]!).toFixed(2)}`);
    }
    console.log(`median: ${procs.map((p) => `${p.name} ${median(p.cpu).toFixed(1)} us/req`).join(', ')}; this build / baseline ${median(ratios).toFixed(2)} (${rounds} rounds of ${seconds} s, both loaded at once)`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}

void main();
